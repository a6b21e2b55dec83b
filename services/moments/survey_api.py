"""POST /api/v1/surveys: a signed survey link for one support conversation (managers and
admins; docs/using.md#customer-satisfaction-surveys)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from services.common.deps import settings_of
from services.common.openapi import problems
from services.domain.vocabulary import NETWORK_NAMES
from services.moments import surveys
from services.moments.deps import ApiWriter

router = APIRouter(prefix="/api/v1", tags=["surveys"])


# Any network's name or alias; a conversation id short enough for the event id it becomes
# (`survey:{network}:{conversation_id}` within 128 characters, for the longest network name).
NetworkName = Literal[tuple(sorted(NETWORK_NAMES))]  # type: ignore[valid-type]
CONVERSATION_LIMIT = surveys.EVENT_ID_LIMIT - len("survey::") - max(map(len, NETWORK_NAMES))


class SurveyCreate(BaseModel):
    network: NetworkName  # type: ignore[valid-type]
    conversation_id: Annotated[
        str,
        StringConstraints(min_length=1, max_length=CONVERSATION_LIMIT, pattern="^[^\\x00]+$"),
    ]


class SurveyLink(BaseModel):
    url: str = Field(description="{MOMENTS_PUBLIC_URL}/s/{token}: send it to the customer")
    expires_at: str = Field(description="RFC 3339, UTC (RAPPORT_SURVEY_DAYS after now)")


@router.post(
    "/surveys",
    status_code=201,
    response_model=SurveyLink,
    responses=problems(400, 401, 403, 408, 413, s400="The body is not JSON"),
)
def create_survey(request: Request, body: SurveyCreate, _principal: ApiWriter) -> Any:
    settings = settings_of(request)
    key = surveys.signing_key(settings)
    try:
        survey = surveys.mint(
            key,
            network=body.network,
            conversation_id=body.conversation_id,
            days=settings.rapport_survey_days,
            now=time.time(),
        )
    except surveys.BadLink as exc:
        field = str(exc).split(":", 1)[0]
        detail = [{"loc": ["body", field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
    expires = dt.datetime.fromtimestamp(survey.expires_at, dt.UTC)
    return {
        "url": surveys.url_of(settings, surveys.token_of(key, survey)),
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }
