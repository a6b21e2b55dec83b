"""The admin's page for a person's data (docs/stewardship.md): what is held, then forget it,
confirmed by typing the identifier again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from services.common.db import is_sqlite
from services.common.deps import engine_of
from services.common.i18n import N_, Problem
from services.domain.people import PLACES, Person, export, forget, scrub_sqlite_file
from services.moments.deps import Principal
from services.moments.web.access import AdminPosted, AdminSignedIn
from services.moments.web.render import in_thread, page
from services.moments.web.speech import speaker_for

router = APIRouter(include_in_schema=False)
# Where Rapport keeps an identifier, as the page names each place (the tables' names stay the
# CLI's and the API's).
PLACE_NAMES = {
    "interaction_event": N_("Events"),
    "support_conversation": N_("Support conversations"),
    "moment": N_("Moments"),
    "moment_audit": N_("Moments' history"),
    "dead_letter": N_("Rejected events"),
    "sheet_rows": N_("Google Sheet rows"),
}


def _people_page(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    return page(
        request,
        "people.html",
        principal,
        places=[*PLACES, "sheet_rows"],
        place_names=PLACE_NAMES,
        **context,
    )


def _said(request: Request, principal: Principal, exc: Problem) -> str:
    return exc.said_in(speaker_for(request, principal))


@router.get("/people", response_class=HTMLResponse)
def look_up(request: Request, principal: AdminSignedIn, person: str = "") -> Response:
    if not person:
        return _people_page(request, principal)
    try:
        who = Person.of(person)
    except Problem as exc:
        return _people_page(request, principal, person=person, error=_said(request, principal, exc))
    held = export(engine_of(request), who)
    counts = {place: len(rows) for place, rows in held.items()}
    return _people_page(request, principal, person=person, counts=counts)


@router.post("/people/forget", response_class=HTMLResponse)
@in_thread
def forget_person(request: Request, form: FormData, principal: AdminPosted) -> Response:
    person, again = str(form.get("person", "")), str(form.get("confirm", ""))
    try:
        who = Person.of(person)
    except Problem as exc:
        return _people_page(request, principal, error=_said(request, principal, exc))
    try:
        confirmed = Person.of(again) == who
    except ValueError:
        confirmed = False
    if not confirmed:
        return _people_page(
            request,
            principal,
            person=person,
            error=speaker_for(request, principal)._(
                "Type the identifier again to confirm; nothing was changed."
            ),
        )
    engine = engine_of(request)
    receipt = forget(engine, who, by=principal.name)
    scrubbed = "clean"
    if is_sqlite(str(engine.url)) and engine.url.database:
        scrubbed = scrub_sqlite_file(Path(engine.url.database), who)
    return _people_page(
        request,
        principal,
        receipt=receipt.as_dict(),
        erased_at=receipt.erased_at,
        busy=scrubbed == "busy",
    )
