"""The Graph API insights poller against a local Graph API, through the real broker and consumer:
daily Page views and reach, post totals, paging, a newer total replacing the older, one source
per figure (no double counting with the account's views or the comments webhook), pacing on
Meta's usage headers, a refused token, a round that fails without ending the loop."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from services.ingest.graph_poller import Graph, GraphError, poll_once, run
from services.ingest.publisher import Publisher
from tests.ingest.helpers import running_consumer, scalar, wait_until
from tests.support import platforms
from tests.support.graph_server import INSTAGRAM, PAGE, TOKEN, GraphServer

TODAY = dt.date(2026, 3, 5)


@pytest.fixture
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer().start()
    yield server
    server.stop()


@pytest.fixture
def publisher(settings: Settings) -> Iterator[Publisher]:
    p = Publisher.of(settings)
    yield p
    p.close()


def total(engine: Engine, kind: str) -> int:
    return scalar(engine, f"SELECT COALESCE(SUM(count), 0) FROM rollup_daily WHERE kind = '{kind}'")


def test_a_poll_fills_impressions_reach_and_post_totals(
    settings: Settings, engine: Engine, graph_server: GraphServer, publisher: Publisher
) -> None:
    configured = settings.model_copy(update={"meta_page_id": PAGE})
    graph = Graph(graph_server.url, TOKEN, sleep=lambda _s: None)
    accepted = poll_once(configured, publisher, graph, days=28, today=TODAY)
    # 2 days x (impression, reach, followers) + today's follower total + the clicks of the 2
    # posts that have them = 9 snapshots.
    assert accepted == 9
    assert graph_server.requests.count(f"/v21.0/{PAGE}/posts") == 2  # the second page too
    with running_consumer(settings, engine):
        wait_until(lambda: total(engine, "click") == 52, what="the post clicks")
        wait_until(lambda: total(engine, "reach") == 1500, what="daily reach")
    # The Page's daily views (page_media_view, not the older page_impressions), and only them.
    assert total(engine, "impression") == 1200 + 1500
    graph_server.posts[0]["totals"]["post_clicks"] = 55  # a day later, a larger total
    poll_once(configured, publisher, graph, days=28, today=TODAY)
    with running_consumer(settings, engine):
        wait_until(
            lambda: total(engine, "click") == 55 + 12, what="the newer total replacing the older"
        )


def test_one_source_per_figure(
    settings: Settings, engine: Engine, graph_server: GraphServer, publisher: Publisher
) -> None:
    """The account's daily views already hold every post's views (800 of them here), and the
    `comments` webhook counts each comment: a post's lifetime views and a media's comment total
    would count both twice (1200 + 1500 + 5000 + 3000 + 800 views; 3 comments -> 6)."""
    configured = settings.model_copy(
        update={"meta_page_id": PAGE, "meta_instagram_id": INSTAGRAM, "meta_app_secret": "s1"}
    )
    graph = Graph(graph_server.url, TOKEN, sleep=lambda _s: None)
    poll_once(configured, publisher, graph, days=28, today=TODAY)
    with TestClient(create_app(configured, engine=engine)) as client:
        meta = platforms.Meta(client, "s1", "token")
        for n in range(3):  # the media's 3 comments, as the webhook brings them
            change = {"field": "comments", "value": {
                "from": {"id": f"23232323{n}", "username": f"fan{n}"}, "id": f"1786579934808903{n}",
                "media": {"id": "17918195224117851", "media_product_type": "FEED"}, "text": "Nice",
            }}  # fmt: skip
            entry = {"id": INSTAGRAM, "time": 1772528400, "changes": [change]}
            assert meta.deliver({"object": "instagram", "entry": [entry]}).status_code == 200
    with running_consumer(settings, engine):
        wait_until(lambda: total(engine, "share") == 1, what="the media totals")
        wait_until(lambda: total(engine, "comment") == 3, what="the webhook's comments")
    # By hand: Page views 1200 + 1500, Instagram views 300 + 400; 3 comments; the media's likes
    # and saves (no webhook brings those).
    assert total(engine, "impression") == 1200 + 1500 + 300 + 400
    assert (total(engine, "comment"), total(engine, "like"), total(engine, "save")) == (3, 30, 2)


def followers(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id, count FROM interaction_event WHERE kind = 'followers'")
        )
        return {event_id: count for event_id, count in rows}


def test_follower_totals_one_snapshot_per_account_and_day(
    settings: Settings, engine: Engine, graph_server: GraphServer, publisher: Publisher
) -> None:
    """The Page's past days from `page_follows` (the total at each day's end), today's total of
    the Page and the Instagram account from their `followers_count`; polling again the same
    day replaces today's snapshot, and an account without the field gives none."""
    configured = settings.model_copy(update={"meta_page_id": PAGE, "meta_instagram_id": INSTAGRAM})
    graph = Graph(graph_server.url, TOKEN, sleep=lambda _s: None)
    morning = dt.datetime.combine(TODAY, dt.time(9), dt.UTC)
    poll_once(configured, publisher, graph, days=28, today=TODAY, now=morning)
    expected = {
        f"graph:page:{PAGE}:followers:2026-03-02": 10450,
        f"graph:page:{PAGE}:followers:2026-03-03": 10480,
        f"graph:page:{PAGE}:followers:2026-03-05": 10495,
        f"graph:ig:{INSTAGRAM}:followers:2026-03-05": 3120,
    }
    with running_consumer(settings, engine):
        wait_until(lambda: followers(engine) == expected, what="the follower snapshots")
    graph_server.followers_count = {PAGE: 10502, INSTAGRAM: None}  # later that day
    poll_once(configured, publisher, graph, days=28, today=TODAY, now=morning.replace(hour=15))
    expected[f"graph:page:{PAGE}:followers:2026-03-05"] = 10502
    with running_consumer(settings, engine):
        wait_until(lambda: followers(engine) == expected, what="today's newer Page total")
    with engine.connect() as conn:
        (at,) = conn.execute(
            text(
                "SELECT occurred_at FROM interaction_event WHERE event_id = "
                f"'graph:page:{PAGE}:followers:2026-03-05'"
            )
        ).one()
    assert str(at).startswith("2026-03-05 15:00")


