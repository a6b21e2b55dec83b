"""Schemathesis against the OpenAPI of ingest and moments, authenticated: no 5xx, answers match."""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.domain.auth import Role, create_token
from services.ingest.app import create_app as create_ingest
from services.moments.app import create_app as create_moments
from tests.conftest import Broker

# Local runs explore new cases every time; CI replays a fixed set, so a red build is
# reproducible and never a coin toss (a finding made locally becomes a fix and a test).
IN_CI = os.environ.get("CI") == "true"
# Checks that cannot hold for two operations, by design:
# - POST /v1/interactions accepts a batch in part: each bad event is listed in the 202 answer
#   (docs/figures.md), so a batch holding one schema-invalid event is rightly not refused whole.
# - POST /v1/imports/{source} takes any bytes by schema; whether they are a readable export is
#   the parser's call (422 naming the problem), which no schema can say.
# - GET /v1/conversations refuses an `as_of` outside `year` and a `cursor` it did not give out
#   (422 naming them): a rule across two fields and an opaque token, which no schema can say.
# - POST /v1/webhooks/*: the body is whatever the platform sends, checked by its signature
#   first (401 unsigned or forged), which no schema can say either.
EXEMPT = {
    "POST /v1/interactions": [negative_data_rejection],
    "POST /v1/imports/{source}": [positive_data_acceptance],
    "GET /v1/conversations": [positive_data_acceptance],
    "POST /v1/webhooks/meta": [positive_data_acceptance],
    "POST /v1/webhooks/x": [positive_data_acceptance],
    "POST /v1/webhooks/chatwoot": [positive_data_acceptance],
}
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _writer_token(engine: Engine) -> str:
    with Session(engine) as session:
        return create_token(session, name="fuzz", role=Role.admin)


@pytest.fixture
def ingest_schema(broker: Broker, db_url: str, engine: Engine) -> OpenApiSchema:
    config = Settings(  # type: ignore[call-arg]
        database_url=db_url,
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_topic="fuzz-interactions",
        kafka_dlq_topic="fuzz-dlq",
        ingest_grpc_port=0,
        _env_file=None,
    )
    app: FastAPI = create_ingest(config, engine=engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema


@pytest.fixture
def moments_schema(db_url: str, engine: Engine) -> OpenApiSchema:
    config = Settings(database_url=db_url, moments_grpc_port=0, _env_file=None)  # type: ignore[call-arg]
    app = create_moments(config, engine=engine, sync_sheets=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema


def _fuzz(schema: OpenApiSchema, token: str) -> list[str]:
    """Every operation, schema-valid and schema-invalid cases; returns what was exercised."""
    exercised = []
    for result, mode in itertools.product(schema.get_all_operations(), GenerationMode):
        operation = result.ok()

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=IN_CI,
        )
        @given(case=operation.as_strategy(mode))
        def check(case: Case) -> None:
            # A moment dated in the future is refused by design, which a schema cannot say.
            body = case.body if isinstance(case.body, dict) else {}
            assume(str(body.get("occurred_on", "")) <= TOMORROW)
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=EXEMPT.get(case.operation.label, []),
            )

        try:
            check()
        except Unsatisfiable:  # nothing to get wrong: e.g. GET /healthz has no inputs to negate
            continue
        exercised.append(f"{mode} {operation.label}")
    return exercised


def test_ingest_api(ingest_schema: OpenApiSchema, engine: Engine) -> None:
    done = _fuzz(ingest_schema, _writer_token(engine))
    assert {"positive POST /v1/interactions", "negative POST /v1/imports/{source}"} <= set(done)


def test_moments_api(moments_schema: OpenApiSchema, engine: Engine) -> None:
    done = _fuzz(moments_schema, _writer_token(engine))
    assert {"positive POST /api/v1/moments", "negative PATCH /api/v1/moments/{moment_id}"} <= set(
        done
    )
