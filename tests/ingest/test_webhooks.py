"""Platform webhooks through the real broker and consumer, on SQLite and PostgreSQL: each source's
handshake, signature check, mapping and redelivery rule, against a local stand-in that signs as
the platform does and posts its documented sample payloads and real deliveries
(tests/ingest/samples/webhooks/README.md says where each comes from)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from tests.ingest.helpers import event_count, running_consumer, wait_until
from tests.support import platforms
from tests.support.platforms import sample

SECRETS = {
    "meta_app_secret": "meta-app-secret-1",
    "meta_verify_token": "chosen-verify-token",
    "x_consumer_secret": "x-consumer-secret-1",
    "chatwoot_webhook_secret": "chatwoot-secret-1",
}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.model_copy(update=SECRETS)
    with TestClient(create_app(configured, engine=engine)) as c:
        yield c


@pytest.fixture
def off_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def dead_letters(settings: Settings) -> list[dict[str, object]]:
    consumer = KafkaConsumer(
        settings.kafka_dlq_topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    letters = [orjson.loads(r.value) for r in consumer]
    consumer.close()
    return letters


def test_every_source_is_off_without_its_secret(off_client: TestClient) -> None:
    assert off_client.get("/v1/webhooks/meta", params={"hub.mode": "subscribe"}).status_code == 404
    assert off_client.post("/v1/webhooks/meta", content=b"{}").status_code == 404
    assert off_client.get("/v1/webhooks/x", params={"crc_token": "t"}).status_code == 404
    assert off_client.post("/v1/webhooks/x", content=b"{}").status_code == 404
    assert off_client.post("/v1/webhooks/chatwoot", content=b"{}").status_code == 404


def test_meta_handshake(client: TestClient) -> None:
    meta = platforms.Meta(client, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"])
    answer = meta.subscribe(challenge="1158201444")
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert meta.subscribe(token="guessed").status_code == 403


def test_meta_deliveries_map_once_and_redeliveries_replace(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    meta = platforms.Meta(client, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"])
    page, instagram = sample("meta_page.json"), sample("meta_instagram.json")
    first = meta.deliver(page)
    assert first.status_code == 200, first.text
    # A comment, a reaction, the user's message and the Page's echo; the Page's own status
    # and the read receipt are skipped.
    assert first.json() == {"accepted": 4, "dead_lettered": 0, "skipped": 2}
    second = meta.deliver(instagram)
    assert second.json() == {"accepted": 2, "dead_lettered": 1, "skipped": 0}  # story_insights
    assert meta.deliver(page).status_code == 200  # Meta redelivers
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 6, what="six events")
        time.sleep(1)  # the redelivery too, if it were to add anything
    assert event_count(engine) == 6
    kinds = dict(rows(engine, "SELECT event_id, kind FROM interaction_event"))
    assert kinds["meta:comment:1067280970047460_5521_9911"] == "comment"
    assert kinds["meta:reaction:1067280970047460_5521:35353535353"] == "like"
    assert kinds["meta:ig_comment:17865799348089039"] == "comment"
    [(_first_inbound, first_response)] = rows(
        engine,
        "SELECT first_inbound_at, first_response_s FROM support_conversation "
        "WHERE conversation_id = '1067280970047460:6789012345678901'",
    )
    assert first_response == pytest.approx(600.333)
    letters = [d for d in dead_letters(settings) if d["source"] == "webhook:meta"]
    assert letters and "story_insights" in str(letters[0]["error"])


@pytest.mark.parametrize(
    ("signature", "outcome"),
    [pytest.param("forged", 401, id="forged"), pytest.param(None, 401, id="unsigned")],
)
def test_meta_refuses_forged_and_unsigned(
    client: TestClient, settings: Settings, engine: Engine, signature: str | None, outcome: int
) -> None:
    body = orjson.dumps(sample("meta_page.json"))
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    response = client.post("/v1/webhooks/meta", content=body, headers=headers)
    assert response.status_code == outcome
    metrics = client.get("/metrics").text
    reason = "forged" if signature else "unsigned"
    assert f'rapport_ingest_webhook_requests_total{{outcome="{reason}",source="meta"}}' in metrics
    with running_consumer(settings, engine):
        time.sleep(1.5)
    assert event_count(engine) == 0  # nothing published


def test_x_crc_and_account_activity(client: TestClient, settings: Settings, engine: Engine) -> None:
    x = platforms.X(client, SECRETS["x_consumer_secret"])
    crc = x.crc("9b4507b3-9e3e-4f5a-a9ba-1cc4b3ea0a0b")
    assert crc.json() == {"response_token": x.expected_crc("9b4507b3-9e3e-4f5a-a9ba-1cc4b3ea0a0b")}
    activity = x.deliver(sample("x_activity.json"))
    assert activity.json() == {"accepted": 4, "dead_lettered": 0, "skipped": 1}  # own tweet
    dms = x.deliver(sample("x_dm.json"))
    assert dms.json()["accepted"] == 2
    assert x.deliver(sample("x_activity.json"), secret="not-the-secret").status_code == 401
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 6, what="six X events")
    kinds = sorted(k for (k,) in rows(engine, "SELECT kind FROM interaction_event"))
    assert kinds == ["follow", "like", "mention", "message_received", "message_sent", "reply"]
    [(seconds,)] = rows(
        engine,
        "SELECT first_response_s FROM support_conversation "
        "WHERE conversation_id = 'dm:2244994945:3805104374'",
    )
    assert seconds == 1200


def test_chatwoot_messages_and_resolution(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    chatwoot = platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"])
    for name in ("chatwoot_incoming.json", "chatwoot_outgoing.json", "chatwoot_resolved.json"):
        response = chatwoot.deliver(sample(name))
        assert response.status_code == 200 and response.json()["accepted"] == 1, response.text
    chatwoot.deliver(sample("chatwoot_outgoing.json"))  # a redelivery
    private = {**sample("chatwoot_outgoing.json"), "id": 4003, "private": True}
    assert chatwoot.deliver(private).json() == {"accepted": 0, "dead_lettered": 0, "skipped": 1}
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 3, what="three Chatwoot events")
    [(network, account, response_s, resolution_s, agent)] = rows(
        engine,
        "SELECT network, account, first_response_s, resolution_s, agent FROM support_conversation",
    )
    assert (network, account, response_s, resolution_s, agent) == (
        "email", "chatwoot-inbox-5", 1200.0, 3600.0, "lucia",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("at", "secret", "reason"),
    [
        pytest.param(time.time() - 3600, None, "stale", id="an-hour-old"),
        pytest.param(None, "wrong-secret", "forged", id="forged"),
    ],
)
def test_chatwoot_refuses_stale_and_forged(
    client: TestClient, at: float | None, secret: str | None, reason: str
) -> None:
    chatwoot = platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"])
    response = chatwoot.deliver(sample("chatwoot_incoming.json"), at=at, secret=secret)
    assert response.status_code == 401 and reason in response.text
    assert client.post("/v1/webhooks/chatwoot", content=b"{}").status_code == 401  # unsigned


PAGE = "1067280970047460"
SHREK, BUDD = "2382763597", "43194865"  # the two X accounts of X's sample tweets


def to_page(payload: dict[str, Any], page: str) -> dict[str, Any]:
    """A RestFB delivery addressed to another Page: RestFB anonymised the Page and the person to
    one id, and this is the one change that makes the person a visitor (samples README)."""
    return {**payload, "entry": [{**entry, "id": page} for entry in payload["entry"]]}


def account_activity(brand: str, **events: Any) -> dict[str, Any]:
    """X's Account Activity envelope (https://docs.x.com/x-api/account-activity/introduction)."""
    return {"for_user_id": brand, **events}


