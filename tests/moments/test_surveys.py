"""Survey links (docs/using.md#customer-satisfaction-surveys): minted by the API and the CLI,
signed and expiring; the public page in the customer's language; the answer published to Kafka
as a `rating` event and written by the real consumer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.requests import Request

from services.cli import main
from services.common.config import Settings
from services.domain.auth import Role
from services.ingest.sink import write_batch
from services.moments import surveys
from services.moments.app import create_app
from services.moments.web import survey_page
from tests.factories import batch, message
from tests.ingest.helpers import running_consumer, wait_until

SECRET = "survey-test-secret"
UTC = ZoneInfo("UTC")


@pytest.fixture
def survey_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rapport_survey_secret": SECRET, "moments_grpc_port": 0,
                "moments_public_url": "https://help.example"}
    )  # fmt: skip


@pytest.fixture
def client(survey_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    # Each test starts with the limits untouched (they live as long as the process).
    for limiter in (survey_page.PER_TOKEN, survey_page.PER_ADDRESS):
        limiter._hits.clear()
    app = create_app(survey_settings, engine=engine, sync_sheets=False)
    with TestClient(app) as c:
        yield c


def link(client: TestClient, headers: dict[str, str], **body: str) -> Any:
    return client.post("/api/v1/surveys", json=body, headers=headers)


def path_of(url: str) -> str:
    return url.removeprefix("https://help.example")


def minted(conversation: str = "c1", network: str = "twitter", days: int = 30) -> str:
    key = SECRET.encode()
    survey = surveys.mint(key, network=network, conversation_id=conversation, days=days,
                          now=time.time())  # fmt: skip
    return f"/s/{surveys.token_of(key, survey)}"


def rating_of(engine: Engine, conversation: str) -> tuple[Any, ...] | None:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT rating, rating_comment, account FROM support_conversation "
                 "WHERE conversation_id = :c"), {"c": conversation},
        ).first()  # fmt: skip
    return tuple(row) if row else None


def test_managers_mint_links_viewers_cannot(
    client: TestClient, token: Callable[[Role], dict[str, str]]
) -> None:
    made = link(client, token(Role.manager), network="x", conversation_id="c1")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["url"].startswith("https://help.example/s/") and body["expires_at"].endswith("Z")
    assert client.get(path_of(body["url"])).status_code == 200
    assert link(client, token(Role.viewer), network="x", conversation_id="c1").status_code == 403
    assert link(client, {}, network="x", conversation_id="c1").status_code == 401
    bad = link(client, token(Role.admin), network="myspace", conversation_id="c1")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "network"]
    long = link(client, token(Role.admin), network="x", conversation_id="c" * 150)
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == [
        "body",
        "conversation_id",
    ]


def test_the_cli_prints_a_link_the_page_accepts(
    client: TestClient, survey_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("RAPPORT_SURVEY_SECRET", SECRET)
    monkeypatch.setenv("MOMENTS_PUBLIC_URL", "https://help.example")
    from services.common.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["surveys", "link", "--network", "email", "--conversation", "t-9"]) == 0
    finally:
        get_settings.cache_clear()
    url = capsys.readouterr().out.splitlines()[0]
    assert client.get(path_of(url)).status_code == 200


def test_the_key_is_made_once_and_kept(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    unset = Settings(_env_file=None)  # type: ignore[call-arg]
    first = surveys.signing_key(unset)
    assert first == surveys.signing_key(unset) and len(first) >= 32
    assert (tmp_path / "var" / "survey-secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), id="signature-altered"),
        pytest.param(lambda t: "eyJ4Ijox" + t[8:], id="body-altered"),
        pytest.param(lambda t: t.split(".")[0], id="no-signature"),
        pytest.param(lambda t: "garbage", id="forged"),
    ],
)
def test_forged_and_altered_links_are_no_longer_valid(client: TestClient, tamper: Any) -> None:
    token = minted().removeprefix("/s/")
    for method in (client.get, client.post):
        page = method(f"/s/{tamper(token)}")
        assert page.status_code == 404
        assert "This link is no longer valid" in page.text


def test_a_link_signed_with_another_key_or_expired_is_refused(client: TestClient) -> None:
    other = surveys.token_of(b"another key", surveys.mint(
        b"another key", network="x", conversation_id="c1", days=30, now=time.time()))  # fmt: skip
    assert client.get(f"/s/{other}").status_code == 404
    key = SECRET.encode()
    old = surveys.mint(
        key, network="x", conversation_id="c1", days=30, now=time.time() - 31 * 86_400
    )
    assert client.get(f"/s/{surveys.token_of(key, old)}").status_code == 404


def test_an_answer_becomes_a_rating_and_answering_again_replaces_it(
    client: TestClient, survey_settings: Settings, engine: Engine
) -> None:
    write_batch(engine, [batch(message("message_received", "c1", "2026-03-02T10:00:00Z",
                                       account="@help"))], UTC)  # fmt: skip
    path = minted("c1")
    first = client.post(path, data={"rating": "2", "comment": "<script>alert(1)</script>"})
    assert first.status_code == 200, first.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first.text and "<script>" not in first.text
    with running_consumer(survey_settings, engine):
        wait_until(lambda: rating_of(engine, "c1") == (2, "<script>alert(1)</script>", "@help"),
                   what="the first answer")  # fmt: skip
        # Opened again, the link shows the answer given, comment included, to change or keep.
        again = client.get(path)
        assert (
            'value="2" required checked' in again.text and "You have already answered" in again.text
        )
        assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in again.text
        # The latest answer wins whole: sent without the comment, it has none.
        assert client.post(path, data={"rating": "5", "comment": ""}).status_code == 200
        wait_until(lambda: rating_of(engine, "c1") == (5, None, "@help"), what="the second")
    unanswered = client.get(minted("c9"))
    assert "checked" not in unanswered.text and "You have already answered" not in unanswered.text
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT event_id FROM interaction_event WHERE kind = 'rating'"))
        assert [i for (i,) in ids] == ["survey:twitter:c1"]


@pytest.mark.parametrize(
    ("form", "shows"),
    [
        pytest.param({"rating": "6"}, "Please choose one of the five answers.", id="six"),
        pytest.param({"rating": "0"}, "Please choose one of the five answers.", id="zero"),
        pytest.param({"rating": "-1"}, "Please choose one of the five answers.", id="negative"),
        pytest.param({"comment": "no rating"}, "Please choose one of the five answers.", id="none"),
        pytest.param({"rating": "4", "comment": "<b>" + "x" * 10_240}, "1,000 characters",
                     id="a-10-KB-comment"),
    ],
)  # fmt: skip
def test_bad_answers_are_refused_and_kept_as_typed(
    client: TestClient, form: dict[str, str], shows: str
) -> None:
    page = client.post(minted(), data=form)
    assert page.status_code == 422
    assert shows in page.text
    if "comment" in form:
        assert str(escape(form["comment"])) in page.text and "<b>" not in page.text


def test_the_page_speaks_the_customers_language(client: TestClient) -> None:
    path = minted()
    english = client.get(path)
    assert '<html lang="en" dir="ltr">' in english.text and "How did we do?" in english.text
    asked = [("fa-IR,fa;q=0.9", "fa", "rtl"), ("ar", "ar", "rtl"), ("tr-TR", "tr", "ltr"),
             ("fi;q=0.8, xx", "fi", "ltr")]  # fmt: skip
    for header, lang, direction in asked:
        page = client.get(path, headers={"Accept-Language": header})
        assert f'<html lang="{lang}" dir="{direction}">' in page.text
        assert "How did we do?" not in page.text, lang
    gone = client.get("/s/forged", headers={"Accept-Language": "tr"})
    assert gone.status_code == 404 and "This link is no longer valid" not in gone.text


def test_the_page_is_light_and_self_contained(client: TestClient) -> None:
    page = client.get(minted())
    css = client.get("/static/survey.css")
    assert len(page.content) + len(css.content) < 30 * 1024
    # Nothing from elsewhere: every src and href is this site's own.
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert ref.startswith("/") and not ref.startswith("//"), ref
    assert page.headers["cache-control"] == "no-store"
    # Mirrored by dir="rtl" alone: no physical left/right in the stylesheet.
    assert not re.search(r"\b(left|right)\b", css.text)


def test_answers_are_rate_limited_per_link(client: TestClient) -> None:
    path = minted("busy")
    answers = [client.post(path, data={"rating": "9"}).status_code for _ in range(7)]
    assert answers == [422] * 5 + [429, 429]
    other = client.post(minted("calm"), data={"rating": "9"})
    assert other.status_code == 422  # another link from the same address still answers


def _request(content_type: str, body: bytes) -> Request:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/s/x", "query_string": b"",
             "headers": [(b"content-type", content_type.encode())]}  # fmt: skip
    return Request(scope, receive)


@pytest.mark.parametrize(
    "content_type, body",
    [
        pytest.param("application/x-www-form-urlencoded", b"rating=4&comment=", id="page"),
        pytest.param(
            "application/x-www-form-urlencoded", b"rating=3&comment=a+b%20c%26d%3D", id="escaped"
        ),
        pytest.param(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"comment=%C3%A7ok+g%C3%BCzel&rating=5",
            id="percent-utf8",
        ),
        pytest.param(
            "application/x-www-form-urlencoded", "comment=çok güzel".encode(), id="raw-utf8"
        ),
        pytest.param("application/x-www-form-urlencoded", b"rating=1&rating=5", id="repeated"),
        pytest.param("application/x-www-form-urlencoded", b"", id="empty"),
        pytest.param("application/x-www-form-urlencoded", b"rating=2;comment=x", id="semicolon"),
        pytest.param("application/x-www-form-urlencoded", b"rating&comment=x", id="no-value"),
        pytest.param("application/x-www-form-urlencoded", b"rating=2&&comment=x", id="empty-part"),
        pytest.param("application/x-www-form-urlencoded", b"%ZZ=1&rating=%E2%82", id="bad-escapes"),
        pytest.param(
            "application/x-www-form-urlencoded",
            b"&".join(b"f%d=%d" % (n, n) for n in range(20)) + b"&rating=3",
            id="many-fields",
        ),
        pytest.param(
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="rating"\r\n\r\n4\r\n--b--\r\n',
            id="multipart",
        ),
        pytest.param("text/plain", b"rating=4", id="not-a-form"),
    ],
)
def test_the_page_reads_its_form_as_starlette_does(content_type: str, body: bytes) -> None:
    async def both() -> tuple[dict[str, object], dict[str, object]]:
        ours = dict(await survey_page._form(_request(content_type, body)))
        theirs = dict((await _request(content_type, body).form()).items())
        return ours, theirs

    ours, theirs = asyncio.run(both())
    assert ours == theirs
