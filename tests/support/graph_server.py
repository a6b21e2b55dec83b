"""A local Graph API for tests: the subset the insights poller reads (Page and Instagram
insights, posts and media with paging, their insights), answering with Meta's usage headers,
refusing a wrong access token the way Graph does (error code 190), and, when told, answering
what is not JSON or daily values without `end_time`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from services.common import processes

TOKEN = "page-token-test"
PAGE = "1067280970047460"
INSTAGRAM = "17841405822304914"


class GraphServer:
    def __init__(self) -> None:
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Daily Page figures: views (2025 and later) and the older impressions, and reach.
        self.page_daily = {
            "page_media_view": [1200, 1500],
            "page_impressions": [900, 1000],
            "page_impressions_unique": [700, 800],
            "page_follows": [10450, 10480],  # the Page's follower total at each day's end
        }
        # Follower totals now, the node's `followers_count` field (None: not given).
        self.followers_count: dict[str, int | None] = {PAGE: 10495, INSTAGRAM: 3120}
        self.days = ["2026-03-03T08:00:00+0000", "2026-03-04T08:00:00+0000"]
        # Lifetime totals per post: a new post has views, an older one only impressions.
        self.posts = [
            {
                "id": f"{PAGE}_1",
                "created_time": "2026-03-02T10:00:00+0000",
                "totals": {"post_media_view": 5000, "post_clicks": 40},
            },
            {
                "id": f"{PAGE}_2",
                "created_time": "2026-03-02T15:00:00+0000",
                "totals": {"post_impressions": 3000, "post_clicks": 12},
            },
            {
                "id": f"{PAGE}_3",
                "created_time": "2026-03-03T09:00:00+0000",
                "totals": {"post_media_view": 800},
            },
        ]
        # The Instagram account: daily views and reach, one media with its lifetime totals.
        self.ig_daily = {"views": [300, 400], "reach": [200, 250]}
        self.media = [
            {
                "id": "17918195224117851",
                "timestamp": "2026-03-03T09:00:00+0000",
                "totals": {"views": 800, "likes": 30, "comments": 3, "saved": 2, "shares": 1},
            }
        ]
        self.broken: str | None = None  # "not_json" or "no_end_time"
        self.usage: dict[str, Any] = {"call_count": 4, "total_time": 2, "total_cputime": 1}
        self.business_usage: dict[str, Any] | None = None
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                server.requests.append(parsed.path)
                if query.get("access_token") != TOKEN:
                    self._send(400, {"error": {"message": "Invalid OAuth access token.",
                                               "type": "OAuthException", "code": 190}})  # fmt: skip
                    return
                parts = parsed.path.strip("/").split("/")[1:]  # without the version
                self._send(200, server.answer(parts, query))

            def _send(self, status: int, body: Any) -> None:
                data = (
                    b"<html>502 Bad Gateway</html>"
                    if server.broken == "not_json"
                    else (json.dumps(body).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-App-Usage", json.dumps(server.usage))
                if server.business_usage is not None:
                    self.send_header("X-Business-Use-Case-Usage", json.dumps(server.business_usage))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def answer(self, parts: list[str], query: dict[str, str]) -> Any:
        node, edge = parts[0], parts[1] if len(parts) > 1 else ""
        metrics = query.get("metric", "").split(",")
        daily = {PAGE: self.page_daily, INSTAGRAM: self.ig_daily}.get(node)
        if daily is not None and edge == "insights":
            return {
                "data": [
                    {"name": m, "period": "day", "values": self._daily(daily[m])}
                    for m in metrics
                    if m in daily
                ]
            }
        if edge == "" and node in self.followers_count:
            fields = query.get("fields", "").split(",")
            total = self.followers_count[node]
            return {"id": node} | (
                {"followers_count": total}
                if "followers_count" in fields and total is not None
                else {}
            )
        if node == INSTAGRAM and edge == "media":
            return {"data": [{k: m[k] for k in ("id", "timestamp")} for m in self.media]}
        if node == PAGE and edge == "posts":
            start = int(query.get("after", "0"))
            chunk = self.posts[start : start + 2]
            body: dict[str, Any] = {
                "data": [{k: p[k] for k in ("id", "created_time")} for p in chunk]
            }
            if start + 2 < len(self.posts):
                body["paging"] = {
                    "next": f"{self.url}/v21.0/{PAGE}/posts?after={start + 2}&access_token={TOKEN}"
                }
            return body
        post = next((p for p in self.posts + self.media if p["id"] == node), None)
        if post is not None and edge == "insights":
            return {"data": [
                {"name": m, "period": "lifetime", "values": [{"value": post["totals"][m]}]}
                for m in metrics if m in post["totals"]
            ]}  # fmt: skip
        return {"data": []}

    def _daily(self, figures: list[int]) -> list[dict[str, Any]]:
        if self.broken == "no_end_time":
            return [{"value": v} for v in figures]
        return [{"value": v, "end_time": d} for v, d in zip(figures, self.days, strict=True)]

    def start(self) -> GraphServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