@pytest.mark.parametrize("broken", ["not_json", "no_end_time"])
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_round_that_fails_does_not_end_the_loop(
    settings: Settings, graph_server: GraphServer, broken: str, db_url: str
) -> None:
    configured = settings.model_copy(
        update={"meta_page_id": PAGE, "meta_page_token": TOKEN, "graph_api_url": graph_server.url}
    )
    graph_server.broken = broken
    stop = threading.Event()
    poller = threading.Thread(target=run, args=(configured, stop), kwargs={"every_s": 0.1})
    poller.start()
    try:
        insights = f"/v21.0/{PAGE}/insights"
        wait_until(lambda: graph_server.requests.count(insights) >= 3, what="three rounds")
        assert poller.is_alive()
    finally:
        stop.set()
        poller.join(30)
    assert not poller.is_alive()


def test_usage_headers_pause_the_poller_before_meta_throttles(graph_server: GraphServer) -> None:
    pauses: list[float] = []
    graph = Graph(graph_server.url, TOKEN, sleep=pauses.append)
    graph.get(f"{PAGE}/insights", metric="page_media_view")
    assert pauses == []  # 4 % of the quota: no pause
    graph_server.usage = {"call_count": 96, "total_time": 40, "total_cputime": 30}
    graph.get(f"{PAGE}/insights", metric="page_media_view")
    assert len(pauses) == 1 and pauses[0] > 0
    graph_server.usage = {"call_count": 10}
    graph_server.business_usage = {
        PAGE: [{"type": "pages", "call_count": 20, "estimated_time_to_regain_access": 7}]
    }
    graph.get(f"{PAGE}/insights", metric="page_media_view")
    assert pauses[-1] == 7 * 60


def test_a_refused_token_is_said_plainly(graph_server: GraphServer) -> None:
    with pytest.raises(GraphError, match="Invalid OAuth access token"):
        Graph(graph_server.url, "expired-token").get(f"{PAGE}/insights", metric="page_media_view")
