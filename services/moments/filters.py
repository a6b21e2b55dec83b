"""The moment list's filters: one dependency for the web list, the API list and both exports."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine

from services.common import i18n
from services.common.openapi import repeated_query
from services.domain.vocabulary import Network
from services.moments import service
from services.moments.models import CustomerStatus, IsoDate, Outcome

SearchText = Annotated[
    str | None,
    Query(max_length=200, pattern="^[^\\x00]*$", description="Search people, text, tags"),
]
# The web filter form sends every field, empty for "any".
Any_ = Literal[""]


def moment_filters(
    request: Request,
    q: SearchText = None,
    network: Network | Any_ | None = None,
    customer_status: CustomerStatus | Any_ | None = None,
    outcome: Outcome | Any_ | None = None,
    date_from: IsoDate | Any_ | None = None,
    date_to: IsoDate | Any_ | None = None,
) -> service.Filters:
    twice = repeated_query(request)
    if twice is not None:
        raise twice
    return service.Filters(
        q=q or None,
        network=network or None,
        customer_status=customer_status or None,
        outcome=outcome or None,
        date_from=date_from or None,
        date_to=date_to or None,
    )


MomentFilters = Annotated[service.Filters, Depends(moment_filters)]


def csv_download(
    engine: Engine, filters: service.Filters, tz: ZoneInfo, reader: i18n.Speaker | None = None
) -> StreamingResponse:
    """The filtered moments as a streamed CSV named after the filters and today's date: for a
    `reader` (the web page's download) headed in their language, with the byte-order mark
    Excel needs; else (the API's) with field names and codes."""
    name = service.export_filename(filters, dt.datetime.now(tz).date())
    chunks = service.export_csv(engine, filters=filters, reader=reader)
    return StreamingResponse(
        itertools.chain(["\ufeff"], chunks) if reader else chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
