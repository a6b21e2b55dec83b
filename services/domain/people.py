"""A person's data (GDPR articles 15 and 17, KVKK): every stored record that holds their
identifier, exported, or erased by replacing it with `erased-` + 10 hex digits of its sha256,
so every figure stays exactly as it was (no count, time or key a figure reads changes).

Matching is whole identifiers only: case-insensitive, a leading `@` ignored, also as a URL path
segment, never inside a longer handle (`@jane_doe_fan` is someone else).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import write_session
from services.common.i18n import N_, Problem
from services.domain.tables import (
    DeadLetter,
    InteractionEvent,
    Moment,
    MomentAudit,
    PersonErasure,
    SheetOutbox,
    SupportConversation,
)

# Where an identifier can be: each table, its key, and the text columns that may hold it.
PLACES: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...]]] = {
    "interaction_event": (
        InteractionEvent.__table__,  # type: ignore[attr-defined]
        ("event_id",),
        ("actor", "url", "attributes"),
    ),
    "support_conversation": (
        SupportConversation.__table__,  # type: ignore[attr-defined]
        ("network", "conversation_id"),
        ("url", "agent"),
    ),
    "moment": (
        Moment.__table__,  # type: ignore[attr-defined]
        ("id",),
        ("people", "link", "change", "notes"),
    ),
    "moment_audit": (MomentAudit.__table__, ("id",), ("changes",)),  # type: ignore[attr-defined]
    "dead_letter": (DeadLetter.__table__, ("letter_id",), ("error",)),  # type: ignore[attr-defined]
}
MIN_LENGTH = 3  # shorter identifiers would match far too much to be anyone's
BLANKS = " \t\n\r\f\v"  # what cannot be inside an identifier (the REST schema says the same)
BEFORE = r"(?<![\w@.-])(?<!\w\.)"
AFTER = r"(?![\w@-])(?!\.\w)"


@dataclass(frozen=True)
class Person:
    """An identifier as matched: lower-cased, without its leading `@`."""

    identifier: str

    @classmethod
    def of(cls, raw: str) -> Person:
        identifier = raw.strip(BLANKS).removeprefix("@").lower()
        if len(identifier) < MIN_LENGTH or any(c in BLANKS + "\x00" for c in identifier):
            raise Problem(
                N_(
                    "give the person's identifier as Rapport stores it (a handle, an address: "
                    "at least {minimum} characters, no spaces)"
                ),
                minimum=MIN_LENGTH,
            )
        return cls(identifier)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.identifier.encode()).hexdigest()

    @property
    def token(self) -> str:
        return f"erased-{self.sha256[:10]}"

    @property
    def pattern(self) -> re.Pattern[str]:
        # Not after a handle's character (nor after a word and a dot: jane.doe holds no "doe"),
        # not before one (a dot ends a sentence unless a handle goes on after it).
        return re.compile(BEFORE + "@?" + re.escape(self.identifier) + AFTER, re.IGNORECASE)

    @property
    def byte_pattern(self) -> re.Pattern[bytes]:
        """The same, over a file's bytes (what a look-alike keeps does not count)."""
        text = BEFORE + "@?" + re.escape(self.identifier) + AFTER
        return re.compile(text.encode(), re.IGNORECASE)

    def holds(self, value: object) -> bool:
        return isinstance(value, str) and self.pattern.search(value) is not None

    def erase(self, value: str) -> str:
        return self.pattern.sub(self.token, value)


def _candidates(conn: Connection, name: str, person: Person) -> Iterator[dict[str, Any]]:
    """Rows of a table whose text columns hold the identifier (the database narrows them with a
    substring search, the pattern decides)."""
    table, _key, columns = PLACES[name]
    near = or_(*(table.c[c].ilike(f"%{_like(person.identifier)}%", escape="\\") for c in columns))
    for row in conn.execute(select(table).where(near)).mappings():
        if any(person.holds(row[c]) for c in columns):
            yield dict(row)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export(engine: Engine, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Every record that holds the identifier, table by table; `sheet_rows`: the moments whose
    row in the Google Sheet holds it (the sheet mirrors each moment)."""
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in PLACES:
            found[name] = list(_candidates(conn, name, person))
    found["sheet_rows"] = [
        {"moment_id": row["id"], "link": row["link"], "people": row["people"]}
        for row in found["moment"]
    ]
    return found


@dataclass(frozen=True)
class Receipt:
    """What an erasure changed: when, by whom, rows per place, and the identifier's sha256."""

    erased_at: dt.datetime
    erased_by: str
    person_sha256: str
    token: str
    rows: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "erased_at": self.erased_at.isoformat(timespec="seconds") + "Z",
            "erased_by": self.erased_by,
            "person_sha256": self.person_sha256,
            "replaced_by": self.token,
            "rows_changed": self.rows,
        }


