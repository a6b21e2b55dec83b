"""What a moment's link leads to, for its page: the support conversation it names with that
conversation's service level, and the purchases its people made within INFLUENCE_DAYS after it
(docs/using.md)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from services.domain.conversation_levels import UNASSIGNED
from services.domain.service_levels import DEFAULT_TARGET_S
from services.domain.tables import (
    InteractionEvent,
    Moment,
    SupportConversation,
)
from services.domain.vocabulary import INFLUENCE_DAYS, person_key


def conversation_for(session: Session, link: str) -> SupportConversation | None:
    """The ingested support conversation whose url is this moment's link, if any."""
    return session.exec(select(SupportConversation).where(SupportConversation.url == link)).first()


def purchases_after(session: Session, moment: Moment, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The conversions (count > 0) the moment's people made from its day to 90 days after, in
    local dates (docs/figures.md, Outcomes: the same rule as moments.influenced_conversions)."""
    people = {person_key(p) for p in Moment.decode_list(moment.people)}
    start = _utc_midnight(moment.occurred_on, tz)
    end = _utc_midnight(moment.occurred_on + dt.timedelta(days=INFLUENCE_DAYS + 1), tz)
    e = InteractionEvent
    rows = session.exec(
        select(e)
        .where(
            e.kind == "conversion",
            col(e.count) > 0,
            col(e.actor).is_not(None),
            col(e.occurred_at) >= start,
            col(e.occurred_at) < end,
        )
        .order_by(col(e.occurred_at))
    )
    return [_purchase(row, tz) for row in rows if person_key(row.actor or "") in people]


def _utc_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC).replace(tzinfo=None)


def _purchase(event: InteractionEvent, tz: ZoneInfo) -> dict[str, Any]:
    attributes = json.loads(event.attributes) if event.attributes else {}
    amount = None
    if event.value_e4 is not None:
        amount = (Decimal(event.value_e4).scaleb(-4)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {
        "on": event.occurred_at.replace(tzinfo=dt.UTC).astimezone(tz).date(),
        "network": event.network,
        "who": event.actor,
        "order": attributes.get("order_name") or attributes.get("utm_campaign") or "",
        "amount": amount,  # shown in the page's language with its currency
        "currency": event.currency,
    }


def service_level(conversation: SupportConversation) -> dict[str, Any]:
    """Who answered the conversation, its first response in business hours and its SLA state,
    as stored with it under its schedule (the values the support figures count)."""
    answered = conversation.first_inbound_at is not None and conversation.first_response_at
    business = conversation.first_response_business_s
    target = DEFAULT_TARGET_S if conversation.sla_target_s is None else conversation.sla_target_s
    return {
        "agent": (conversation.agent or UNASSIGNED) if answered else None,
        "first_response_business_min": (
            round(business / 60, 1) if answered and business is not None else None
        ),
        "target_min": round(target / 60, 1),
        "sla_met": bool(answered and business is not None and business <= target),
    }
