"""REST API /api/v1/moments: CRUD, validation naming fields, roles, filters, CSV safety."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.domain.auth import Role
from tests.factories_moments import moment

ADMIN = {"Authorization": "Bearer test-admin-token"}


def test_create_get_patch_delete_restore(
    app_client: TestClient, token: Callable[[Role], dict[str, str]]
) -> None:
    manager = token(Role.manager)
    created = app_client.post(
        "/api/v1/moments", json=moment(people=["@ana", "Ana Díaz", "@ana"]), headers=manager
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["people"] == ["@ana", "Ana Díaz"]
    assert body["logged_by"] == "token:manager-token"
    assert body["sheet_sync"] == {"state": "off", "attempts": 0, "error": None}
    moment_id = body["id"]
    assert (
        app_client.get(f"/api/v1/moments/{moment_id}", headers=manager).json()["change"]
        == body["change"]
    )
    patched = app_client.patch(
        f"/api/v1/moments/{moment_id}", json={"outcome": "advocacy"}, headers=manager
    )
    assert patched.status_code == 200 and patched.json()["outcome"] == "advocacy"
    assert app_client.delete(f"/api/v1/moments/{moment_id}", headers=manager).status_code == 204
    assert app_client.get(f"/api/v1/moments/{moment_id}", headers=manager).status_code == 404
    assert (
        app_client.post(f"/api/v1/moments/{moment_id}/restore", headers=manager).status_code == 403
    )
    restored = app_client.post(f"/api/v1/moments/{moment_id}/restore", headers=ADMIN)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"link": "not a url"}, "link", id="bad-link"),
        pytest.param({"link": None}, "link", id="missing-link"),
        pytest.param({"network": "myspace"}, "network", id="bad-network"),
        pytest.param({"people": []}, "people", id="nobody"),
        pytest.param({"change": "   "}, "change", id="blank-change"),
        pytest.param({"customer_status": "vip"}, "customer_status", id="bad-status"),
        pytest.param(
            {"occurred_on": (dt.date.today() + dt.timedelta(days=5)).isoformat()},
            "occurred_on",
            id="future",
        ),
        pytest.param({"occurred_on": "31/12/2025"}, "occurred_on", id="bad-date"),
        pytest.param({"outcome": "world_peace"}, "outcome", id="bad-outcome"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    ],
)
def test_validation_errors_name_the_field(
    app_client: TestClient, overrides: dict[str, Any], field: str
) -> None:
    response = app_client.post("/api/v1/moments", json=moment(**overrides), headers=ADMIN)
    assert response.status_code == 422
    assert field in [err["loc"][-1] for err in response.json()["detail"]]


def test_roles_and_tokens(app_client: TestClient, token: Callable[[Role], dict[str, str]]) -> None:
    viewer = token(Role.viewer)
    assert app_client.post("/api/v1/moments", json=moment()).status_code == 401
    assert (
        app_client.post(
            "/api/v1/moments", json=moment(), headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    assert app_client.post("/api/v1/moments", json=moment(), headers=viewer).status_code == 403
    assert app_client.get("/api/v1/moments", headers=viewer).status_code == 200


def test_filters_search_and_pagination(app_client: TestClient) -> None:
    app_client.post(
        "/api/v1/moments",
        json=moment(network="instagram", people=["@zoe"], change="Became an advocate"),
        headers=ADMIN,
    )
    for _ in range(5):
        app_client.post("/api/v1/moments", json=moment(customer_status="prospect"), headers=ADMIN)
    listed = app_client.get(
        "/api/v1/moments", params={"per_page": 2, "page": 2}, headers=ADMIN
    ).json()
    assert (listed["total"], len(listed["items"]), listed["page"]) == (6, 2, 2)
    assert (
        app_client.get("/api/v1/moments", params={"network": "instagram"}, headers=ADMIN).json()[
            "total"
        ]
        == 1
    )
    assert (
        app_client.get("/api/v1/moments", params={"q": "ADVOCATE"}, headers=ADMIN).json()["total"]
        == 1
    )
    assert (
        app_client.get("/api/v1/moments", params={"q": "zoe"}, headers=ADMIN).json()["total"] == 1
    )
    assert (
        app_client.get(
            "/api/v1/moments", params={"customer_status": "prospect"}, headers=ADMIN
        ).json()["total"]
        == 5
    )
    assert (
        app_client.get("/api/v1/moments", params={"network": "myspace"}, headers=ADMIN).status_code
        == 422
    )


def test_csv_export_neutralises_formulas(app_client: TestClient) -> None:
    payloads = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)"]
    for text in payloads:
        app_client.post(
            "/api/v1/moments",
            json=moment(change=text, people=[text], notes="\t=1+1"),
            headers=ADMIN,
        )
    response = app_client.get("/api/v1/moments.csv", headers=ADMIN)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(payloads)
    for row in rows:
        assert row["change"].startswith("'"), row["change"]
        assert row["people"].startswith("'")
        assert row["notes"] == "'\t=1+1"


def test_openapi_and_health(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/moments", "/api/v1/moments/{moment_id}", "/api/v1/moments.csv"} <= set(paths)
    assert app_client.get("/healthz").json() == {"status": "ok"}
    assert app_client.get("/readyz").json()["ready"] is True
    app_client.post("/api/v1/moments", json=moment(), headers=ADMIN)
    assert 'rapport_moments_logged_total{network="twitter"}' in app_client.get("/metrics").text


def test_patch_obeys_the_rules_of_post(app_client: TestClient) -> None:
    created = app_client.post("/api/v1/moments", json=moment(network="facebook"), headers=ADMIN)
    moment_id = created.json()["id"]
    patched = app_client.patch(
        f"/api/v1/moments/{moment_id}",
        json={"network": " X ", "people": ["@ana", " @bo ", "@ana"], "change": "  Renewed.  "},
        headers=ADMIN,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["network"] == "twitter"
    assert body["people"] == ["@ana", "@bo"]
    assert body["change"] == "Renewed."
    refused = app_client.patch(f"/api/v1/moments/{moment_id}", json={"people": []}, headers=ADMIN)
    assert refused.status_code == 422 and "people" in refused.text


def test_the_update_model_offers_exactly_the_create_fields() -> None:
    from services.moments.models import MomentBase, MomentUpdate

    assert set(MomentUpdate.model_fields) == set(MomentBase.model_fields)


def test_concurrent_api_posts_all_land(app_client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(number: int) -> int:
        return app_client.post(
            "/api/v1/moments", json=moment(change=f"moment {number}"), headers=ADMIN
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, range(48)))
    assert statuses == [201] * 48
    assert app_client.get("/api/v1/moments", headers=ADMIN).json()["total"] == 48


def test_csv_export_streams_and_keeps_to_one_cap(
    app_client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import Session

    from services.moments import service
    from services.moments.models import MomentCreate

    with Session(engine) as session:
        for number in range(1_200):
            service.create(
                session,
                data=MomentCreate.model_validate(moment(change=f"moment {number}")),
                actor="bulk",
            )
    chunks = list(service.export_csv(engine, filters=service.Filters()))
    assert len(chunks) >= 3  # written and sent a few hundred rows at a time
    assert sum(c.count("\n") for c in chunks) == 1_201
    monkeypatch.setattr(service, "EXPORT_MAX_ROWS", 1_000)
    rows = list(csv.reader(io.StringIO(app_client.get("/api/v1/moments.csv", headers=ADMIN).text)))
    assert len(rows) == 1 + 1_000


@pytest.mark.parametrize(
    ("pasted", "stored"),
    [
        pytest.param(
            "https://x.com/ana/status/42?s=46&t=AbCdEf", "https://x.com/ana/status/42", id="x-share"
        ),
        pytest.param(
            "https://www.instagram.com/p/Cx1/?igsh=MWQ&utm_source=ig_web_copy_link",
            "https://www.instagram.com/p/Cx1/",
            id="instagram-share",
        ),
        pytest.param(
            "https://www.facebook.com/permalink.php?story_fbid=1&id=2&mibextid=Nif5oz",
            "https://www.facebook.com/permalink.php?story_fbid=1&id=2",
            id="facebook-keeps-what-names-the-post",
        ),
    ],
)
def test_pasted_links_lose_their_trackers_so_they_match_the_conversation(
    app_client: TestClient, token: Callable[[Role], dict[str, str]], pasted: str, stored: str
) -> None:
    created = app_client.post(
        "/api/v1/moments", json=moment(link=pasted), headers=token(Role.manager)
    )
    assert created.status_code == 201, created.text
    assert created.json()["link"] == stored


def test_the_newer_networks_are_known_by_their_links() -> None:
    from services.moments.models import guess_network

    assert guess_network("https://www.threads.net/@ana/post/C1") == "threads"
    assert guess_network("https://bsky.app/profile/ana.bsky.social/post/3k") == "bluesky"
    assert guess_network("https://pin.it/1AbC") == "pinterest"
    assert guess_network("https://wa.me/905551234567") == "whatsapp"
