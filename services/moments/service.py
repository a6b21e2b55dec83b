"""Moment verbs (create, update, delete, restore, get, get_all), audit trail and sheet outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.common import csv_export, i18n, tracing
from services.common.clock import utcnow
from services.common.db import write_guard
from services.common.i18n import N_
from services.domain.tables import (
    Moment,
    MomentAudit,
    SheetOutbox,
)
from services.domain.vocabulary import moment_word, network_label
from services.moments.metrics import MOMENTS_LOGGED
from services.moments.models import (
    MomentBase,
    MomentCreate,
    MomentPublic,
    MomentUpdate,
    SheetSync,
)

LIST_FIELDS = ("people", "tags")
# The fields a person fills in (MomentBase, in its order) between the server's own.
CSV_COLUMNS = ("id", *MomentBase.model_fields, "logged_by", "created_at", "updated_at")
# The same columns as people read them (the moments page's download; the API's keeps the field
# names and codes), the Google Sheet's names in the reader's language.
CSV_HEADINGS = {
    "id": N_("Moment ID"),
    "occurred_on": N_("Date"),
    "network": N_("Network"),
    "link": N_("Link"),
    "people": N_("People"),
    "customer_status": N_("Customer status"),
    "change": N_("What changed"),
    "outcome": N_("Outcome"),
    "initiated_by": N_("Who reached out first"),
    "notes": N_("Notes"),
    "tags": N_("Tags"),
    "logged_by": N_("Logged by"),
    "created_at": N_("Logged at (UTC)"),
    "updated_at": N_("Updated at (UTC)"),
}
FAILED_AFTER_ATTEMPTS = 8
# One cap for the web and the API export: a year of a large team's moments is ~10,000.
EXPORT_MAX_ROWS = 100_000


def _row_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    for name in LIST_FIELDS:
        if name in values and values[name] is not None:
            values[name] = Moment.encode_list(values[name])
    for name in ("network", "customer_status", "outcome", "initiated_by"):
        if values.get(name) is not None:
            values[name] = str(getattr(values[name], "value", values[name]))
    return values


def as_dict(moment: Moment) -> dict[str, Any]:
    data = moment.model_dump()
    for name in LIST_FIELDS:
        data[name] = Moment.decode_list(data[name])
    return data


def _enqueue(session: Session, moment: Moment) -> None:
    outbox = session.get(SheetOutbox, moment.id)
    if outbox is None:
        session.add(
            SheetOutbox(
                moment_id=moment.id,
                version=moment.version,
                enqueued_at=utcnow(),
                next_attempt_at=utcnow(),
                traceparent=tracing.traceparent(),
            )
        )
    else:
        outbox.version = moment.version
        outbox.attempts = 0
        outbox.next_attempt_at = utcnow()
        outbox.last_error = None
        outbox.traceparent = tracing.traceparent()
        session.add(outbox)


def _audit(session: Session, moment_id: str, action: str, actor: str, changes: Any = None) -> None:
    session.add(
        MomentAudit(
            moment_id=moment_id,
            action=action,
            actor=actor,
            at=utcnow(),
            changes=json.dumps(changes, default=str) if changes else None,
        )
    )


P = ParamSpec("P")
R = TypeVar("R")


def _serialised(fn: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Run a write verb under the process's SQLite write guard (see db.write_guard)."""

    def guarded(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with write_guard(session.get_bind()):  # type: ignore[arg-type]
            return fn(session, *args, **kwargs)

    guarded.__doc__ = fn.__doc__
    return guarded


@_serialised
def create(
    session: Session, *, data: MomentCreate, actor: str, moment_id: str | None = None
) -> Moment:
    """Store the moment, its audit entry and its outbox row in one transaction."""
    stamp = utcnow()
    moment = Moment(
        id=moment_id or str(uuid.uuid4()),
        logged_by=actor,
        created_at=stamp,
        updated_at=stamp,
        **_row_values(data.model_dump()),
    )
    session.add(moment)
    _audit(session, moment.id, "create", actor)
    _enqueue(session, moment)
    session.commit()  # every column was set here, so nothing needs reading back
    MOMENTS_LOGGED.labels(moment.network).inc()
    return moment


@_serialised
def update(session: Session, *, moment: Moment, data: MomentUpdate, actor: str) -> Moment:
    changes: dict[str, list[Any]] = {}
    before = as_dict(moment)
    for name, value in _row_values(data.model_dump(exclude_unset=True)).items():
        if getattr(moment, name) != value:
            new = Moment.decode_list(value) if name in LIST_FIELDS else value
            changes[name] = [before[name], new]
            setattr(moment, name, value)
    if changes:
        moment.version += 1
        moment.updated_at = utcnow()
        session.add(moment)
        _audit(session, moment.id, "edit", actor, changes)
        _enqueue(session, moment)
        session.commit()
        session.refresh(moment)
    return moment


@_serialised
def delete(session: Session, *, moment: Moment, actor: str) -> Moment:
    """Soft delete: the row stays (restorable by an admin) and the sheet row is marked."""
    if moment.deleted_at is None:
        moment.deleted_at = utcnow()
        moment.version += 1
        session.add(moment)
        _audit(session, moment.id, "delete", actor)
        _enqueue(session, moment)
        session.commit()
        session.refresh(moment)
    return moment


@_serialised
def restore(session: Session, *, moment: Moment, actor: str) -> Moment:
    if moment.deleted_at is not None:
        moment.deleted_at = None
        moment.version += 1
        session.add(moment)
        _audit(session, moment.id, "restore", actor)
        _enqueue(session, moment)
        session.commit()
        session.refresh(moment)
    return moment


UNDO_S = 30  # how long whoever deleted a moment may take it back without an admin


def undo_delete(session: Session, *, moment: Moment, actor: str) -> bool:
    """Take back one's own delete within UNDO_S seconds; False when it is too late (an admin
    can still restore it) or someone else deleted it."""
    if moment.deleted_at is None:
        return True
    last = session.exec(
        select(MomentAudit)
        .where(MomentAudit.moment_id == moment.id)
        .order_by(col(MomentAudit.id).desc())
        .limit(1)
    ).first()
    recent = (utcnow() - moment.deleted_at).total_seconds() <= UNDO_S
    if last is None or last.action != "delete" or last.actor != actor or not recent:
        return False
    restore(session, moment=moment, actor=actor)
    return True


def get(session: Session, moment_id: str, *, include_deleted: bool = False) -> Moment | None:
    moment = session.get(Moment, moment_id)
    if moment is None or (moment.deleted_at is not None and not include_deleted):
        return None
    return moment


class MomentNotFound(LookupError):
    """No such moment (or it is deleted): the API answers 404, the pages a Not found page."""

    def __init__(self, moment_id: str) -> None:
        super().__init__(f"No moment with id {moment_id!r}.")
        self.moment_id = moment_id


def get_or_raise(session: Session, moment_id: str, *, include_deleted: bool = False) -> Moment:
    moment = get(session, moment_id, include_deleted=include_deleted)
    if moment is None:
        raise MomentNotFound(moment_id)
    return moment


@dataclass
class Filters:
    q: str | None = None
    network: str | None = None
    customer_status: str | None = None
    outcome: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    deleted: bool = False


def _filtered(filters: Filters, dialect: str) -> Any:
    query = select(Moment)
    query = query.where(
        col(Moment.deleted_at).is_not(None) if filters.deleted else col(Moment.deleted_at).is_(None)
    )
    if filters.network:
        query = query.where(Moment.network == filters.network)
    if filters.customer_status:
        query = query.where(Moment.customer_status == filters.customer_status)
    if filters.outcome:
        query = query.where(Moment.outcome == filters.outcome)
    if filters.date_from:
        query = query.where(Moment.occurred_on >= filters.date_from)
    if filters.date_to:
        query = query.where(Moment.occurred_on <= filters.date_to)
    if filters.q:
        # NUL cannot be stored, so cannot match either (and PostgreSQL refuses it in a query).
        like = f"%{filters.q.replace(chr(0), '').strip().lower()}%"

        def matches(column: Any) -> Any:
            # SQLite's LIKE ignores case exactly as far as its lower() folds it (ASCII letters),
            # so there the column is matched as stored: a search of 100,000 moments reads each
            # row once without five lower() calls (half the time, bench/RESULTS.md session 10).
            # PostgreSQL's LIKE minds case: lower() there.
            return column.like(like) if dialect == "sqlite" else func.lower(column).like(like)

        query = query.where(
            or_(
                matches(Moment.people),
                matches(Moment.change),
                matches(Moment.tags),
                matches(func.coalesce(Moment.notes, "")),
                matches(Moment.link),
            )
        )
    return query


def get_all(
    session: Session, *, filters: Filters, page: int = 1, per_page: int = 25
) -> tuple[list[Moment], int]:
    """One page of moments, newest first, and the total matching."""
    query = _filtered(filters, session.get_bind().dialect.name)
    rows = session.exec(
        query.order_by(col(Moment.occurred_on).desc(), col(Moment.created_at).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    if rows and len(rows) < per_page:  # the last page: the total follows, no second scan
        return list(rows), (page - 1) * per_page + len(rows)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return list(rows), int(total)


def same_link(session: Session, link: str, *, exclude: str | None = None) -> Moment | None:
    query = select(Moment).where(Moment.link == link, col(Moment.deleted_at).is_(None))
    if exclude:
        query = query.where(Moment.id != exclude)
    return session.exec(query).first()


def sync_states(session: Session, ids: list[str], *, enabled: bool) -> dict[str, SheetSync]:
    if not enabled:
        return {i: SheetSync(state="off") for i in ids}
    pending = {
        row.moment_id: row
        for row in session.exec(select(SheetOutbox).where(col(SheetOutbox.moment_id).in_(ids)))
    }
    states = {}
    for moment_id in ids:
        row = pending.get(moment_id)
        if row is None:
            states[moment_id] = SheetSync(state="synced")
        elif row.attempts >= FAILED_AFTER_ATTEMPTS:
            states[moment_id] = SheetSync(
                state="failed", attempts=row.attempts, error=row.last_error
            )
        else:
            states[moment_id] = SheetSync(
                state="pending", attempts=row.attempts, error=row.last_error
            )
    return states


def public(moment: Moment, sync: SheetSync | None = None) -> MomentPublic:
    return MomentPublic.model_validate({**as_dict(moment), "sheet_sync": sync})


def export_csv(
    engine: Engine, *, filters: Filters, reader: i18n.Speaker | None = None
) -> Iterator[str]:
    """The filtered moments as CSV chunks, read from the database a few hundred at a time, so
    memory stays flat however many there are (at most EXPORT_MAX_ROWS). For a `reader`, the
    columns are headed and the networks, statuses, outcomes and initiators named in their
    language; without one, field names and codes (the API's, for programs)."""
    query = (
        _filtered(filters, engine.dialect.name)
        .order_by(col(Moment.occurred_on).desc(), col(Moment.created_at).desc())
        .limit(EXPORT_MAX_ROWS)
        .execution_options(yield_per=500)
    )
    with Session(engine) as session:
        header = [reader._(CSV_HEADINGS[c]) for c in CSV_COLUMNS] if reader else CSV_COLUMNS
        rows = (_csv_row(m, reader) for m in session.exec(query))
        yield from csv_export.lines(header, rows)


def _csv_row(moment: Moment, reader: i18n.Speaker | None = None) -> list[Any]:
    data = as_dict(moment)
    data["people"] = ", ".join(data["people"])
    data["tags"] = ", ".join(data["tags"])
    if reader is not None:
        data["network"] = network_label(data["network"], reader.language)
        for word in ("customer_status", "outcome", "initiated_by"):
            if data[word]:
                data[word] = moment_word(data[word], reader.language)
    for stamp in ("created_at", "updated_at"):  # stored as naive UTC: say so, to the second
        if data[stamp] is not None:
            data[stamp] = data[stamp].replace(microsecond=0).isoformat() + "Z"
    return [data[c] for c in CSV_COLUMNS]


def export_filename(filters: Filters, today: dt.date) -> str:
    """`moments-<the filters>-<today>.csv`, e.g. moments-instagram-prospect-2026-12-01.csv."""
    parts = [
        filters.network,
        filters.customer_status,
        filters.outcome,
        f"from-{filters.date_from}" if filters.date_from else None,
        f"to-{filters.date_to}" if filters.date_to else None,
        filters.q,
    ]
    words = [re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts if p]
    return "-".join(["moments", *(w[:40] for w in words if w), today.isoformat()]) + ".csv"


def audit_trail(session: Session, moment_id: str) -> list[MomentAudit]:
    return list(
        session.exec(
            select(MomentAudit)
            .where(MomentAudit.moment_id == moment_id)
            .order_by(col(MomentAudit.id))
        )
    )