def totals(engine: Engine, network: str) -> dict[str, int]:
    return {
        str(kind): int(total)
        for kind, total in rows(
            engine,
            "SELECT kind, SUM(count) FROM interaction_event "
            f"WHERE network = '{network}' GROUP BY kind",
        )
    }


def test_meta_real_deliveries_map_as_meant(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    """RestFB's anonymised deliveries: a reaction added, changed (verb "edit") and removed; a
    reaction on a comment beside it; a v2.5 like; a comment added and another removed; a share;
    a visitor's post; the Page's own status; a message and a read receipt; Instagram's comment,
    the account's own comment, a mention and story insights. Every one posted twice."""
    meta = platforms.Meta(client, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"])
    fb = {name: to_page(sample(f"restfb/{name}.json"), PAGE) for name in (
        "feed-reaction-add", "feed-reaction-edit", "feed-reaction-add-comment", "feed-like-add-25",
        "feed-comment-add-25", "feed-comment-remove-25", "feed-reaction-remove",
        "feed-share-add-25", "feed-post-add-25",
        "messaging-message-basic", "messaging-read-basic",
    )}  # fmt: skip
    ig_comment = sample("restfb/instagram-wh-comments-2021.json")
    own_comment = to_page(ig_comment, ig_comment["entry"][0]["changes"][0]["value"]["from"]["id"])
    answers: dict[str, Any] = {}
    for _ in range(2):  # Meta redelivers whatever was not answered in time
        for name, payload in fb.items():
            answers[name] = meta.deliver(payload).json()
        answers["own status"] = meta.deliver(sample("restfb/feed-status-add-25.json")).json()
        answers["ig comment"] = meta.deliver(ig_comment).json()
        answers["own ig comment"] = meta.deliver(own_comment).json()
        answers["ig mention"] = meta.deliver(sample("restfb/instagram-wh-mentions.json")).json()
        answers["story"] = meta.deliver(sample("restfb/instagram-wh-story_insights.json")).json()
    accepted = {"accepted": 1, "dead_lettered": 0, "skipped": 0}
    skipped = {"accepted": 0, "dead_lettered": 0, "skipped": 1}
    assert answers["feed-reaction-edit"] == accepted  # a changed reaction, no longer refused
    assert answers["own status"] == skipped and answers["own ig comment"] == skipped
    assert answers["messaging-read-basic"] == skipped
    assert answers["story"] == {"accepted": 0, "dead_lettered": 1, "skipped": 0}
    assert all(answers[n] == accepted for n in fb if n != "messaging-read-basic")
    reaction = "meta:reaction:1234567890321_98735342324352:1234567890321"
    on_comment = "meta:reaction:1234567890321_1264545546974600:1234567890321"
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 10, what="ten Meta events")
        wait_until(lambda: totals(engine, "facebook").get("like") == 2, what="the removal")
        time.sleep(1)  # the redeliveries too, if they were to add anything
    assert event_count(engine) == 10
    # By hand: the post reaction added, changed, removed (0); the reaction on a comment and the
    # v2.5 like stay (2). One comment added (1), another removed (0). One share, one visitor's
    # post (a mention of the Page), one message received.
    assert totals(engine, "facebook") == {
        "like": 2, "comment": 1, "share": 1, "mention": 1, "message_received": 1,
    }  # fmt: skip
    assert totals(engine, "instagram") == {"comment": 1, "mention": 1}
    found = {
        str(r[0]): r[1:]
        for r in rows(engine, "SELECT event_id, count, post_id, attributes FROM interaction_event")
    }
    assert found[reaction][0] == 0 and "wow" in str(found[reaction][2])  # edited, then removed
    assert found[on_comment][:2] == (1, "1234567890321_98735342324352")
    assert "1234567890321_1264545546974600" in str(found[on_comment][2])
    assert found["meta:comment:901097836652708_903438993085259"][0] == 1
    assert found["meta:comment:905578656204626_905579239537901"][0] == 0
    assert found["meta:ig_comment:123456789"][:2] == (1, "76543987")
    assert found["meta:share:1234567890321_98735342324352:1234567890321"][0] == 1
    assert found["meta:post:1234567890321_7293787835232"][0] == 1


def test_x_real_deliveries_map_as_meant(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    """X's sample tweets by @RobotPrincessFi ("jk no"): a retweet and a quote of @notFromShrek,
    a reply to @notFromShrek that mentions @ericmbudd (delivered for both subscribed accounts),
    and a like and a follow of @notFromShrek by the same person; the documented DM. Twice."""
    x = platforms.X(client, SECRETS["x_consumer_secret"])
    retweet, quote = sample("x/tweet_parser_retweet.json"), sample("x/tweet_parser_quote.json")
    reply = sample("x/tweet_parser_reply.json")
    person, shrek = retweet["user"], retweet["retweeted_status"]["user"]
    deliveries = [
        account_activity(SHREK, tweet_create_events=[retweet, quote, reply]),
        account_activity(BUDD, user_has_blocked="false", tweet_create_events=[reply]),
        account_activity(SHREK, favorite_events=[{
            "id": "a7ba59eab0bfcba386f7acedac279542",
            "created_at": "Mon Mar 26 16:33:26 +0000 2018", "timestamp_ms": 1522082006140,
            "favorited_status": retweet["retweeted_status"], "user": person,
        }]),
        account_activity(SHREK, follow_events=[{
            "type": "follow", "created_timestamp": "1517588749178", "target": shrek,
            "source": person,
        }]),
        sample("x/docs_direct_message_events.json"),
    ]  # fmt: skip
    for _ in range(2):
        for delivery in deliveries:
            answer = x.deliver(delivery).json()
            assert answer["dead_lettered"] == 0 and answer["skipped"] == 0, answer
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 7, what="seven X events")
        time.sleep(1)
    assert event_count(engine) == 7
    found = {
        str(r[0]): r[1:]
        for r in rows(
            engine,
            "SELECT event_id, kind, account, actor, post_id, attributes FROM interaction_event",
        )
    }
    tweet = "x:tweet:{}:{}".format
    assert found[tweet(SHREK, "867478524235366400")][:4] == (
        "share", SHREK, "RobotPrincessFi", "861651727614746624",
    )  # fmt: skip
    assert found[tweet(SHREK, "867479301360205824")][:4] == (
        "mention", SHREK, "RobotPrincessFi", "867479301360205824",
    )  # fmt: skip
    assert "861652051016663040" in str(found[tweet(SHREK, "867479301360205824")][4])
    # One tweet for two subscribed accounts: a reply to one, a mention of the other, whose
    # post is the mention itself, not the third party's tweet it answers.
    assert found[tweet(SHREK, "867473446648676352")][:4] == (
        "reply", SHREK, "RobotPrincessFi", "863566329168711681",
    )  # fmt: skip
    assert found[tweet(BUDD, "867473446648676352")][:4] == (
        "mention", BUDD, "RobotPrincessFi", "867473446648676352",
    )  # fmt: skip
    # One person, one actor (the handle) in tweets, likes and follows; the name an attribute.
    twitter = [r for r in found.values() if r[0] != "message_received"]
    assert {r[2] for r in twitter} == {"RobotPrincessFi"}
    assert all("jk no" in str(r[4]) for r in twitter)
    [dm] = [r for r in found.values() if r[0] == "message_received"]
    assert dm[2] == "furiouscamper" and "Jordan Brinks" in str(dm[4])


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("old", id="no-account-before-2025-09"),
        pytest.param("new", id="account"),
        pytest.param("account_id", id="account_id"),
    ],
)
def test_chatwoot_real_layouts_resolve_with_their_messages(
    client: TestClient, settings: Settings, engine: Engine, layout: str
) -> None:
    """A conversation received 10:00:00, answered 10:20:00 and resolved 10:39:00.52: its last
    activity (`timestamp`) is the answer; the resolution is `updated_at`. Resolution and
    messages name one account and one conversation, with or without `account` on the
    conversation payload. The CSAT answer (message_updated) rates that conversation, once
    however often it arrives; all delivered twice."""
    chatwoot = platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"])
    resolved = (
        sample(f"chatwoot/conversation_status_changed_resolved_{layout}.json")
        if (layout != "account_id")
        else {**sample("chatwoot/conversation_status_changed_resolved_old.json"), "account_id": 1}
    )
    names = ("message_created_incoming", "message_created_outgoing")
    for _ in range(2):
        for name in names:
            assert chatwoot.deliver(sample(f"chatwoot/{name}.json")).json()["accepted"] == 1
        assert chatwoot.deliver(resolved).json()["accepted"] == 1
        csat = chatwoot.deliver(sample("chatwoot/message_updated_input_csat.json"))
        assert csat.json() == {"accepted": 1, "dead_lettered": 0, "skipped": 0}
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 4, what="four Chatwoot events")
        time.sleep(1)
    assert event_count(engine) == 4
    assert {a for (a,) in rows(engine, "SELECT DISTINCT account FROM interaction_event")} == {
        "chatwoot-inbox-5"
    }
    [conversation] = rows(
        engine,
        "SELECT conversation_id, account, first_response_s, resolution_s, agent, "
        "messages_received, messages_sent, rating, rating_comment FROM support_conversation",
    )
    # By hand: 10:20:00 - 10:00:00 = 1200 s; 10:39:00 - 10:00:00 = 2340 s (whole seconds).
    assert conversation == (
        "chatwoot:1:321", "chatwoot-inbox-5", 1200.0, 2340.0, "lucia", 1, 1, 5, "Quick, thanks"
    )  # fmt: skip


