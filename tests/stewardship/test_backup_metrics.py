"""The backups' metrics (`rapport up` serves them): the newest backup's age and the last run's
outcome, read from RAPPORT_BACKUP_DIR; checked by promtool."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.domain import backup

Rapport = Callable[..., tuple[int, str, str]]


def scrape(directory: Path) -> tuple[bytes, dict[str, float]]:
    registry = CollectorRegistry()
    registry.register(backup.BackupCollector(directory))
    page = generate_latest(registry)
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(page.decode())
        for sample in family.samples
    }
    return page, values


def test_newest_age_and_last_outcome(db_url: str, rapport: Rapport, tmp_path: Path) -> None:
    directory = tmp_path / "backups"
    _page, values = scrape(directory)
    assert values == {"rapport_backup_newest_age_seconds": float("inf")}
    assert rapport(db_url, "backup")[0] == 0
    page, values = scrape(directory)
    assert 0 <= values["rapport_backup_newest_age_seconds"] < 60
    assert values["rapport_backup_last_run_succeeded"] == 1
    succeeded_at = values["rapport_backup_last_run_timestamp_seconds"]
    if shutil.which("promtool"):
        checked = subprocess.run(
            ["promtool", "check", "metrics"], input=page, capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    (directory / "in-the-way").mkdir()  # a directory where the backup's file should go
    status, _out, err = rapport(db_url, "backup", "--out", str(directory / "in-the-way"))
    assert status == 1
    assert "the backup failed" in err
    _page, values = scrape(directory)
    assert values["rapport_backup_last_run_succeeded"] == 0
    assert values["rapport_backup_last_run_timestamp_seconds"] >= succeeded_at
    assert values["rapport_backup_newest_age_seconds"] < 60  # the earlier one still counts
