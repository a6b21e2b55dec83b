"""gRPC MomentsService (LogMoment, GetMoment, ListMoments) for other services, with health."""

from __future__ import annotations

import datetime as dt

import grpc
from pydantic import ValidationError
from rapport.moments.v1 import moments_pb2, moments_pb2_grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.common.grpc_serving import RunningGrpc, serve_grpc
from services.domain.auth import Caller, grpc_caller
from services.domain.tables import Moment
from services.moments import service, sheets
from services.moments.models import MomentBase, MomentCreate

SERVICE_NAME = moments_pb2.DESCRIPTOR.services_by_name["MomentsService"].full_name


def to_message(moment: Moment, sync_state: str) -> moments_pb2.Moment:
    """The message of the moment's fields as service.as_dict has them (proto3: "" for none)."""
    data = service.as_dict(moment)
    fields = {
        name: "" if data[name] is None else data[name]
        for name in ("id", *MomentBase.model_fields, "logged_by")
    }
    return moments_pb2.Moment(
        **{**fields, "occurred_on": moment.occurred_on.isoformat()},
        created_at=moment.created_at.isoformat() + "Z",
        updated_at=moment.updated_at.isoformat() + "Z",
        sheet_sync=sync_state,
    )


class MomentsServicer(moments_pb2_grpc.MomentsServiceServicer):
    def __init__(self, engine: Engine, *, admin_token: str | None, sheets_on: bool) -> None:
        self._engine = engine
        self._admin_token = admin_token
        self._sheets_on = sheets_on  # what the sync state of a moment says

    def _caller(self, context: grpc.ServicerContext, *, write: bool = False) -> Caller:
        return grpc_caller(context, self._engine, admin_token=self._admin_token, write=write)

    def _state(self, session: Session, moment_id: str) -> str:
        enabled = self._sheets_on
        return service.sync_states(session, [moment_id], enabled=enabled)[moment_id].state

    def LogMoment(
        self, request: moments_pb2.LogMomentRequest, context: grpc.ServicerContext
    ) -> moments_pb2.Moment:
        caller = self._caller(context, write=True)
        m = request.moment
        fields = {
            "occurred_on": m.occurred_on,
            "network": m.network,
            "link": m.link,
            "people": list(m.people),
            "customer_status": m.customer_status or "unknown",
            "change": m.change,
            "outcome": m.outcome or None,
            "initiated_by": m.initiated_by or None,
            "notes": m.notes or None,
            "tags": list(m.tags),
        }
        try:
            data = MomentCreate.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problems)
        with Session(self._engine, expire_on_commit=False) as session:
            moment = service.create(session, data=data, actor=caller.name)
            return to_message(moment, self._state(session, moment.id))

    def GetMoment(
        self, request: moments_pb2.GetMomentRequest, context: grpc.ServicerContext
    ) -> moments_pb2.Moment:
        self._caller(context)
        with Session(self._engine) as session:
            moment = service.get(session, request.id)
            if moment is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no moment with id {request.id!r}")
            assert moment is not None
            return to_message(moment, self._state(session, moment.id))

    def ListMoments(
        self, request: moments_pb2.ListMomentsRequest, context: grpc.ServicerContext
    ) -> moments_pb2.ListMomentsResponse:
        self._caller(context)
        try:
            filters = service.Filters(
                q=request.q or None,
                network=request.network or None,
                customer_status=request.customer_status or None,
                outcome=request.outcome or None,
                date_from=dt.date.fromisoformat(request.date_from) if request.date_from else None,
                date_to=dt.date.fromisoformat(request.date_to) if request.date_to else None,
            )
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"date_from/date_to: {exc}")
        page = max(1, request.page or 1)
        per_page = min(500, max(1, request.per_page or 50))
        with Session(self._engine) as session:
            moments, total = service.get_all(session, filters=filters, page=page, per_page=per_page)
            states = service.sync_states(session, [m.id for m in moments], enabled=self._sheets_on)
            return moments_pb2.ListMomentsResponse(
                moments=[to_message(m, states[m.id].state) for m in moments], total=total
            )


def start_grpc(
    engine: Engine, settings: Settings, *, port: int, host: str = "127.0.0.1"
) -> RunningGrpc:
    servicer = MomentsServicer(
        engine, admin_token=settings.rapport_admin_token, sheets_on=sheets.enabled(settings)
    )
    return serve_grpc(
        lambda server: moments_pb2_grpc.add_MomentsServiceServicer_to_server(servicer, server),
        service_name=SERVICE_NAME,
        host=host,
        port=port,
        workers=8,
        thread_prefix="moments-grpc",
    )
