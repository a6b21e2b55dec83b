"""Admin REST for a person's data (docs/stewardship.md): export, and forget once confirmed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from services.common.db import is_sqlite
from services.common.deps import engine_of
from services.common.openapi import problems
from services.domain.people import Person, export, forget, scrub_sqlite_file
from services.moments.deps import ApiAdmin

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/people", tags=["people"])
# What Person.of accepts: at least three characters after a leading @, no spaces, no NUL.
PATTERN = r"^@?[^ \t\n\r\f\v\x00]{3,}$"


class ForgetRequest(BaseModel):
    person: Annotated[str, Field(min_length=3, max_length=320, pattern=PATTERN)]
    confirm: Literal[True] = Field(description="true: yes, replace it everywhere, for good")


class ErasureReceipt(BaseModel):
    erased_at: str
    erased_by: str
    person_sha256: str
    replaced_by: str
    rows_changed: dict[str, int]


@router.get("/export", response_model=dict[str, list[dict[str, Any]]], responses=problems(401, 403))
def export_person(
    request: Request,
    person: Annotated[str, Query(min_length=3, max_length=320, pattern=PATTERN)],
    _admin: ApiAdmin,
) -> Any:
    """Every record that holds the identifier (the ingest journal: `rapport people export`)."""
    return jsonable_encoder(export(engine_of(request), Person.of(person)))


@router.post(
    "/forget",
    response_model=ErasureReceipt,
    responses=problems(400, 401, 403, s400="The body is not JSON"),
)
def forget_person(request: Request, body: ForgetRequest, admin: ApiAdmin) -> Any:
    """Replace the identifier everywhere the database keeps it; the receipt never holds it (the
    ingest journal's segments: `rapport people forget` on the ingest host)."""
    engine = engine_of(request)
    person = Person.of(body.person)
    receipt = forget(engine, person, by=admin.name)
    database = engine.url.database if is_sqlite(str(engine.url)) else None
    if database and scrub_sqlite_file(Path(database), person) == "busy":
        log.warning("erasure %s: a reader kept the WAL; erase again", receipt.person_sha256)
    return receipt.as_dict()
