"""GET /v1/conversations: the support conversations behind every figure, with their service
levels (docs/figures.md#service-levels-business-hours-sla-agents), as JSON pages with a
cursor or one streamed CSV."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from services.common import csv_export
from services.common.deps import engine_of, settings_of
from services.common.openapi import invalid_query, problems, repeated_query
from services.domain.auth import ReaderDep
from services.domain.conversation_levels import ONLY, ROW_FIELDS, Window, listing
from services.domain.period import Period
from services.domain.vocabulary import Network

router = APIRouter()
Text = Annotated[str | None, Query(max_length=200, pattern="^[^\\x00]*$")]
PARAMETERS = frozenset(
    {"year", "as_of", "network", "account", "agent", "sla", "only", "format", "cursor", "limit"}
    | {"rating", "reopened"}
)


class BadCursor(ValueError):
    pass


class ConversationRow(BaseModel):
    network: str
    conversation_id: str
    account: str
    agent: str
    url: str | None
    first_inbound_at: str
    first_response_s: float | None
    first_response_business_s: float | None
    resolution_s: float | None
    sla_met: bool
    rating: (
        int | None
    )  # 1..5 as of the period's end (docs/figures.md#response-quality-and-share-of-voice)
    reopened: bool
    comment: str | None  # the rating's comment, as the customer wrote it (escape to show)


class ConversationPage(BaseModel):
    year: int
    as_of: str
    items: list[ConversationRow]
    next_cursor: str | None


def encode_cursor(row: dict[str, Any]) -> str:
    key = [row["first_inbound_at"], row["network"], row["conversation_id"]]
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, str, str]:
    try:
        at, network, conversation = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        instant = dt.datetime.fromisoformat(at).astimezone(dt.UTC).replace(tzinfo=None)
        return instant, str(network), str(conversation)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadCursor("cursor: not a cursor this API gave out; start without one") from None


@router.get(
    "/v1/conversations",
    summary="Support conversations of the period, with their service levels",
    response_model=ConversationPage,
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV with format=csv"},
        **problems(401),
    },
)
def get_conversations(
    request: Request,
    _role: ReaderDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    as_of: Annotated[dt.date | None, Query(description="YYYY-MM-DD, in the year")] = None,
    network: Network | None = None,
    account: Text = None,
    agent: Text = None,
    sla: Literal["met", "breached"] | None = None,
    rating: Annotated[
        Literal["low"] | None, Query(description="low: rated 1 or 2 by the customer")
    ] = None,
    reopened: Annotated[
        Literal["true"] | None, Query(description="true: the customer wrote after the resolution")
    ] = None,
    only: Annotated[
        str | None,
        Query(max_length=20, description="the conversations behind one figure: " + ", ".join(ONLY)),
    ] = None,
    format: Literal["json", "csv"] = "json",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    unknown = sorted(set(request.query_params) - PARAMETERS)
    if unknown:  # a misspelt filter must not quietly return everything
        raise invalid_query(unknown[0] or "(empty name)", "not a parameter of this API")
    twice = repeated_query(request)
    if twice is not None:
        raise twice
    if only is not None and only not in ONLY:
        raise invalid_query("only", f"Input should be one of {', '.join(ONLY)}")
    tz = settings_of(request).timezone
    year = year or dt.datetime.now(tz).year
    try:
        period = Period.of(year, as_of, tz)
    except ValueError as exc:
        raise invalid_query("as_of", str(exc)) from None
    try:
        after = decode_cursor(cursor) if cursor else None
    except BadCursor as exc:
        raise invalid_query("cursor", str(exc)) from None
    window = Window(
        period.start_utc,
        period.end_utc,
        network=network.value if network else None,
        account=account,
        agent=agent,
        only=only,
        low_rating=rating == "low",
        reopened=reopened == "true",
    )
    engine = engine_of(request)
    if format == "csv":
        rows = listing(engine, window, sla=sla)
        name = f"conversations-{year}-as-of-{period.as_of.isoformat()}.csv"
        return StreamingResponse(
            csv_export.lines(ROW_FIELDS, ([row[f] for f in ROW_FIELDS] for row in rows)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    items = list(listing(engine, window, sla=sla, after=after, limit=limit + 1))
    more = len(items) > limit
    items = items[:limit]
    body = {
        "year": year,
        "as_of": period.as_of.isoformat(),
        "items": items,
        "next_cursor": encode_cursor(items[-1]) if more and items else None,
    }
    return JSONResponse(body)
