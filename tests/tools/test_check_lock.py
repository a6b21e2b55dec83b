"""The lock check of `make lint`: clean on the project; it sees pyproject.toml and a lock
disagree, a dropped dependency, a pin without hashes, and an image lock that drifted."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "tools"))

import check_lock

ROOT = Path(__file__).parents[2]


def copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_locks_agree_with_pyproject() -> None:
    assert check_lock.problems() == []


def test_a_version_bumped_in_pyproject_only_is_caught(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit(root / "pyproject.toml", '"fastapi==0.165.0"', '"fastapi==0.166.0"')
    found = check_lock.problems(root)
    assert "requirements/ingest.lock: fastapi is 0.165.0, pyproject.toml asks for 0.166.0" in found
    assert any(p.startswith("requirements/dev.lock: fastapi is") for p in found)


def test_a_new_or_dropped_dependency_is_caught(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit(root / "pyproject.toml", '    "orjson==3.13.0",\n', '    "left-pad==1.0.0",\n')
    found = check_lock.problems(root)
    assert "requirements/ingest.lock: left-pad==1.0.0 is not locked" in found
    assert "requirements/ingest.lock: orjson is locked but pyproject.toml dropped it" in found


def test_a_pin_without_hashes_and_a_drifted_image_lock_are_caught(tmp_path: Path) -> None:
    root = copy(tmp_path)
    lock = root / "requirements" / "reports.lock"
    text = lock.read_text()
    start = text.index("\nplotly==")
    end = text.index("\n", text.index("# via", start))
    lock.write_text(
        text[:start] + "\nplotly==7.1.0\n    # via rapport (pyproject.toml)" + text[end:]
    )
    edit(root / "requirements" / "moments.lock", "\ngspread==6.2.1", "\ngspread==6.2.0")
    found = check_lock.problems(root)
    assert "requirements/reports.lock: plotly has no hash" in found
    assert "requirements/moments.lock: gspread 6.2.0 differs from dev.lock's 6.2.1" in found