def test_chatwoot_resolution_without_any_account_names_the_field(client: TestClient) -> None:
    chatwoot = platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"])
    bare = {**sample("chatwoot/conversation_status_changed_resolved_old.json"), "messages": []}
    answer = chatwoot.deliver(bare)
    assert answer.status_code == 200 and answer.json()["dead_lettered"] == 1


@pytest.mark.parametrize(
    "token",
    [
        pytest.param('{"for_user_id":"1","follow_events":[]}', id="a-delivery-body"),
        pytest.param("two words", id="a-space"),
        pytest.param("a" * 257, id="too-long"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_x_crc_signs_only_tokens_of_the_shape_x_sends(client: TestClient, token: str) -> None:
    """The CRC answer is the signature a delivery of the same bytes must carry: a token that
    could be a body would let anyone forge deliveries."""
    answer = platforms.X(client, SECRETS["x_consumer_secret"]).crc(token)
    assert answer.status_code == 400 and "crc_token" in answer.json()["detail"]
    assert "response_token" not in answer.text


@pytest.mark.parametrize(
    ("source", "payload", "field"),
    [
        pytest.param(
            "meta", {"object": "page", "entry": 5}, "entry: expected a list", id="entry-5"
        ),
        pytest.param(
            "meta",
            {"object": "page", "entry": [{"id": "1", "changes": 7}]},
            "changes: expected a list",
            id="changes-7",
        ),
        pytest.param(
            "x",
            {"for_user_id": "1", "tweet_create_events": 3},
            "tweet_create_events: expected a list",
            id="tweet-create-events-3",
        ),
        pytest.param(
            "meta",
            {
                "object": "page",
                "entry": [
                    {
                        "id": "1",
                        "messaging": [
                            {
                                "sender": {"id": "2"},
                                "recipient": {"id": "1"},
                                "timestamp": 1e300,
                                "message": {"mid": "m_1", "text": "hi"},
                            }
                        ],
                    }
                ],
            },
            "1e+300",
            id="timestamp-1e300",
        ),
        pytest.param(
            "chatwoot",
            {
                "event": "conversation_status_changed",
                "id": 1,
                "account_id": 1,
                "inbox_id": 1,
                "status": "resolved",
                "updated_at": 1e300,
            },
            "updated_at: no time in 1e+300",
            id="chatwoot-updated-at-1e300",
        ),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_signed_payloads_of_odd_shapes_are_dead_lettered(
    client: TestClient, settings: Settings, source: str, payload: dict[str, Any], field: str
) -> None:
    sender: Any = {
        "meta": platforms.Meta(client, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"]),
        "x": platforms.X(client, SECRETS["x_consumer_secret"]),
        "chatwoot": platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"]),
    }[source]
    answer = sender.deliver(payload)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 0, "dead_lettered": 1, "skipped": 0}
    errors = [str(d["error"]) for d in dead_letters(settings) if d["source"] == f"webhook:{source}"]
    assert any(field in error for error in errors), errors


def test_not_json_is_dead_lettered_with_the_reason(client: TestClient, settings: Settings) -> None:
    meta = platforms.Meta(client, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"])
    response = meta.deliver(b"{not json")
    assert response.status_code == 200 and response.json()["dead_lettered"] == 1
    letters = [d for d in dead_letters(settings) if d["source"] == "webhook:meta"]
    assert "not JSON" in str(letters[-1]["error"]) and letters[-1]["item"] == "{not json"


def test_bodies_over_the_limit_are_refused(settings: Settings, engine: Engine) -> None:
    small = settings.model_copy(update={**SECRETS, "ingest_max_body_bytes": 1000})
    with TestClient(create_app(small, engine=engine)) as c:
        meta = platforms.Meta(c, SECRETS["meta_app_secret"], SECRETS["meta_verify_token"])
        assert meta.deliver({"object": "page", "entry": [], "pad": "x" * 2000}).status_code == 413


def test_connect_status_shows_each_source(client: TestClient) -> None:
    from services.domain.webhook_status import summarise

    chatwoot = platforms.Chatwoot(client, SECRETS["chatwoot_webhook_secret"])
    chatwoot.deliver(sample("chatwoot_incoming.json"))
    chatwoot.deliver(sample("chatwoot_incoming.json"), secret="wrong")
    table = summarise(client.get("/metrics").text).splitlines()
    rows = {line.split()[0]: line for line in table[1:]}
    assert rows["chatwoot"].split()[1] == "on" and "s ago" in rows["chatwoot"]
    assert rows["chatwoot"].split()[-3:][0] != "0"  # accepted
    assert rows["chatwoot"].split()[-1] != "0"  # refused
    assert rows["meta"].split()[1] == "on"  # configured: heard from at start


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_reports_settings_page_shows_each_connection(
    settings: Settings, engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ingest serving /metrics, one signed and one forged Chatwoot delivery: the reports'
    Settings page says Chatwoot is receiving, with the counts."""
    import threading

    import uvicorn
    from streamlit.testing.v1 import AppTest

    from services.common import processes
    from services.common.config import get_settings
    from services.reports import cache

    port = processes.free_port()
    configured = settings.model_copy(update=SECRETS)
    server = uvicorn.Server(
        uvicorn.Config(create_app(configured, engine=engine), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        processes.wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as http:
            chatwoot = platforms.Chatwoot(http, SECRETS["chatwoot_webhook_secret"])
            assert chatwoot.deliver(sample("chatwoot_incoming.json")).status_code == 200
            assert (
                chatwoot.deliver(sample("chatwoot_incoming.json"), secret="no").status_code == 401
            )
        monkeypatch.setenv("DATABASE_URL", db_url)
        monkeypatch.setenv("INGEST_METRICS_URL", f"{base}/metrics")
        get_settings.cache_clear()
        cache.clear()
        app = Path(__file__).parents[2] / "services" / "reports" / "app.py"
        at = AppTest.from_file(str(app), default_timeout=60)
        at.session_state["user"] = {"name": "ana", "role": "viewer"}
        at.run()
        at.switch_page("views/settings.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        table = at.dataframe[0].value
        rows = {row["Source"]: row for row in table.to_dict("records")}
        chat = rows["Chatwoot"]
        assert chat["State"] == "connected" and "s ago" in chat["Last delivery"]
        # Counts as the reader writes them (English: "1", "1,204").
        received, refused = chat["Received"], chat["Refused (not signed by the platform)"]
        assert int(received.replace(",", "")) >= 1 and int(refused.replace(",", "")) >= 1
        assert rows["X (Twitter)"]["State"] == "connected"  # configured: heard from at start
    finally:
        server.should_exit = True
        thread.join(10)
        get_settings.cache_clear()
