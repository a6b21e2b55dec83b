"""Streaming CSV reading shared by every importer: encodings, headers, numbers, row errors."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Required, TypedDict
from zoneinfo import ZoneInfo

from services.ingest.events import EventFields

# Platform exports carry long post texts; a field beyond this is refused as a row error.
MAX_FIELD_CHARS = 1_000_000
csv.field_size_limit(MAX_FIELD_CHARS)


class RowProblem(Exception):
    """A cell the importer cannot read; reported with its row and column, the row is skipped."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class FileProblem(Exception):
    """The file as a whole cannot be imported (wrong source, encoding, missing columns)."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line of the record in the file, the header being row 1
    column: str | None
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "error": self.error}


@dataclass
class Parsed:
    """One data row's events, or why it could not be read, or that it is not ours (skipped:
    a GA4 row of traffic that did not come from social)."""

    row: int
    events: list[EventFields] = field(default_factory=list)
    error: RowError | None = None
    skipped: bool = False


@dataclass
class Context:
    """What an importer may need besides the row: the account, the file's name, the time zone
    of reports by local day (RAPPORT_TIMEZONE) and the currency of one that names none."""

    account: str | None = None
    filename: str | None = None
    timezone: ZoneInfo | None = None
    currency: str | None = None


Opener = Callable[[], IO[bytes]]


def text_stream(raw: IO[bytes]) -> IO[str]:
    """Decode UTF-8 (with or without BOM) or UTF-16 (with BOM), as the platforms write them."""
    head = raw.read(4)
    raw.seek(0)
    encoding = (
        "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    )
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def records(opener: Opener) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every CSV record, header included, with clear file-level errors."""
    stream = text_stream(opener())
    reader = csv.reader(stream)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"row {number + 1}: the file is not UTF-8 or UTF-16 text "
            f"({exc.reason} at byte {exc.start}); save it again as CSV UTF-8"
        ) from None
    except csv.Error as exc:
        raise FileProblem(f"row {number + 1}: not readable as CSV ({exc})") from None


@functools.lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    return " ".join(name.strip().lower().split())


class Header:
    """Column lookup by normalised name; a repeated name keeps every position."""

    def __init__(self, cells: list[str]) -> None:
        self.names = [normalise(c) for c in cells]
        self.positions: dict[str, list[int]] = {}
        for index, name in enumerate(self.names):
            self.positions.setdefault(name, []).append(index)

    def has(self, name: str) -> bool:
        return normalise(name) in self.positions

    def require(self, *names: str, source: str) -> None:
        missing = [n for n in names if not self.has(n)]
        if missing:
            found = ", ".join(self.names[:8]) + (" ..." if len(self.names) > 8 else "")
            raise FileProblem(
                f"not a {source} export: missing column(s) {', '.join(repr(m) for m in missing)}; "
                f"the header has: {found}"
            )


def cell(row: list[str], header: Header, name: str, *, index: int | None = None) -> str:
    positions = header.positions.get(normalise(name))
    if not positions:
        return ""
    position = positions[0] if index is None else index
    return row[position].strip() if position < len(row) else ""


_NUMBER = re.compile(r"^-?[\d,]*\.?\d*$")


def number(value: str, column: str) -> int:
    """Counts as the platforms write them: "2633.0", "15,000", "-" or "" for none."""
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if text in ("", "-", "--", "n/a", "N/A"):
        return 0
    if not _NUMBER.match(text) or text in (",", ".", "-."):
        raise RowProblem(column, f"{value[:40]!r} is not a number")
    amount = float(text.replace(",", ""))
    if amount < 0:
        raise RowProblem(column, f"{value!r} is negative")
    return round(amount)


def timestamp(value: str, column: str, formats: Iterable[str]) -> str:
    """An RFC 3339 string (UTC when the export carries no offset)."""
    text = value.strip()
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.isoformat()
    raise RowProblem(column, f"{text[:40]!r} is not a date/time this export uses")


class Shared(TypedDict, total=False):
    """What the events of one export row have in common; the row's id, kind and count make each
    an event (EventFields)."""

    occurred_at: Required[str]
    network: Required[str]
    account: str
    post_id: str | None
    url: str | None
    attributes: dict[str, str]


def metric_events(
    base_id: str,
    common: Shared,
    counts: dict[str, int],
) -> list[EventFields]:
    """One snapshot event per kind, id `{base_id}:{kind}`: a newer export replaces it."""
    return [event_of(common, f"{base_id}:{kind}", kind, count) for kind, count in counts.items()]


def event_of(common: Shared, event_id: str, kind: str, count: int) -> EventFields:
    """The row's shared fields made one event."""
    event: EventFields = {
        "event_id": event_id,
        "occurred_at": common["occurred_at"],
        "network": common["network"],
        "kind": kind,
        "count": count,
    }
    if "account" in common:
        event["account"] = common["account"]
    if "post_id" in common:
        event["post_id"] = common["post_id"]
    if "url" in common:
        event["url"] = common["url"]
    if "attributes" in common:
        event["attributes"] = common["attributes"]
    return event
