"""Reads for the reports, from rollups and per-conversation facts only (never raw events)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.ingest.models import RollupDaily, SupportConversation
from services.reports.figures import ConversationFact, Period

DAILY = RollupDaily.__table__  # type: ignore[attr-defined]
CONVERSATIONS = SupportConversation.__table__  # type: ignore[attr-defined]


def kind_totals(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> dict[str, int]:
    """Sum of `count` per kind over the period's local days (daily rollups)."""
    query = (
        select(DAILY.c.kind, func.sum(DAILY.c["count"]))
        .where(DAILY.c.day >= period.first_day, DAILY.c.day <= period.as_of)
        .group_by(DAILY.c.kind)
    )
    if network:
        query = query.where(DAILY.c.network == network)
    if account:
        query = query.where(DAILY.c.account == account)
    with engine.connect() as conn:
        return {kind: int(total or 0) for kind, total in conn.execute(query)}


def conversations(
    engine: Engine, period: Period, *, network: str | None = None, account: str | None = None
) -> list[ConversationFact]:
    """Conversations whose first inbound message falls in the period."""
    c = CONVERSATIONS.c
    query = select(c.network, c.first_inbound_at, c.first_response_at, c.resolved_at).where(
        c.first_inbound_at >= period.start_utc, c.first_inbound_at < period.end_utc
    )
    if network:
        query = query.where(c.network == network)
    if account:
        query = query.where(c.account == account)
    with engine.connect() as conn:
        return [ConversationFact(*row) for row in conn.execute(query)]
