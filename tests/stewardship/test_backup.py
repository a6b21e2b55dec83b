"""`rapport backup`, `backup verify`, `backup list` and `rapport restore` on SQLite and
PostgreSQL, with real writers, the real pg_dump/pg_restore, and the figures compared."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.common.config import Settings
from services.common.db import is_sqlite, make_engine
from services.domain import backup
from services.ingest.sink import write_batch
from tests.conftest import emptied
from tests.factories import batch, event, message
from tests.stewardship.conftest import summaries

UTC = ZoneInfo("UTC")
Rapport = Callable[..., tuple[int, str, str]]
PERIODS = ((2025, None), (2026, "2026-03-31"), (2026, "2026-11-30"))


def streamed(i: int) -> dict[str, Any]:
    """The i-th event of a steady stream: engagement, and support conversations across years."""
    day = f"{2025 + i % 2}-{1 + i % 11:02d}-{1 + i % 27:02d}"
    conversation = f"c{i // 5}"
    if i % 5 == 3:
        return message("message_received", conversation, f"{day}T09:00:00Z", event_id=f"s{i}")
    if i % 5 == 4:
        asked = i - 1  # answered on the day it was asked, some minutes later
        at = f"{2025 + asked % 2}-{1 + asked % 11:02d}-{1 + asked % 27:02d}T09:{i % 60:02d}:00Z"
        return message("message_sent", conversation, at, event_id=f"s{i}", actor=f"agent{i % 3}")
    kind = ("impression", "like", "reach")[i % 3]
    return event(event_id=f"s{i}", kind=kind, count=1 + i % 97, occurred_at=f"{day}T10:00:00Z")


def write_stream(url: str, first: int, last: int) -> None:
    """Events first .. last-1, one transaction each, as the source received them."""
    engine = make_engine(url)
    try:
        for i in range(first, last):
            write_batch(engine, [batch(streamed(i))], UTC)
    finally:
        engine.dispose()


def rows(url: str, table: str = "interaction_event") -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_backup_under_writes_restores_the_figures_of_its_instant(
    db_url: str, spare_url: Callable[[], str], rapport: Rapport, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    stop = threading.Event()
    written = [0]

    def writer() -> None:  # a steady stream of posts, one transaction per event
        while not stop.is_set():
            write_batch(engine, [batch(streamed(written[0]))], UTC)
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 150:
            stop.wait(0.01)
        out = tmp_path / "under-load.backup.tar"
        status, said, err = rapport(db_url, "backup", "--out", str(out))
        at_end = written[0]
        while written[0] < at_end + 50:  # the stream goes on after the backup too
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert status == 0, err
    assert f"Wrote {out}" in said
    assert out.stat().st_mode & 0o777 == 0o600
    manifest = backup.read_manifest(out)
    taken = manifest.rows["interaction_event"]
    assert 150 <= taken < written[0]
    assert manifest.database == ("sqlite" if is_sqlite(db_url) else "postgresql")
    assert manifest.schema_revision is not None
    # The source at the backup's instant held exactly the first `taken` events of the stream.
    reference = spare_url()
    write_stream(reference, 0, taken)
    restored = spare_url()
    status, said, err = rapport(restored, "restore", str(out))
    assert status == 0, err
    assert "every table holds the rows the manifest lists" in said
    assert rows(restored) == taken
    assert summaries(rapport, restored, *PERIODS) == summaries(rapport, reference, *PERIODS)
    assert summaries(rapport, restored, *PERIODS) != summaries(rapport, db_url, *PERIODS)


def test_corrupted_backup_fails_verify_and_restore(
    db_url: str, spare_url: Callable[[], str], rapport: Rapport, tmp_path: Path
) -> None:
    write_stream(db_url, 0, 200)
    out = tmp_path / "b.backup.tar"
    assert rapport(db_url, "backup", "--out", str(out))[0] == 0
    status, said, _err = rapport(db_url, "backup", "verify", str(out))
    assert status == 0
    assert "intact" in said
    with tarfile.open(out) as archive:
        dump = archive.getmember(backup.DUMPS[backup.read_manifest(out).database])
    data = bytearray(out.read_bytes())
    data[dump.offset_data + dump.size // 2] ^= 0xFF  # one flipped bit-pattern inside the dump
    damaged = tmp_path / "damaged.backup.tar"
    damaged.write_bytes(bytes(data))
    status, _out, err = rapport(db_url, "backup", "verify", str(damaged))
    assert status == 1
    assert "is damaged: the dump's sha256" in err
    truncated = tmp_path / "truncated.backup.tar"
    truncated.write_bytes(bytes(data[: dump.offset_data + 100]))
    status, _out, err = rapport(db_url, "backup", "verify", str(truncated))
    assert status == 1
    assert "damaged" in err
    target = spare_url()
    status, _out, err = rapport(target, "restore", str(damaged))
    assert status == 1
    assert "Do not restore from it" in err
    assert rows(target) == 0


def fingerprint(url: str) -> object:
    """What a database holds: the SQLite file's bytes, or every table's rows."""
    if is_sqlite(url):
        path = Path(backup.sqlite_path(url))
        return hashlib.sha256(path.read_bytes()).hexdigest()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}"))), key=repr)
                for t in backup.table_names()
            }
    finally:
        engine.dispose()


def test_restore_into_a_database_with_data_needs_replace(
    db_url: str, spare_url: Callable[[], str], rapport: Rapport, tmp_path: Path
) -> None:
    write_stream(db_url, 0, 40)
    out = tmp_path / "b.backup.tar"
    assert rapport(db_url, "backup", "--out", str(out))[0] == 0
    target = spare_url()
    write_stream(target, 1000, 1010)
    before = fingerprint(target)
    status, _out, err = rapport(target, "restore", str(out))
    assert status == 2
    assert "is not empty (interaction_event (10)" in err
    assert "nothing was changed" in err
    assert "--replace" in err
    assert fingerprint(target) == before
    status, _out, err = rapport(target, "restore", str(out), "--replace")
    assert status == 0, err
    assert rows(target) == 40
    assert summaries(rapport, target, *PERIODS) == summaries(rapport, db_url, *PERIODS)


def test_backup_list_and_the_kind_of_database(
    db_url: str, rapport: Rapport, tmp_path: Path
) -> None:
    status, said, _err = rapport(db_url, "backup", "list")
    assert status == 0
    assert "No backups in" in said
    write_stream(db_url, 0, 7)
    assert rapport(db_url, "backup")[0] == 0
    status, said, _err = rapport(db_url, "backup", "list")
    kind = "sqlite" if is_sqlite(db_url) else "postgresql"
    assert f"{kind}" in said
    assert "7 events" in said
    (listed,) = (tmp_path / "backups").glob("rapport-*.backup.tar")
    other = "postgresql://postgres@127.0.0.1:5432/x" if kind == "sqlite" else "sqlite:///x.db"
    status, _out, err = rapport(other, "restore", str(listed))
    assert status == 2
    assert f"is a {kind} backup" in err
    status = json.loads((tmp_path / "backups" / backup.STATUS).read_text())["succeeded"]
    assert status is True


def test_missing_pg_dump_exits_2_naming_it(
    postgresql_url: str, rapport: Rapport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump here
    status, _out, err = rapport(postgresql_url, "backup", "--out", str(tmp_path / "x.tar"))
    assert status == 2
    assert "pg_dump not found on PATH" in err
    assert "PG_DUMP" in err
    monkeypatch.setenv("PG_DUMP", str(tmp_path / "pg_dump"))
    status, _out, err = rapport(postgresql_url, "backup", "--out", str(tmp_path / "x.tar"))
    assert status == 2
    assert f"pg_dump not found at {tmp_path / 'pg_dump'} (PG_DUMP)" in err
    assert not (tmp_path / "x.tar").exists()
    last = json.loads((tmp_path / backup.STATUS).read_text())
    assert last["succeeded"] is False


def test_missing_pg_restore_exits_2_naming_it_and_changes_nothing(
    postgresql_url: str, rapport: Rapport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = emptied(postgresql_url)
    write_stream(url, 0, 5)
    out = tmp_path / "b.backup.tar"
    assert rapport(url, "backup", "--out", str(out))[0] == 0
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_restore here
    status, _out, err = rapport(url, "restore", str(out), "--replace")
    assert status == 2
    assert "pg_restore not found on PATH" in err
    assert rows(url) == 5  # nothing was dropped


def test_a_missing_sqlite_database_is_not_backed_up(rapport: Rapport, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    status, _out, err = rapport(f"sqlite:///{missing}", "backup", "--out", str(tmp_path / "b.tar"))
    assert status == 2
    assert f"there is no SQLite database at {missing}" in err
    assert not missing.exists()


def test_prune_keeps_the_newest(db_url: str, rapport: Rapport, tmp_path: Path) -> None:
    directory = tmp_path / "kept"
    for n in range(4):
        name = f"rapport-2026010{n + 1}T000000Z{backup.SUFFIX}"
        assert rapport(db_url, "backup", "--out", str(directory / name))[0] == 0
    gone = backup.prune(directory, keep=2)
    assert [p.name[:17] for p in gone] == ["rapport-20260101T", "rapport-20260102T"]
    assert len(backup.backups(directory)) == 2


def aged(path: Path, *, days: int) -> None:
    """The backup at `path` as if taken `days` ago."""
    with tarfile.open(path) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    manifest = backup.Manifest.parse(members.pop(backup.MANIFEST))
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    members = {
        backup.MANIFEST: replace(manifest, created_at=then.isoformat(timespec="seconds")).as_json(),
        **members,
    }
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_daily_backup_when_due_keeping_the_newest(
    db_url: str, rapport: Rapport, tmp_path: Path
) -> None:
    directory = tmp_path / "daily"
    settings = Settings(
        database_url=db_url,
        rapport_backup_dir=str(directory),
        rapport_backup_keep=2,
        _env_file=None,  # type: ignore[call-arg]
    )
    old = [directory / f"rapport-2026010{n}T000000Z{backup.SUFFIX}" for n in (1, 2)]
    for path in old:
        assert rapport(db_url, "backup", "--out", str(path))[0] == 0
    taken: list[Path] = []

    def run(out: Path) -> int:
        taken.append(out)
        return rapport(db_url, "backup", "--out", str(out))[0]

    a_day_later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, seconds=1)
    assert not backup.due(directory)  # the two just taken are recent
    assert backup.due(directory, now=a_day_later)
    assert backup.daily_once(settings, run) is None
    for path in old:
        aged(path, days=2)
    written = backup.daily_once(settings, run)
    assert written is not None
    assert taken == [written]
    assert [p.name for p, _m in backup.backups(directory)] == [old[1].name, written.name]
