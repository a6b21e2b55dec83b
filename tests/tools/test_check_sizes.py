"""The module-size check of `make lint`: clean on the project, and it sees a long module."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "tools"))

import check_sizes


def test_no_module_of_the_project_is_over_the_limit() -> None:
    assert check_sizes.too_long() == []


def test_a_long_module_is_named_with_its_length(tmp_path: Path) -> None:
    (tmp_path / "services" / "ingest").mkdir(parents=True)
    (tmp_path / "tools").mkdir()
    (tmp_path / "services" / "ingest" / "long.py").write_text("x = 1\n" * 451)
    (tmp_path / "services" / "ingest" / "fine.py").write_text("x = 1\n" * 450)
    assert check_sizes.too_long(tmp_path) == [("services/ingest/long.py", 451)]
