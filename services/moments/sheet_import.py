"""`rapport sheets import`: read an existing, hand-kept MRM sheet once into moments.

Columns are matched by their header names; each row gets a deterministic id, so running the
import again skips what it already brought in. Rows it cannot read are listed with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.domain.tables import Moment
from services.moments import service
from services.moments.models import MomentCreate
from services.moments.sheets import open_spreadsheet

# Our field -> header words that mean it in sheets teams keep by hand.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "occurred_on": ("date", "day", "when"),
    "network": ("network", "platform", "channel", "social network"),
    "link": ("link", "url", "conversation link", "link to conversation", "permalink"),
    "people": ("people", "who", "person", "people involved", "handle", "handles", "names", "name"),
    "customer_status": ("customer status", "existing customer", "customer", "is customer"),
    "change": (
        "change",
        "what changed",
        "positive change",
        "what happened",
        "impact",
        "story",
        "description",
    ),
    "outcome": ("outcome", "result", "category", "type"),
    "initiated_by": (
        "initiated by",
        "who reached out first",
        "reached out first",
        "reactive/proactive",
        "direction",
    ),
    "notes": ("notes", "note", "comments"),
    "tags": ("tags", "labels"),
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%b %d, %Y", "%d %b %Y")
STATUS_WORDS = {
    "existing_customer": (
        "yes",
        "y",
        "true",
        "existing",
        "existing customer",
        "customer",
        "current",
    ),
    "prospect": ("prospect", "lead", "trial"),
    "not_customer": ("no", "n", "false", "not customer", "not a customer", "none"),
}


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def _normal(text: str) -> str:
    """Lower case, punctuation dropped: "Existing customer?" -> "existing customer"."""
    return " ".join(re.sub(r"[^\w/ ]", " ", text.lower().replace("_", " ")).split())


def map_columns(header: Sequence[str]) -> dict[str, int]:
    names = [_normal(h) for h in header]
    mapping: dict[str, int] = {}
    for field_name, words in SYNONYMS.items():
        for word in words:  # the first synonym found wins, most specific first
            if word in names and names.index(word) not in mapping.values():
                mapping[field_name] = names.index(word)
                break
    return mapping


def _date(value: str) -> str:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return value  # the validator names the field and the problem


def _status(value: str) -> str:
    word = _normal(value)
    for status, words in STATUS_WORDS.items():
        if word in words or word == status:
            return status
    return "unknown"


def _initiated(value: str) -> str | None:
    word = _normal(value)
    if word in ("customer", "reactive", "them", "they did", "inbound"):
        return "customer"
    if word in ("brand", "proactive", "us", "we did", "outbound"):
        return "brand"
    return None


def _outcome(value: str) -> str | None:
    word = _normal(value).replace(" ", "_")
    known = (
        "retention",
        "expansion",
        "advocacy",
        "product_feedback",
        "issue_resolved",
        "referral",
        "other",
    )
    return word if word in known else ("other" if word else None)


def row_to_moment(row: Sequence[str], mapping: dict[str, int]) -> dict[str, Any]:
    def get(name: str) -> str:
        index = mapping.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    link = get("link")
    from services.moments.models import guess_network

    return {
        "occurred_on": _date(get("occurred_on")),
        "network": get("network").lower() or guess_network(link) or "other",
        "link": link,
        "people": [p.strip() for p in re.split(r"[,;\n]", get("people")) if p.strip()],
        "customer_status": _status(get("customer_status")),
        "change": get("change"),
        "outcome": _outcome(get("outcome")),
        "initiated_by": _initiated(get("initiated_by")),
        "notes": get("notes") or None,
        "tags": [t.strip() for t in re.split(r"[,;]", get("tags")) if t.strip()],
    }


def import_rows(
    engine: Engine, rows: Sequence[Sequence[str]], *, source: str, actor: str = "sheet-import"
) -> ImportResult:
    result = ImportResult()
    if not rows:
        result.problems.append((1, "the sheet is empty"))
        return result
    mapping = map_columns(rows[0])
    missing = [f for f in ("occurred_on", "link", "change") if f not in mapping]
    if missing:
        result.problems.append(
            (1, f"no column found for {', '.join(missing)}; header: {list(rows[0])}")
        )
        return result
    with Session(engine) as session:
        for number, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            data = row_to_moment(row, mapping)
            key = f"{source}:{data['link']}:{data['occurred_on']}:{data['change']}"
            moment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
            if session.get(Moment, moment_id) is not None:
                result.skipped += 1
                continue
            try:
                valid = MomentCreate.model_validate(data)
            except ValidationError as exc:
                reasons = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors(include_url=False, include_input=False)
                )
                result.problems.append((number, reasons))
                continue
            service.create(session, data=valid, actor=actor, moment_id=moment_id)
            result.imported += 1
    return result


def import_sheet(
    engine: Engine, settings: Settings, *, spreadsheet: str | None, worksheet: str | None
) -> int:
    source_id = spreadsheet or settings.sheets_spreadsheet_id
    assert source_id
    book = open_spreadsheet(settings, source_id)
    sheet = book.worksheet(worksheet) if worksheet else book.sheet1
    result = import_rows(engine, sheet.get_all_values(), source=f"{source_id}/{sheet.title}")
    print(f"Imported {result.imported} moments, skipped {result.skipped} already imported.")
    for number, reason in result.problems:
        print(f"  row {number}: {reason}")
    return 1 if result.problems else 0
