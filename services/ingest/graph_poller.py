"""`rapport connect meta`: the metrics webhooks do not carry (impressions, reach, post totals,
follower totals), pulled from the Graph API for a Facebook Page and an Instagram account, and
published like any other event (docs/operating.md, "Live data").

- Daily Page / account insights (period=day) become one snapshot per day and kind, event id
  `graph:...:{day}`; post and media insights (lifetime totals) one per post and kind. A newer
  total replaces the older (same event id), so polling again never double-counts.
- Meta replaced Page and post *impressions* with *views* in 2025 (`page_media_view`,
  Instagram `views`): both are requested, and Rapport's `impression` is the views figure where
  Meta gives one, else the impressions figure (`reach` is `page_impressions_unique` / Instagram
  `reach`). See the README ("Live data").
- Follower totals are `followers` snapshots, one per account and day
  (`graph:{page|ig}:{id}:followers:{day}`): the Page's daily `page_follows` insight gives the
  past days (its value is the total at the day's end), and the node's `followers_count` field,
  read on every poll, today's total (for Instagram the only one: its daily `follower_count`
  insight counts new followers, not the total). Polling again replaces the day's snapshot.
- One source per figure, since rollups add every event of a kind: `impression` is the
  account's daily figure, which already holds each post's views (a post's lifetime views as
  well would count them twice); Instagram comments are the `comments` webhook's, one event per
  comment, so media comment totals are not read. Post totals give what nothing else does:
  Facebook clicks, Instagram likes, saves and shares.
- Paging follows `paging.next`. Before Meta throttles, the usage headers are read
  (`X-App-Usage`, `X-Business-Use-Case-Usage`: percentages of the quota, and
  `estimated_time_to_regain_access` in minutes) and the poller pauses when a figure passes
  PAUSE_AT_PERCENT (Meta's rate-limiting guide names both headers and their fields).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from services.common.config import Settings
from services.ingest.publisher import Publisher
from services.ingest.service import count_accepted, submit

log = logging.getLogger(__name__)
GRAPH_VERSION = "v21.0"
PAUSE_AT_PERCENT = 80.0
USAGE_KEYS = ("call_count", "total_time", "total_cputime")
# Rapport kind <- the Graph metrics that give it, in order of preference.
Metrics = dict[str, tuple[str, ...]]
PAGE_DAILY: Metrics = {
    "impression": ("page_media_view", "page_impressions"),
    "reach": ("page_impressions_unique",),
    "followers": ("page_follows",),
}
POST_TOTALS: Metrics = {"click": ("post_clicks",)}
IG_DAILY: Metrics = {"impression": ("views", "impressions"), "reach": ("reach",)}
IG_MEDIA: Metrics = {"like": ("likes",), "save": ("saved",), "share": ("shares",)}


class GraphError(RuntimeError):
    pass


@dataclass
class Graph:
    """A Graph API client that pages and paces itself by Meta's usage headers."""

    base_url: str
    token: str
    sleep: Callable[[float], None] = time.sleep
    timeout_s: float = 30.0
    paused_s: list[float] = field(default_factory=list)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        if path.startswith("http"):  # a `paging.next` link carries its own query and token
            response = httpx.get(path, timeout=self.timeout_s)
        else:
            response = httpx.get(
                f"{self.base_url}/{GRAPH_VERSION}/{path}",
                params={**params, "access_token": self.token},
                timeout=self.timeout_s,
            )
        self._pace(response.headers)
        if response.status_code != 200:
            where = path.split("?")[0]  # never the token in a message
            raise GraphError(f"Graph API {response.status_code} for {where}: {response.text[:300]}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise GraphError(f"Graph API answered no JSON for {path.split('?')[0]}") from None
        if not isinstance(body, dict):
            raise GraphError(f"Graph API answered no JSON object for {path.split('?')[0]}")
        return body

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list edge, following `paging.next`."""
        body = self.get(path, **params)
        while True:
            yield from body.get("data", [])
            following = (body.get("paging") or {}).get("next")
            if not following:
                return
            body = self.get(following)

    def _pace(self, headers: httpx.Headers) -> None:
        usage, regain_min = 0.0, 0.0
        for name in ("x-app-usage", "x-page-usage", "x-business-use-case-usage"):
            raw = headers.get(name)
            if not raw:
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            for figures in _usage_figures(data):
                usage = max(usage, *(float(figures.get(k, 0)) for k in
                                     ("call_count", "total_time", "total_cputime")))  # fmt: skip
                regain_min = max(
                    regain_min, float(figures.get("estimated_time_to_regain_access", 0))
                )
        if regain_min > 0:
            pause = regain_min * 60
        elif usage >= PAUSE_AT_PERCENT:
            # Usage decays over Meta's rolling hour: wait longer the closer to the limit.
            pause = 60.0 * (usage - PAUSE_AT_PERCENT + 1) / (100.0 - PAUSE_AT_PERCENT + 1) * 10
        else:
            return
        log.warning(
            "Graph API usage at %.0f %%: pausing %.0f s before Meta throttles", usage, pause
        )
        self.paused_s.append(pause)
        self.sleep(pause)


def _usage_figures(data: Any) -> Iterator[dict[str, Any]]:
    """The usage dicts of X-App-Usage (one) and X-Business-Use-Case-Usage (per business id)."""
    if isinstance(data, dict) and any(k in data for k in ("call_count", "total_time")):
        yield data
    elif isinstance(data, dict):
        for entries in data.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    yield entry


def _metric_values(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {item["name"]: item.get("values", []) for item in items if "name" in item}


def _chosen(found: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    return next(((n, found[n]) for n in names if n in found), None)


def _daily(
    graph: Graph, node: str, account: str, network: str, kinds: dict[str, tuple[str, ...]],
    since: dt.date, until: dt.date, prefix: str,
) -> list[dict[str, Any]]:  # fmt: skip
    metrics = ",".join(name for names in kinds.values() for name in names)
    body = graph.get(
        f"{node}/insights", metric=metrics, period="day",
        since=since.isoformat(), until=until.isoformat(),
    )  # fmt: skip
    found = _metric_values(body.get("data", []))
    events = []
    for kind, names in kinds.items():
        chosen = _chosen(found, names)
        if chosen is None:
            continue
        metric, values = chosen
        for value in values:
            # A day's value ends at `end_time`: the day itself is the one before.
            end = dt.datetime.fromisoformat(value["end_time"].replace("+0000", "+00:00"))
            day = (end - dt.timedelta(days=1)).date()
            events.append(
                {
                    "event_id": f"graph:{prefix}:{node}:{kind}:{day.isoformat()}",
                    "occurred_at": dt.datetime.combine(day, dt.time(12), dt.UTC).isoformat(),
                    "network": network,
                    "kind": kind,
                    "count": int(value.get("value") or 0),
                    "account": account,
                    "attributes": {"graph_metric": metric},
                }
            )
    return events


def _totals(
    graph: Graph, item: dict[str, Any], account: str, network: str,
    kinds: dict[str, tuple[str, ...]], prefix: str,
) -> list[dict[str, Any]]:  # fmt: skip
    metrics = ",".join(name for names in kinds.values() for name in names)
    found = {
        name: values[-1].get("value") if values else None
        for name, values in _metric_values(graph.get(f"{item['id']}/insights", metric=metrics)
                                          .get("data", [])).items()
    }  # fmt: skip
    events = []
    created = item.get("created_time") or item.get("timestamp")
    for kind, names in kinds.items():
        chosen = _chosen(found, names)
        if chosen is None or chosen[1] is None:
            continue
        events.append(
            {
                "event_id": f"graph:{prefix}:{item['id']}:{kind}",
                "occurred_at": str(created).replace("+0000", "+00:00"),
                "network": network,
                "kind": kind,
                "count": int(chosen[1]),
                "account": account,
                "post_id": str(item["id"]),
                "url": item.get("permalink_url") or item.get("permalink"),
                "attributes": {"graph_metric": chosen[0]},
            }
        )
    return events


def _followers_now(
    graph: Graph, node: str, network: str, prefix: str, now: dt.datetime
) -> list[dict[str, Any]]:
    """The account's follower total as the poll reads it: today's `followers` snapshot."""
    total = graph.get(node, fields="followers_count").get("followers_count")
    if total is None:  # a token without the insights permission is not given the field
        log.warning("graph poll: %s %s has no followers_count: no follower total", network, node)
        return []
    return [
        {
            "event_id": f"graph:{prefix}:{node}:followers:{now.date().isoformat()}",
            "occurred_at": now.isoformat(),
            "network": network,
            "kind": "followers",
            "count": int(total),
            "account": node,
            "attributes": {"graph_metric": "followers_count"},
        }
    ]


def collect(
    graph: Graph,
    *,
    page_id: str | None,
    instagram_id: str | None,
    days: int,
    today: dt.date,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Every snapshot for the last `days` days and the posts published in them, and today's
    follower totals as of `now` (default: noon of `today`)."""
    since, until = today - dt.timedelta(days=days), today
    now = now or dt.datetime.combine(today, dt.time(12), dt.UTC)
    events: list[dict[str, Any]] = []
    if page_id:
        events += _daily(graph, page_id, page_id, "facebook", PAGE_DAILY, since, until, "page")
        events += _followers_now(graph, page_id, "facebook", "page", now)
        for post in graph.pages(f"{page_id}/posts", fields="id,created_time,permalink_url",
                                since=since.isoformat(), until=until.isoformat()):  # fmt: skip
            events += _totals(graph, post, page_id, "facebook", POST_TOTALS, "post")
    if instagram_id:
        events += _daily(graph, instagram_id, instagram_id, "instagram", IG_DAILY, since, until,
                         "ig")  # fmt: skip
        events += _followers_now(graph, instagram_id, "instagram", "ig", now)
        for media in graph.pages(f"{instagram_id}/media", fields="id,timestamp,permalink",
                                 since=since.isoformat(), until=until.isoformat()):  # fmt: skip
            events += _totals(graph, media, instagram_id, "instagram", IG_MEDIA, "ig_media")
    return events


def poll_once(
    settings: Settings,
    publisher: Publisher,
    graph: Graph,
    *,
    days: int,
    today: dt.date,
    now: dt.datetime | None = None,
) -> int:
    """One poll, published and acknowledged; returns the events accepted."""
    events = collect(
        graph,
        page_id=settings.meta_page_id,
        instagram_id=settings.meta_instagram_id,
        days=days,
        today=today,
        now=now,
    )
    submitted = submit(publisher, events, transport="graph", source="graph")
    publisher.wait(submitted.futures)
    count_accepted(submitted.outcome, "graph")
    if submitted.outcome.rejected:
        log.warning(
            "graph poll: %d snapshots refused, dead-lettered", len(submitted.outcome.rejected)
        )
    return submitted.outcome.accepted


def run(
    settings: Settings, stop: threading.Event, *, days: int = 28, every_s: float = 3600
) -> None:
    if not settings.meta_page_token or not (settings.meta_page_id or settings.meta_instagram_id):
        raise GraphError("set META_PAGE_TOKEN and META_PAGE_ID (or META_INSTAGRAM_ID) first")
    graph = Graph(settings.graph_api_url.rstrip("/"), settings.meta_page_token)
    publisher = Publisher.of(settings)
    try:
        while True:  # poll, then wait: a stop set beforehand means one round (--once)
            try:
                now = dt.datetime.now(dt.UTC)
                accepted = poll_once(
                    settings, publisher, graph, days=days, today=now.date(), now=now
                )
                log.info("graph poll: %d snapshots published", accepted)
            except (GraphError, httpx.HTTPError) as exc:
                log.error("graph poll failed, trying again next round: %s", exc)
            except Exception:
                # An answer of a shape not foreseen (a missing field) fails this round only: the
                # poller is a long-lived thread of `rapport up`, and the next hour may be fine.
                log.exception("graph poll failed on an unexpected answer, trying again next round")
            if stop.wait(every_s):
                return
    finally:
        publisher.close()
