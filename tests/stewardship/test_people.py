"""`rapport people export` and `rapport people forget`: every place that holds a person's
identifier, whole identifiers only, every figure unchanged, no byte left in the SQLite file and
its WAL, the Google Sheet row rewritten, the journal's segments too, a receipt without it."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.common.db import is_sqlite, write_session
from services.domain import accounts
from services.domain.auth import Role, create_token
from services.domain.backup import sqlite_path
from services.domain.people import Person, export, file_holds, forget, scrub_sqlite_file
from services.domain.tables import DeadLetter
from services.ingest.journal import Entry, encode, read_entries
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.app import create_app
from services.moments.models import MomentCreate, MomentUpdate
from services.moments.sheets import SheetSyncer
from tests.factories import batch, event, message
from tests.factories_moments import moment
from tests.moments.conftest import PASSWORD, csrf_of, login
from tests.stewardship.conftest import summaries
from tests.support.sheets_server import SheetsServer

UTC = ZoneInfo("UTC")
Rapport = Callable[..., tuple[int, str, str]]
PERIODS = ((2025, None), (2026, "2026-03-31"), (2026, None))
LOOK_ALIKES = ("@jane_doe_fan", "jane.doe_x", "mary.jane_doe", "superjane_doe")


def seed(engine: Engine) -> str:
    """Jane in events, a conversation, a moment edited once, a dead letter; look-alikes too."""
    events = [
        message(
            "message_received",
            "c-jane",
            "2026-02-03T09:00:00Z",
            actor="@Jane_Doe",
            url="https://x.com/jane_doe/status/77",
            attributes={"mention": "hi @jane_doe!", "lang": "en"},
        ),
        message("message_sent", "c-jane", "2026-02-03T09:20:00Z", actor="ana"),
        event(kind="mention", actor="jane_doe", occurred_at="2025-05-05T10:00:00Z", count=3),
        *(
            message("message_received", f"c-{n}", "2026-02-04T09:00:00Z", actor=other)
            for n, other in enumerate(LOOK_ALIKES)
        ),
        *(event(kind="like", actor=other, count=2) for other in LOOK_ALIKES),
    ]
    write_batch(engine, [batch(*events)], UTC)
    with Session(engine) as session:
        created = service.create(
            session,
            data=MomentCreate.model_validate(
                moment(
                    link="https://x.com/jane_doe/status/77",
                    people=["@jane_doe", "@jane_doe_fan"],
                    change="Jane_Doe renewed after we fixed her export.",
                    occurred_on="2026-02-03",
                )
            ),
            actor="maria",
        )
        service.update(
            session,
            moment=created,
            data=MomentUpdate(change="@jane_doe renewed; @jane_doe_fan cheered."),
            actor="maria",
        )
        moment_id = created.id
    with write_session(engine) as session:
        session.add(
            DeadLetter(
                letter_id="x" * 64,
                kafka_partition=0,
                kafka_offset=1,
                source="rest",
                reason="count",
                error="count: must be >= 0 (actor @jane_doe)",
                rejected_at=dt.datetime(2026, 2, 3, 9),
            )
        )
        session.commit()
    return moment_id


def journal_with(directory: Path, actor: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    interaction = ingest_pb2.Interaction(event_id="j1", network="twitter", kind="like", actor=actor)
    value = ingest_pb2.InteractionBatch(events=[interaction], ingested_at_us=1).SerializeToString()
    path = directory / "000000000001.cluster.journal"
    path.write_bytes(encode(Entry("rapport.interactions.v1", 0, 5, 1, value)))
    an_hour_ago = time.time() - 3600  # a segment ingest no longer writes to
    os.utime(path, (an_hour_ago, an_hour_ago))
    return path


def test_whole_identifiers_only() -> None:
    jane = Person.of(" @Jane_Doe ")
    assert jane.identifier == "jane_doe"
    for held in ("@jane_doe", "JANE_DOE", "https://x.com/jane_doe/status/1", "hi @jane_doe!",
                 "jane_doe.", "(jane_doe)", '["@jane_doe"]'):  # fmt: skip
        assert jane.holds(held), held
    for other in (*LOOK_ALIKES, "jane_doe@example.com", "x.com/jane_doe2", "jane_does"):
        assert not jane.holds(other), other
    assert jane.erase("a @jane_doe b") == f"a {jane.token} b"
    with pytest.raises(ValueError, match="at least 3 characters"):
        Person.of("@j")


@pytest.mark.parametrize(
    ("content", "held"),
    [
        pytest.param(b'\x00\x03["@Jane_Doe"]\x00', True, id="handle in a record"),
        pytest.param(b"\x17https://x.com/JANE_DOE/status/1", True, id="url path segment"),
        pytest.param(b" " * 40 + b"@jane_doe", True, id="at the very end"),
        pytest.param(b" " * 3188 + b"@jane_doe ", True, id="across two chunks"),
        pytest.param(b'["@jane_doe_fan"] superjane_doe mary.jane_doe', False, id="look-alikes"),
        pytest.param(b"jane_doe@example.com", False, id="an address"),
    ],
)
def test_the_file_search_finds_whole_identifiers_in_any_case(
    content: bytes, held: bool, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"\x00" * 5000 + content)
    assert file_holds(path, Person.of("jane_doe"), chunk=4096) is held


def test_export_then_forget_everywhere_with_figures_unchanged(
    db_url: str,
    engine: Engine,
    rapport: Rapport,
    sheet_settings: Settings,
    sheets_server: SheetsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moment_id = seed(engine)
    syncer = SheetSyncer(engine, sheet_settings)
    syncer.sync_once()
    assert "@jane_doe" in json.dumps(sheets_server.sheet.rows)
    journal = journal_with(tmp_path / "journal", actor="@jane_doe")
    monkeypatch.setenv("INGEST_JOURNAL_DIR", str(journal.parent))
    before = summaries(rapport, db_url, *PERIODS)

    status, out, err = rapport(db_url, "people", "export", "--person", "@JANE_DOE")
    assert status == 0, err
    held = json.loads(out)
    assert {k: len(v) for k, v in held.items() if isinstance(v, list)} == {
        "interaction_event": 2,
        "support_conversation": 1,
        "moment": 1,
        "moment_audit": 1,
        "dead_letter": 1,
        "sheet_rows": 1,
    }
    assert held["journal_records"] == 1
    assert all(other not in out for other in ('jane_doe_fan"', "superjane"))

    status, _out, err = rapport(db_url, "people", "forget", "--person", "@jane_doe")
    assert status == 2
    assert "--yes" in err
    assert rapport(db_url, "people", "export", "--person", "jane_doe")[1] == out  # unchanged

    status, out, err = rapport(
        db_url, "people", "forget", "--person", "jane_doe", "--yes", "--by", "dpo"
    )
    assert status == 0, err
    receipt = json.loads(out)
    jane = Person.of("jane_doe")
    assert receipt["person_sha256"] == jane.sha256
    assert receipt["replaced_by"] == jane.token
    assert receipt["erased_by"] == "dpo"
    assert receipt["rows_changed"] == {
        "interaction_event": 2,
        "support_conversation": 1,
        "moment": 1,
        "moment_audit": 1,
        "dead_letter": 1,
        "sheet_rows": 1,
        "journal_records": 1,
    }
    assert "jane" not in out.lower()
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT person_sha256, rows, erased_by FROM person_erasure")
        ).one()
    assert stored[0] == jane.sha256 and "jane" not in str(stored).lower()

    # Nothing holds it any more; the look-alikes are untouched; every figure is as it was.
    status, out, _err = rapport(db_url, "people", "export", "--person", "jane_doe")
    left = json.loads(out)
    assert all(v == [] for v in left.values() if isinstance(v, list)), left
    assert left["journal_records"] == 0
    with engine.connect() as conn:
        actors = set(conn.execute(text("SELECT actor FROM interaction_event")).scalars())
        people = conn.execute(text("SELECT people FROM moment")).scalar_one()
    assert set(LOOK_ALIKES) <= actors
    assert jane.token in actors
    assert json.loads(people) == [jane.token, "@jane_doe_fan"]
    assert summaries(rapport, db_url, *PERIODS) == before
    # The sheet row is written again through the outbox.
    syncer.sync_once()
    (row,) = [r for r in sheets_server.sheet.rows if r and r[0] == moment_id]
    assert jane.token in json.dumps(row)
    assert not jane.holds(json.dumps(sheets_server.sheet.rows))
    # The journal segment holds it no more; its record is still whole.
    (entry,) = read_entries(journal)
    assert not jane.byte_pattern.search(journal.read_bytes())
    (rewritten,) = ingest_pb2.InteractionBatch.FromString(entry.value).events
    assert rewritten.actor == jane.token
    if is_sqlite(db_url):  # no byte of it in the file or its WAL
        database = Path(sqlite_path(db_url))
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert not jane.byte_pattern.search(path.read_bytes()), path
        assert b"jane_doe_fan" in database.read_bytes()  # what a look-alike keeps stays


def test_admin_rest_exports_and_forgets_once_confirmed(
    engine: Engine, moments_settings: Settings
) -> None:
    seed(engine)
    with Session(engine) as session:
        admin = {"Authorization": f"Bearer {create_token(session, name='dpo', role=Role.admin)}"}
        manager = {"Authorization": f"Bearer {create_token(session, name='m', role=Role.manager)}"}
    app = create_app(moments_settings, engine=engine, sync_sheets=False)
    with TestClient(app) as client:
        url = "/api/v1/people/export?person=%40Jane_Doe"
        assert client.get(url, headers=manager).status_code == 403
        held = client.get(url, headers=admin).json()
        assert len(held["interaction_event"]) == 2 and len(held["moment"]) == 1
        refused = client.post("/api/v1/people/forget", json={"person": "jane_doe"}, headers=admin)
        assert refused.status_code == 422  # no confirm: nothing changed
        assert len(client.get(url, headers=admin).json()["moment"]) == 1
        done = client.post(
            "/api/v1/people/forget", json={"person": "@jane_doe", "confirm": True}, headers=admin
        )
        assert done.status_code == 200, done.text
        receipt = done.json()
        assert receipt["erased_by"] == "token:dpo"
        assert receipt["rows_changed"]["interaction_event"] == 2
        assert "jane" not in done.text.lower()
        left = client.get(url, headers=admin).json()
    assert all(rows == [] for rows in left.values())


def test_admin_page_asks_for_the_identifier_again_before_it_forgets(
    engine: Engine, moments_settings: Settings
) -> None:
    seed(engine)
    with Session(engine) as session:
        accounts.create(session, username="root", password=PASSWORD, role=Role.admin)
        accounts.create(session, username="maria", password=PASSWORD, role=Role.manager)
    app = create_app(moments_settings, engine=engine, sync_sheets=False)
    jane = Person.of("jane_doe")
    with TestClient(app) as client:
        login(client, "maria")
        assert client.get("/people").status_code == 403
    with TestClient(app) as client:
        login(client, "root")
        held = client.get("/people", params={"person": "@Jane_Doe"})
        assert "<td>interaction_event</td><td>2</td>" in held.text
        assert "<td>moment</td><td>1</td>" in held.text
        csrf = csrf_of(client, "/people")
        form = {"csrf_token": csrf, "person": "@Jane_Doe"}
        wrong = client.post("/people/forget", data={**form, "confirm": "jane_do"})
        assert "Type the identifier again to confirm; nothing was changed." in wrong.text
        assert len(export(engine, jane)["moment"]) == 1
        done = client.post("/people/forget", data={**form, "confirm": "JANE_DOE"})
        assert f"Forgotten. Replaced by <code>{jane.token}</code>" in done.text
        assert "<td>interaction_event</td><td>2</td>" in done.text
        assert "jane" not in done.text.lower()
    assert all(rows == [] for rows in export(engine, jane).values())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_reader_holding_the_wal_is_said_not_hidden(db_url: str, engine: Engine) -> None:
    seed(engine)
    reader = sqlite3.connect(sqlite_path(db_url))
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM moment").fetchone()  # a snapshot in the WAL
        forget(engine, Person.of("jane_doe"), by="dpo")
        assert (
            scrub_sqlite_file(Path(sqlite_path(db_url)), Person.of("jane_doe"), wait_s=0.1)
            == "busy"
        )
    finally:
        reader.close()
    assert scrub_sqlite_file(Path(sqlite_path(db_url)), Person.of("jane_doe")) in (
        "clean",
        "vacuumed",
    )
