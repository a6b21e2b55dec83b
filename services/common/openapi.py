"""OpenAPI pieces both HTTP services share: the `{"detail": ...}` error body."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

DEFAULT_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "Not found",
    408: "The body arrived too slowly",
    413: "Body or batch too large",
    503: "A dependency is unavailable; retry later",
}


class Problem(BaseModel):
    detail: str


def problems(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error answers, each a `{"detail": "..."}` body;
    `s404="..."` overrides the description of one status."""
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(f"s{status}", DEFAULT_DESCRIPTIONS.get(status, "")),
        }
        for status in statuses
    }


def invalid_query(field: str, message: str) -> RequestValidationError:
    """FastAPI's own 422 shape, naming the query parameter (as for a bad enum or date)."""
    return RequestValidationError(
        [{"loc": ["query", field], "msg": message, "type": "value_error"}]
    )


def repeated_query(request: Request) -> RequestValidationError | None:
    """A 422 naming a query parameter given twice (the API would keep one value without a word);
    None when every parameter comes once."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    return invalid_query(repeated[0], "given more than once; give it once") if repeated else None
