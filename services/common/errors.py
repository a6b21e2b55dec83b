"""The database failing under a request: a 503 that says so, never a 500 with a stack trace."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def database_reason(exc: DBAPIError) -> str:
    """The driver's own words for what went wrong ("database or disk is full")."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return reason[:200]


def database_problem(exc: DBAPIError) -> str:
    """What went wrong, in a sentence an operator can act on."""
    return (
        f"The database could not be reached or written ({database_reason(exc)}); nothing was saved."
    )


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for OperationalError: 503 + Retry-After, the cause logged once."""
    assert isinstance(exc, DBAPIError)
    message = database_problem(exc)
    log.error("%s %s answered 503: %s", request.method, request.url.path, message)
    return JSONResponse(
        {"detail": f"{message} Retry later."},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
