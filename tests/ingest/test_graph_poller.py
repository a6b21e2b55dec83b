"""The Graph API insights poller against a local Graph API, through the real broker and consumer:
daily Page views and reach, post totals (views, else impressions), paging, a newer total
replacing the older, pacing on Meta's usage headers, a refused token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.graph_poller import Graph, GraphError, poll_once
from services.ingest.publisher import Publisher
from tests.ingest.helpers import running_consumer, scalar, wait_until
from tests.support.graph_server import PAGE, TOKEN, GraphServer

TODAY = dt.date(2026, 3, 5)


@pytest.fixture
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer().start()
    yield server
    server.stop()


@pytest.fixture
def publisher(settings: Settings) -> Iterator[Publisher]:
    p = Publisher(settings)
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
    # 2 days x (impression, reach) + 3 posts: 2 + 2 + 1 figures = 9 snapshots.
    assert accepted == 9
    assert graph_server.requests.count(f"/v21.0/{PAGE}/posts") == 2  # the second page too
    with running_consumer(settings, engine):
        wait_until(lambda: total(engine, "click") == 52, what="the post clicks")
        wait_until(lambda: total(engine, "reach") == 1500, what="daily reach")
    # Views where Meta gives them (page_media_view, post_media_view), else impressions.
    assert total(engine, "impression") == 1200 + 1500 + 5000 + 3000 + 800
    graph_server.posts[0]["totals"]["post_media_view"] = 6500  # a day later, a larger total
    poll_once(configured, publisher, graph, days=28, today=TODAY)
    with running_consumer(settings, engine):
        wait_until(
            lambda: total(engine, "impression") == 1200 + 1500 + 6500 + 3000 + 800,
            what="the newer total replacing the older",
        )


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
