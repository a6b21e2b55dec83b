"""Competitors (docs/using.md#competitors-and-share-of-voice): accounts on a network whose
events count only in `listening`, never in a brand, support, audience or outcome figure.

They are left out where the figures are read, not where events are written: every read of the
brand's own figures carries `NOT EXISTS (a competitor with this network and account)` against
this small table (`not_competitor`). Adding or removing a competitor therefore applies at once
to every event already stored, the rollups stay exact per (network, account) with nothing to
rewrite, and the same stored rows give `listening` its competitor mentions. Dropping or tagging
their events in the consumer would have needed a rewrite of every stored row and rollup at
each change, and would have lost the mentions share of voice is made of.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.clock import utcnow
from services.common.i18n import N_, Problem
from services.domain.tables import Competitor
from services.domain.vocabulary import NETWORK_NAMES

TABLE = Competitor.__table__  # type: ignore[attr-defined]


class BadCompetitor(Problem):
    """What is wrong with a competitor, starting with the field's name."""


def not_competitor(network: Any, account: Any) -> ColumnElement[bool]:
    """True for a row whose (network, account) is not a competitor's."""
    k = TABLE.c
    return ~exists().where(k.network == network, k.account == account)


def not_competitor_sql(table: str) -> str:
    """The same condition as SQL text, over `{table}.network` and `{table}.account` (named:
    inside the subquery a bare `network` would be the competitor's own)."""
    return (
        "NOT EXISTS (SELECT 1 FROM competitor k "
        f"WHERE k.network = {table}.network AND k.account = {table}.account)"
    )


def _checked(network: str, account: str, name: str | None = None) -> tuple[str, str, str]:
    found = NETWORK_NAMES.get(network.strip().lower())
    if found is None:
        raise BadCompetitor(
            N_("network: one of {networks}"), networks=", ".join(sorted(NETWORK_NAMES))
        )
    account = account.strip()
    if not 1 <= len(account) <= 200 or "\x00" in account:
        raise BadCompetitor(
            N_("account: 1 to 200 characters, as the events name it (e.g. {example})"),
            example="@rival",
        )
    text = (name or "").strip()
    if name is not None and (not 1 <= len(text) <= 100 or "\x00" in text):
        raise BadCompetitor(N_("name: 1 to 100 characters"))
    return found, account, text


def create(session: Session, *, network: str, account: str, name: str, actor: str) -> None:
    """Add a competitor, or rename one already there."""
    network, account, name = _checked(network, account, name)
    found = session.get(Competitor, (network, account))
    if found is None:
        found = Competitor(
            network=network, account=account, name=name, added_by=actor, added_at=utcnow()
        )
    found.name = name
    session.add(found)
    session.commit()


def delete_one(session: Session, *, network: str, account: str) -> bool:
    """Remove a competitor; False when there was none."""
    network, account, _ = _checked(network, account)
    k = TABLE.c
    done = session.execute(delete(TABLE).where(k.network == network, k.account == account))
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def get_all(engine: Engine) -> list[dict[str, Any]]:
    """Every competitor, by name."""
    k = TABLE.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(k.name, k.network, k.account, k.added_by, k.added_at).order_by(
                k.name, k.network, k.account
            )
        )
        return [{**row._mapping, "added_at": _instant(row.added_at)} for row in rows]


def _instant(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


# --- `rapport competitors` ------------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("competitors", help="competitors' accounts: counted only in share of voice")
    verbs = p.add_subparsers(dest="competitors_action", required=True, metavar="ACTION")
    add = verbs.add_parser("add", help="add a competitor's account (or rename it)")
    add.add_argument("--network", required=True)
    add.add_argument("--account", required=True, help="as its events name it, e.g. @rival")
    add.add_argument("--name", required=True, help="how the reports name it")
    add.set_defaults(func=cmd_competitors)
    verbs.add_parser("list", help="every competitor").set_defaults(func=cmd_competitors)
    remove = verbs.add_parser("remove", help="remove a competitor's account")
    remove.add_argument("--network", required=True)
    remove.add_argument("--account", required=True)
    remove.set_defaults(func=cmd_competitors)


def cmd_competitors(args: Any) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate

    migrate()
    engine = get_engine()
    action = args.competitors_action
    try:
        if action == "list":
            for row in get_all(engine):
                print(f"{row['name']}\t{row['network']}\t{row['account']}")
            return 0
        with Session(engine) as session:
            if action == "add":
                create(session, network=args.network, account=args.account, name=args.name,
                       actor="cli")  # fmt: skip
                print(f"competitor {args.name}: {args.network} {args.account}")
                return 0
            if not delete_one(session, network=args.network, account=args.account):
                print(f"rapport competitors remove: no competitor {args.network} {args.account}")
                return 1
            print(f"removed {args.network} {args.account}")
            return 0
    except BadCompetitor as exc:
        print(f"rapport competitors {action}: {exc}")
        return 2
