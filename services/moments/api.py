"""The moments REST API under /api/v1/moments (bearer tokens; JSON; CSV export)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.common.deps import engine_of, settings_of
from services.common.openapi import problems
from services.moments import service, sheets
from services.moments.deps import ApiAdmin, ApiReader, ApiWriter, db, writing
from services.moments.filters import MomentFilters, csv_download
from services.moments.models import MomentCreate, MomentPublic, MomentUpdate, SheetSync

router = APIRouter(prefix="/api/v1", tags=["moments"])


class MomentPage(BaseModel):
    items: list[MomentPublic]
    total: int
    page: int
    per_page: int


def _sync_enabled(request: Request) -> bool:
    return sheets.enabled(settings_of(request))


def _public(request: Request, moment_id: str, *, include_deleted: bool = False) -> MomentPublic:
    with db(request) as session:
        moment = service.get_or_raise(session, moment_id, include_deleted=include_deleted)
        state = service.sync_states(session, [moment.id], enabled=_sync_enabled(request))
    return service.public(moment, state[moment.id])


def moment_or_404(request: Request, moment_id: str) -> MomentPublic:
    """The moment (not deleted) as the API shows it; service.MomentNotFound answers 404."""
    return _public(request, moment_id)


@router.post(
    "/moments",
    status_code=201,
    response_model=MomentPublic,
    responses=problems(400, 401, 403, 408, 413, s400="The body is not JSON"),
)
def create_moment(request: Request, body: MomentCreate, principal: ApiWriter) -> Any:
    with writing(request) as session:
        moment = service.create(session, data=body, actor=principal.name)
    # Just written, with its outbox row: no need to read either back.
    state = SheetSync(state="pending" if _sync_enabled(request) else "off")
    return service.public(moment, state)


@router.get("/moments", response_model=MomentPage, responses=problems(401))
def list_moments(
    request: Request,
    _principal: ApiReader,
    filters: MomentFilters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    with db(request) as session:
        moments, total = service.get_all(session, filters=filters, page=page, per_page=per_page)
        states = service.sync_states(
            session, [m.id for m in moments], enabled=_sync_enabled(request)
        )
    return {
        "items": [service.public(m, states[m.id]) for m in moments],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


@router.get(
    "/moments.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(401)},
)
def export_moments(
    request: Request, _principal: ApiReader, filters: MomentFilters
) -> StreamingResponse:
    settings = settings_of(request)
    return csv_download(engine_of(request), filters, settings.timezone)


@router.get("/moments/{moment_id}", response_model=MomentPublic, responses=problems(401, 404))
def get_moment(
    _principal: ApiReader, moment: Annotated[MomentPublic, Depends(moment_or_404)]
) -> Any:
    return moment


def _refuse_nulls(body: MomentUpdate) -> None:
    """PATCH may leave a required field out, not set it to null."""
    for name in ("occurred_on", "network", "link", "people", "change", "customer_status", "tags"):
        if name in body.model_fields_set and getattr(body, name) is None:
            raise HTTPException(
                422, [{"loc": ["body", name], "msg": "cannot be null", "type": "value_error"}]
            )


@router.patch(
    "/moments/{moment_id}",
    response_model=MomentPublic,
    responses=problems(400, 401, 403, 404, 408, 413, s400="The body is not JSON"),
)
def patch_moment(request: Request, moment_id: str, body: MomentUpdate, principal: ApiWriter) -> Any:
    with writing(request) as session:
        moment = service.get_or_raise(session, moment_id)
        _refuse_nulls(body)
        service.update(session, moment=moment, data=body, actor=principal.name)
    return _public(request, moment_id)


@router.delete("/moments/{moment_id}", status_code=204, responses=problems(401, 403, 404))
def delete_moment(request: Request, moment_id: str, principal: ApiWriter) -> Response:
    with writing(request) as session:
        moment = service.get_or_raise(session, moment_id)
        service.delete(session, moment=moment, actor=principal.name)
    return Response(status_code=204)


@router.post(
    "/moments/{moment_id}/restore",
    response_model=MomentPublic,
    responses=problems(401, 403, 404),
)
def restore_moment(request: Request, moment_id: str, principal: ApiAdmin) -> Any:
    with writing(request) as session:
        moment = service.get_or_raise(session, moment_id, include_deleted=True)
        service.restore(session, moment=moment, actor=principal.name)
    return _public(request, moment_id, include_deleted=False)
