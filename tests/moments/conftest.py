"""Moments fixtures: the app on a real database, logged-in browser clients per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.config import Settings
from services.domain import accounts
from services.domain.auth import Role, create_token
from services.moments.app import create_app
from tests.support.sheets_server import SheetsServer

PASSWORD = "correct horse battery"


@pytest.fixture
def moments_settings(db_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=db_url,
        rapport_admin_token="test-admin-token",
        moments_grpc_port=0,
        _env_file=None,
    )


@pytest.fixture
def app_client(moments_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(moments_settings, engine=engine, sync_sheets=False)) as client:
        yield client


@pytest.fixture
def make_user(engine: Engine) -> Callable[[str, Role], str]:
    def make(username: str, role: Role) -> str:
        with Session(engine) as session:
            accounts.create(session, username=username, password=PASSWORD, role=role)
        return username

    return make


@pytest.fixture
def token(engine: Engine) -> Callable[[Role], dict[str, str]]:
    def make(role: Role) -> dict[str, str]:
        with Session(engine) as session:
            value = create_token(session, name=f"{role.value}-token", role=role)
        return {"Authorization": f"Bearer {value}"}

    return make


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


@pytest.fixture
def manager(app_client: TestClient, make_user: Callable[[str, Role], str]) -> TestClient:
    make_user("maria", Role.manager)
    return login(app_client, "maria")


@pytest.fixture
def sheets_server() -> Iterator[SheetsServer]:
    server = SheetsServer().start()
    yield server
    server.stop()


@pytest.fixture
def sheet_settings(
    moments_settings: Settings, sheets_server: SheetsServer, tmp_path: Path
) -> Settings:
    return moments_settings.model_copy(
        update={
            "google_application_credentials": str(sheets_server.credentials_file(tmp_path)),
            "sheets_spreadsheet_id": sheets_server.spreadsheet_id,
            "google_sheets_api_url": sheets_server.url,
        }
    )
