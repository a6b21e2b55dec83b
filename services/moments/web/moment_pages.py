"""The community manager's moment pages: log, list and search, view, edit, delete, restore."""

from __future__ import annotations

import dataclasses
import re
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.common import i18n
from services.common.deps import engine_of, settings_of
from services.common.i18n import N_
from services.moments import history, linked, service, sheets
from services.moments.deps import Principal, db, writing
from services.moments.filters import MomentFilters, csv_download
from services.moments.models import MomentCreate, MomentUpdate, guess_network
from services.moments.web.access import AdminPosted, AdminSignedIn, SignedIn, WriterPosted
from services.moments.web.render import Refused, in_thread, message_page, page
from services.moments.web.speech import language_of, speaker_for

router = APIRouter(include_in_schema=False)
PER_PAGE = 25


def form_errors(exc: ValidationError, fields: dict[str, Any], say: i18n.Speaker) -> dict[str, str]:
    """Field -> message for people, in the page's language; `fields` (what the form sent) lets a
    missing network say why it is missing instead of listing the allowed values."""
    errors: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        field = str(err["loc"][0]) if err["loc"] else "form"
        errors.setdefault(field, _said(err, say))
    if "network" in errors and not fields.get("network"):
        errors["network"] = (
            say._("Pick the network: we could not tell it from the link")
            if fields.get("link")
            else say._("Pick the network")
        )
    return errors


def _said(err: Any, say: i18n.Speaker) -> str:
    """One field's problem as the page says it: our own rules' words (models.py, marked N_)
    translated, pydantic's by kind; its English stays in the API's answers."""
    kind, limit = err["type"], (err.get("ctx") or {})
    if kind == "value_error":
        return say._(str(err["msg"]).removeprefix("Value error, "))
    if kind == "string_too_long":
        return say.n_("At most {n} character.", "At most {n} characters.", int(limit["max_length"]))
    if kind == "missing":
        return say._("Fill this in.")
    if kind in ("enum", "literal_error"):
        return say._("Choose one of the offered values.")
    return say._("This value cannot be read: check it and try again.")


# A pasted link without its scheme ("x.com/acme/status/456"): a host name, then a path or nothing.
SCHEMELESS = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$", re.IGNORECASE)


def _with_scheme(link: str) -> str:
    return f"https://{link}" if SCHEMELESS.match(link) else link


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n;]", value) if part.strip()]


def _moment_fields(form: FormData) -> dict[str, Any]:
    link = _with_scheme(str(form.get("link", "")).strip())
    network = str(form.get("network", "")).strip() or guess_network(link) or ""
    return {
        "occurred_on": str(form.get("occurred_on", "")).strip(),
        "network": network,
        "link": link,
        "people": _split(str(form.get("people", ""))),
        "customer_status": str(form.get("customer_status", "")) or "unknown",
        "change": str(form.get("change", "")),
        "outcome": str(form.get("outcome", "")) or None,
        "initiated_by": str(form.get("initiated_by", "")) or None,
        "notes": str(form.get("notes", "")).strip() or None,
        "tags": _split(str(form.get("tags", ""))),
    }


