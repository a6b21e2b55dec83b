"""`rapport people export|forget`: a person's data wherever Rapport keeps it, the database
(services/domain/people.py) and the ingest journal's segments (services/ingest/journal.py)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from rapport.ingest.v1 import ingest_pb2

from services.common.config import Settings, get_settings
from services.domain.people import Person, export, forget, scrub_sqlite_file
from services.ingest.journal import Entry, read_entries, rewrite_segments

EMBEDDED_JOURNAL = Path("var/journal")  # where `rapport up` keeps it with the embedded broker


def journal_dir(settings: Settings) -> Path | None:
    directory = Path(settings.ingest_journal_dir) if settings.ingest_journal_dir else None
    directory = directory or EMBEDDED_JOURNAL
    return directory if directory.is_dir() else None


def journal_change(person: Person) -> Callable[[Entry], bytes | None]:
    """A journal record with the identifier replaced, or None when it holds none: events
    (protobuf: actor, url, attributes) or dead letters (JSON, with the bytes as sent)."""

    def erased(value: Any) -> Any:
        if isinstance(value, str):
            return person.erase(value)
        if isinstance(value, dict):
            return {erased(k): erased(v) for k, v in value.items()}
        if isinstance(value, list):
            return [erased(v) for v in value]
        return value

    def change(entry: Entry) -> bytes | None:
        if entry.value[:1] == b"{":  # a dead letter
            letter = orjson.loads(entry.value)
            if "raw_b64" in letter:
                raw = base64.b64decode(letter["raw_b64"]).decode(errors="surrogateescape")
                if person.holds(raw):
                    new = person.erase(raw).encode(errors="surrogateescape")
                    letter["raw_b64"] = base64.b64encode(new).decode()
            out = orjson.dumps(erased(letter))
            return out if out != entry.value else None
        if person.identifier.encode() not in entry.value.lower():
            return None
        try:
            batch = ingest_pb2.InteractionBatch.FromString(entry.value)
        except DecodeError:
            return None
        for event in batch.events:
            event.actor, event.url = person.erase(event.actor), person.erase(event.url)
            attributes = {person.erase(k): person.erase(v) for k, v in event.attributes.items()}
            event.attributes.clear()
            event.attributes.update(attributes)
        out = batch.SerializeToString()
        return out if out != entry.value else None

    return change


def cmd_people(args: argparse.Namespace) -> int:
    from services.common.db import get_engine, is_sqlite
    from services.domain.migrate import migrate

    settings = get_settings()
    try:
        person = Person.of(args.person)
    except ValueError as exc:
        print(f"rapport people: {exc}", file=sys.stderr)
        return 2
    migrate()
    engine = get_engine()
    directory = journal_dir(settings)
    if args.people_action == "export":
        found: dict[str, Any] = export(engine, person)
        if directory is not None:
            change = journal_change(person)
            found["journal_records"] = sum(
                change(entry) is not None
                for path in sorted(directory.glob("*.journal"))
                for entry in read_entries(path)
            )
        print(json.dumps(found, indent=2, default=str, ensure_ascii=False))
        return 0
    if not args.yes:
        print(
            "rapport people forget: this replaces the identifier wherever Rapport keeps it, for "
            "good; nothing was changed. Export first (`rapport people export`), then run again "
            "with --yes.",
            file=sys.stderr,
        )
        return 2
    journal, busy = rewrite_segments(directory, journal_change(person)) if directory else (0, 0)
    by = args.by or os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"
    receipt = forget(engine, person, by=by, extra={"journal_records": journal})
    scrubbed = "clean"
    if is_sqlite(settings.database_url):
        from services.domain.backup import sqlite_path

        scrubbed = scrub_sqlite_file(Path(sqlite_path(settings.database_url)), person)
    print(json.dumps(receipt.as_dict(), indent=2))
    if scrubbed == "busy":
        print(
            "The database no longer holds it, but a reader kept the SQLite WAL from being "
            "truncated, so its old pages may: run `rapport people forget` again shortly.",
            file=sys.stderr,
        )
        return 1
    if busy:
        print(
            "The ingest journal's newest segment, still being written, holds it too: run "
            "`rapport people forget` again in a few seconds.",
            file=sys.stderr,
        )
        return 1
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("people", help="a person's data: export it, or forget them (GDPR, KVKK)")
    actions = p.add_subparsers(dest="people_action", required=True, metavar="ACTION")
    exported = actions.add_parser("export", help="JSON of every record holding the identifier")
    exported.add_argument("--person", required=True, help="a handle, an address, a name")
    exported.set_defaults(func=cmd_people)
    forgotten = actions.add_parser(
        "forget", help="replace the identifier everywhere; prints and stores a receipt"
    )
    forgotten.add_argument("--person", required=True, help="a handle, an address, a name")
    forgotten.add_argument("--yes", action="store_true", help="yes, forget them for good")
    forgotten.add_argument("--by", help="who erased it, for the receipt (default: your login)")
    forgotten.set_defaults(func=cmd_people)