def forget(
    engine: Engine, person: Person, *, by: str, extra: dict[str, int] | None = None
) -> Receipt:
    """Replace the identifier wherever the database holds it, in one transaction (the rows are
    found first, outside it, so writers wait only for the updates); moments changed go to the
    sheet again through the outbox; the receipt is stored. `extra`: counts of places outside
    the database (the journal), for the receipt."""
    with engine.connect() as conn:
        found = {
            name: [_key(name, row) for row in _candidates(conn, name, person)] for name in PLACES
        }
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows: dict[str, int] = {}
    with write_session(engine) as session:
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            # Freed cells are zeroed: the old text leaves the file, not only the table.
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        for name, keys in found.items():
            rows[name] = _erase_rows(conn, name, keys, person)
        changed_moments = [key[0] for key in found["moment"]]
        for moment_id in changed_moments:
            _resend(session, moment_id, now)
        rows["sheet_rows"] = len(changed_moments)
        rows.update(extra or {})
        receipt = Receipt(now, by, person.sha256, person.token, rows)
        session.add(
            PersonErasure(
                erased_at=now, erased_by=by, person_sha256=person.sha256, rows=json.dumps(rows)
            )
        )
        session.commit()
    return receipt


def _key(name: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in PLACES[name][1])


def _erase_rows(conn: Connection, name: str, keys: list[tuple[Any, ...]], person: Person) -> int:
    table, key_columns, columns = PLACES[name]
    changed = 0
    for key in keys:
        where = and_(*(table.c[k] == v for k, v in zip(key_columns, key, strict=True)))
        row = conn.execute(select(*(table.c[c] for c in columns)).where(where)).first()
        if row is None:
            continue
        values: dict[str, Any] = {
            c: person.erase(v) for c, v in zip(columns, row, strict=True) if person.holds(v)
        }
        if values:
            if name == "moment":
                values["version"] = table.c.version + 1  # its sheet row is rewritten
            conn.execute(update(table).where(where).values(**values))
            changed += 1
    return changed


def _resend(session: Session, moment_id: str, now: dt.datetime) -> None:
    """The moment's sheet row is written again (its new version), as any edit's is."""
    moment = session.get(Moment, moment_id)
    if moment is None:
        return
    session.refresh(moment)
    outbox = session.get(SheetOutbox, moment_id)
    if outbox is None:
        outbox = SheetOutbox(
            moment_id=moment_id, version=moment.version, enqueued_at=now, next_attempt_at=now
        )
    outbox.version, outbox.attempts, outbox.next_attempt_at = moment.version, 0, now
    outbox.last_error = None
    session.add(outbox)


def scrub_sqlite_file(path: Path, person: Person, *, wait_s: float = 10.0) -> str:
    """After an erasure on SQLite: the WAL checkpointed and truncated, then the file searched
    for the identifier's bytes in any case; when some remain (free space an earlier edit left
    before secure_delete was on), VACUUM rewrites the file. "clean", "vacuumed", or "busy": a
    reader held the WAL throughout, so it may still hold the bytes (run the erasure again)."""
    conn = sqlite3.connect(path, timeout=wait_s)  # each checkpoint waits this long for readers
    try:
        conn.execute("PRAGMA secure_delete=ON")
        if not _checkpoint(conn):
            return "busy"
        if not file_holds(path, person):
            return "clean"
        conn.execute("VACUUM")
        return "vacuumed" if _checkpoint(conn) else "busy"
    finally:
        conn.close()


def _checkpoint(conn: sqlite3.Connection) -> bool:
    """The WAL copied into the file and truncated to nothing; False when readers kept it."""
    for _attempt in range(5):  # each waits up to the busy timeout for the readers to finish
        if not conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
            return True
    return False


def file_holds(path: Path, person: Person, chunk: int = 1 << 24) -> bool:
    """Whether the file's bytes hold the identifier, whole, in any case. Each chunk is searched
    lower-cased with bytes.find (memchr-fast) and only the places found are matched against the
    pattern; chunks overlap by a little more than the identifier."""
    pattern = person.byte_pattern
    needle = person.identifier.encode()
    overlap = len(needle) + 8
    tail = b""
    with path.open("rb") as f:
        while block := f.read(chunk):
            window = tail + block
            lowered = window.lower()
            at = lowered.find(needle)
            while at != -1:
                if pattern.search(window, max(0, at - 2), at + len(needle) + 2):
                    return True
                at = lowered.find(needle, at + 1)
            tail = block[-overlap:]
    return False