def _typed(form: FormData) -> dict[str, str]:
    """What the person typed, to show the form again as it was."""
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _list_context(request: Request, filters: service.Filters) -> dict[str, Any]:
    page_number = _page_number(request)
    with db(request) as session:
        moments, total = service.get_all(
            session, filters=filters, page=page_number, per_page=PER_PAGE
        )
        sheet = sheets.enabled(settings_of(request))
        states = service.sync_states(session, [m.id for m in moments], enabled=sheet)
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return {
        "moments": [service.as_dict(m) for m in moments],
        "states": states,
        # Without a sheet the list has no Sheet column: the admins' banner says it once.
        "sheet": sheet,
        "total": total,
        "page": page_number,
        "pages": max(1, -(-total // PER_PAGE)),
        "query": query,
        "query_string": urlencode(query),
        "filters": filters,
    }


@router.get("/", response_class=HTMLResponse)
def index(request: Request, principal: SignedIn, filters: MomentFilters) -> Response:
    just_deleted = None
    deleted_id = request.query_params.get("deleted")
    if deleted_id and principal.can_write:
        with db(request) as session:
            found = service.get(session, deleted_id, include_deleted=True)
        if found is not None and found.deleted_at is not None:
            just_deleted = service.as_dict(found)
    return page(
        request,
        "index.html",
        principal,
        values={},
        errors={},
        just_deleted=just_deleted,
        undo_s=service.UNDO_S,
        **_list_context(request, filters),
    )


@router.post("/moments", response_class=HTMLResponse)
@in_thread
def log_moment(
    request: Request, form: FormData, principal: WriterPosted, filters: MomentFilters
) -> Response:
    fields = _moment_fields(form)
    try:
        data = MomentCreate.model_validate(fields)
    except ValidationError as exc:
        return page(
            request,
            "index.html",
            principal,
            status=422,
            values=_typed(form),
            errors=form_errors(exc, fields, speaker_for(request, principal)),
            **_list_context(request, filters),
        )
    with writing(request) as session:
        duplicate = service.same_link(session, data.link)
        if duplicate is not None and not form.get("confirm_duplicate"):
            return page(
                request,
                "index.html",
                principal,
                status=409,
                values=_typed(form),
                errors={},
                duplicate=service.as_dict(duplicate),
                **_list_context(request, filters),
            )
        moment = service.create(session, data=data, actor=principal.name)
    return RedirectResponse(f"/moments/{moment.id}?logged=1", status_code=303)


@router.get("/moments.csv")
def export_csv(request: Request, principal: SignedIn, filters: MomentFilters) -> Response:
    settings = settings_of(request)
    reader = speaker_for(request, principal)
    return csv_download(engine_of(request), filters, settings.timezone, reader)


@router.get("/moments/{moment_id}", response_class=HTMLResponse)
def view_moment(request: Request, moment_id: str, principal: SignedIn) -> Response:
    with db(request) as session:
        moment = service.get_or_raise(session, moment_id, include_deleted=principal.is_admin)
        state = service.sync_states(
            session, [moment.id], enabled=sheets.enabled(settings_of(request))
        )[moment.id]
        conversation = linked.conversation_for(session, moment.link)
        level = linked.service_level(conversation) if conversation else None
        trail = service.audit_trail(session, moment.id)
        tz = settings_of(request).timezone
        purchases = linked.purchases_after(session, moment, tz)
    return page(
        request,
        "moment.html",
        principal,
        moment=service.as_dict(moment),
        state=state,
        conversation=conversation,
        level=level,
        trail=trail,
        purchases=purchases,
        logged=request.query_params.get("logged"),
        saved=request.query_params.get("saved"),
        restored=request.query_params.get("restored"),
        changes_of=partial(history.describe_changes, language=language_of(request, principal)),
    )


def _editor(principal: Principal) -> None:
    if not principal.can_write:  # viewers see no edit form (and no hint that one exists)
        raise Refused(404, N_("Not found"), N_("No such moment to edit."), principal)


@router.get("/moments/{moment_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, moment_id: str, principal: SignedIn) -> Response:
    _editor(principal)
    with db(request) as session:
        data = service.as_dict(service.get_or_raise(session, moment_id))
    values = {
        **data,
        "people": ", ".join(data["people"]),
        "tags": ", ".join(data["tags"]),
        "occurred_on": data["occurred_on"].isoformat(),
    }
    return page(request, "edit.html", principal, moment=data, values=values, errors={})


@router.post("/moments/{moment_id}/edit", response_class=HTMLResponse)
@in_thread
def edit_moment(
    request: Request, form: FormData, moment_id: str, principal: WriterPosted
) -> Response:
    with writing(request) as session:
        moment = service.get_or_raise(session, moment_id)
        fields = _moment_fields(form)
        try:
            MomentCreate.model_validate(fields)  # the whole form must be valid
            data = MomentUpdate.model_validate(fields)
        except ValidationError as exc:
            return page(
                request,
                "edit.html",
                principal,
                status=422,
                moment=service.as_dict(moment),
                values=_typed(form),
                errors=form_errors(exc, fields, speaker_for(request, principal)),
            )
        service.update(session, moment=moment, data=data, actor=principal.name)
    return RedirectResponse(f"/moments/{moment_id}?saved=1", status_code=303)


@router.post("/moments/{moment_id}/delete")
@in_thread
def delete_moment(
    request: Request, form: FormData, moment_id: str, principal: WriterPosted
) -> Response:
    with writing(request) as session:
        moment = service.get(session, moment_id)
        if moment is not None:  # deleting twice is done already
            service.delete(session, moment=moment, actor=principal.name)
    return RedirectResponse(f"/?deleted={moment_id}", status_code=303)


@router.post("/moments/{moment_id}/undo")
@in_thread
def undo_delete(
    request: Request, form: FormData, moment_id: str, principal: WriterPosted
) -> Response:
    with writing(request) as session:
        moment = service.get(session, moment_id, include_deleted=True)
        undone = moment is not None and service.undo_delete(
            session, moment=moment, actor=principal.name
        )
    if not undone:
        return message_page(
            request,
            principal,
            status=409,
            title=N_("Too late to undo"),
            message=N_(
                "A delete can be taken back for {seconds} seconds by whoever made it; an admin "
                "can still restore the moment from Deleted moments."
            ),
            seconds=service.UNDO_S,
        )
    return RedirectResponse(f"/moments/{moment_id}?restored=1", status_code=303)


@router.post("/moments/{moment_id}/restore")
@in_thread
def restore_moment(
    request: Request, form: FormData, moment_id: str, principal: AdminPosted
) -> Response:
    with writing(request) as session:
        moment = service.get(session, moment_id, include_deleted=True)
        if moment is not None:
            service.restore(session, moment=moment, actor=principal.name)
    return RedirectResponse(f"/moments/{moment_id}", status_code=303)


@router.get("/deleted", response_class=HTMLResponse)
def deleted(request: Request, principal: AdminSignedIn, filters: MomentFilters) -> Response:
    listed = dataclasses.replace(filters, deleted=True)
    return page(request, "deleted.html", principal, **_list_context(request, listed))
