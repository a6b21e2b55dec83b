"""Shopify order webhooks through the real broker and consumer, on SQLite and PostgreSQL:
signatures (secret unset, forged, missing), the order mapping, redeliveries and cancellations.
Samples and their sources: tests/ingest/samples/webhooks/shopify_SOURCES.md."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from tests.ingest.helpers import event_count, running_consumer, wait_until
from tests.support import platforms
from tests.support.platforms import sample

SECRET = "shpss_client_secret_1"
ORDER_ID = "shopify:order:5940139491234"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"shopify_webhook_secret": SECRET})
    with TestClient(create_app(configured, engine=engine)) as c:
        yield c


@pytest.fixture
def shop(client: TestClient) -> platforms.Shopify:
    return platforms.Shopify(client, SECRET)


def paid() -> dict[str, Any]:
    order: dict[str, Any] = sample("shopify_orders_paid_instagram.json")
    return order


def stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT network, kind, count, value_e4, currency, actor, attributes, "
                "occurred_at FROM interaction_event WHERE event_id = :id"
            ),
            {"id": ORDER_ID},
        ).one()
    return dict(row._mapping)


def test_off_until_the_secret_is_set(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine=engine)) as off:
        answer = platforms.Shopify(off, SECRET).deliver(paid(), topic="orders/create")
    assert answer.status_code == 404


@pytest.mark.parametrize("how", ["forged", "unsigned"])
def test_forged_and_unsigned_deliveries_are_refused(
    client: TestClient, shop: platforms.Shopify, settings: Settings, engine: Engine, how: str
) -> None:
    if how == "forged":
        answer = shop.deliver(paid(), topic="orders/create", secret="guessed")
    else:
        answer = client.post(
            "/v1/webhooks/shopify",
            content=orjson.dumps(paid()),
            headers={"X-Shopify-Topic": "orders/create"},
        )
    assert answer.status_code == 401
    metrics = client.get("/metrics").text
    assert f'rapport_ingest_webhook_requests_total{{outcome="{how}",source="shopify"}}' in metrics
    with running_consumer(settings, engine):
        time.sleep(1.5)
    assert event_count(engine) == 0  # nothing published


def test_an_order_from_instagram_becomes_one_conversion(
    shop: platforms.Shopify, settings: Settings, engine: Engine
) -> None:
    first = shop.deliver(paid(), topic="orders/create")
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "dead_lettered": 0, "skipped": 0}
    # Shopify sends orders/paid and orders/updated for the same order, and redelivers.
    assert shop.deliver(paid(), topic="orders/paid").json()["accepted"] == 1
    assert shop.deliver(paid(), topic="orders/create").json()["accepted"] == 1
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 1, what="the order")
        time.sleep(1)  # the redeliveries too, if they were to add anything
    assert event_count(engine) == 1
    order = stored(engine)
    assert orjson.loads(order.pop("attributes")) == {
        "order_name": "#1042",
        "utm_campaign": "spring-drop",
        "utm_content": "reel-3",
        "utm_medium": "social",
        "utm_source": "ig",
    }
    assert str(order.pop("occurred_at"))[:19] == "2026-03-14 17:42:07"  # created_at, in UTC
    assert order == {
        "network": "instagram",  # utm_source ig
        "kind": "conversion",
        "count": 1,
        "value_e4": 499_500,  # current_total_price 49.95, not total_price 54.95
        "currency": "EUR",
        "actor": "ana.garcia@example.com",
    }


def test_a_cancellation_replaces_the_order_whichever_delivery_comes_last(
    shop: platforms.Shopify, settings: Settings, engine: Engine
) -> None:
    cancelled = {**paid(), "cancelled_at": "2026-03-15T09:00:00+01:00", "cancel_reason": "customer"}
    with running_consumer(settings, engine):
        assert shop.deliver(paid(), topic="orders/create").status_code == 200
        wait_until(lambda: stored_count(engine) == 1, what="the order")
        assert shop.deliver(cancelled, topic="orders/cancelled").json()["accepted"] == 1
        wait_until(lambda: stored_count(engine) == 0, what="the cancellation")
        # orders/updated for the cancellation arrives after orders/cancelled: still cancelled.
        assert shop.deliver(cancelled, topic="orders/updated").json()["accepted"] == 1
        time.sleep(1.5)
    order = stored(engine)
    assert (order["count"], order["value_e4"], order["currency"]) == (0, 0, "EUR")


def stored_count(engine: Engine) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count FROM interaction_event WHERE event_id = :id"), {"id": ORDER_ID}
        ).scalar()
    return None if found is None else int(found)


@pytest.mark.parametrize(
    ("change", "topic"),
    [
        pytest.param({}, "products/create", id="another-topic"),
        pytest.param(
            {
                "landing_site": "/?utm_source=newsletter",
                "referring_site": "https://www.google.com/",
            },
            "orders/create",
            id="not-from-social",
        ),
        pytest.param({"landing_site": None, "referring_site": None}, "orders/paid", id="direct"),
    ],
)
def test_orders_not_from_social_and_other_topics_are_skipped(
    shop: platforms.Shopify, change: dict[str, Any], topic: str
) -> None:
    answer = shop.deliver({**paid(), **change}, topic=topic)
    assert answer.json() == {"accepted": 0, "dead_lettered": 0, "skipped": 1}


def test_shopifys_own_sample_is_a_cancelled_order_from_nowhere(shop: platforms.Shopify) -> None:
    """Shopify's test notification: no landing site, no referrer, so not social: skipped."""
    answer = shop.deliver(sample("shopify_orders_create.json"), topic="orders/create")
    assert answer.json() == {"accepted": 0, "dead_lettered": 0, "skipped": 1}


def test_a_referrer_names_the_network_when_there_is_no_campaign(
    shop: platforms.Shopify, settings: Settings, engine: Engine
) -> None:
    order = copy.deepcopy(paid())
    order.update(landing_site="/products/classic-tee", referring_site="https://t.co/abc", email="")
    assert shop.deliver(order, topic="orders/create").json()["accepted"] == 1
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 1, what="the order")
    found = stored(engine)
    assert found["network"] == "twitter"
    assert found["actor"] == "ana.garcia@example.com"  # customer.email when email is empty


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param({"landing_site": "/?utm_source=fb"}, id="no-id"),
        pytest.param(
            {"id": 7, "landing_site": "/?utm_source=fb", "created_at": "2026-03-01T10:00:00Z"},
            id="no-total",
        ),
        pytest.param(
            {"id": 7, "landing_site": "/?utm_source=fb", "current_total_price": "1.00"},
            id="no-created-at",
        ),
    ],
)
def test_what_cannot_be_mapped_is_dead_lettered(shop: platforms.Shopify, payload: Any) -> None:
    answer = shop.deliver(payload, topic="orders/create")
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 0, "dead_lettered": 1, "skipped": 0}
