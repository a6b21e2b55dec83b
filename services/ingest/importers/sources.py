"""One parser per platform export (layouts: docs/export-formats.md); each yields a Parsed a row."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from services.ingest.events import EventFields
from services.ingest.importers.base import (
    Context,
    FileProblem,
    Header,
    Opener,
    Parsed,
    RowError,
    RowProblem,
    Shared,
    cell,
    metric_events,
    normalise,
    number,
    records,
    timestamp,
)
from services.ingest.importers.ga4 import ga4_report

Parser = Callable[[Opener, Context], Iterator[Parsed]]


def _rows(
    opener: Opener, source: str, required: tuple[str, ...]
) -> Iterator[tuple[Header, int, list[str]]]:
    rows = records(opener)
    first = next(rows, None)
    if first is None:
        raise FileProblem(f"the file is empty; expected a {source} export with a header row")
    header = Header(first[1])
    header.require(*required, source=source)
    for number_, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        yield header, number_, cells


def _safely(number_: int, build: Callable[..., list[EventFields]], *args: Any) -> Parsed:
    """`build(*args)`: one row's events, or the row's error naming its column."""
    try:
        return Parsed(number_, build(*args))
    except RowProblem as problem:
        return Parsed(number_, error=RowError(number_, problem.column, problem.message))


def _counts(
    row: list[str], header: Header, columns: Mapping[str, tuple[str, ...]]
) -> dict[str, int]:
    """kind -> sum of the named columns that exist in this export."""
    counts = {}
    for kind, names in columns.items():
        present = [n for n in names if header.has(n)]
        if present:
            counts[kind] = sum(number(cell(row, header, n), n) for n in present)
    return counts


# --- X (Twitter) -----------------------------------------------------------------------------

X_TIME = ("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M")
X_POST_METRICS = {
    "impression": ("impressions",),
    "like": ("likes", "favorites"),
    "share": ("retweets",),
    "reply": ("replies",),
    "click": ("url clicks", "hashtag clicks", "detail expands", "permalink clicks"),
    "profile_visit": ("user profile clicks",),
    "follow": ("follows",),
}
_X_HANDLE_FILE = re.compile(
    r"tweet_activity_metrics_(?P<handle>[^_]+(?:_[^_\d][^_]*)*)_\d{8}_\d{8}"
)
_X_HANDLE_URL = re.compile(r"https?://(?:www\.)?(?:twitter|x)\.com/(?P<handle>[^/]+)/status/")


def x_tweet_activity(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    file_handle = None
    if ctx.filename and (m := _X_HANDLE_FILE.search(ctx.filename)):
        file_handle = "@" + m.group("handle")
    for header, n, row in _rows(opener, "X tweet activity", ("Tweet id", "time", "impressions")):
        yield _safely(n, _x_tweet_row, row, header, ctx, file_handle)


def _x_tweet_row(
    row: list[str], header: Header, ctx: Context, file_handle: str | None
) -> list[EventFields]:
    tweet_id = cell(row, header, "Tweet id")
    if not tweet_id:
        raise RowProblem("Tweet id", "is empty")
    permalink = cell(row, header, "Tweet permalink")
    url_handle = _X_HANDLE_URL.match(permalink)
    account = (
        ctx.account
        or file_handle
        or ("@" + url_handle.group("handle") if url_handle else "default")
    )
    common: Shared = {
        "occurred_at": timestamp(cell(row, header, "time"), "time", X_TIME),
        "network": "twitter",
        "account": account,
        "post_id": tweet_id,
    }
    if permalink.startswith(("http://", "https://")):
        common["url"] = permalink
    return metric_events(f"x:tweet:{tweet_id}", common, _counts(row, header, X_POST_METRICS))


X_DAILY_METRICS = {k: v for k, v in X_POST_METRICS.items()}


def x_daily_activity(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    account = ctx.account or "default"
    for header, n, row in _rows(opener, "X daily activity", ("Date", "impressions")):
        yield _safely(n, _x_daily_row, row, header, account)


def _x_daily_row(row: list[str], header: Header, account: str) -> list[EventFields]:
    day = timestamp(
        cell(row, header, "Date"), "Date", ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M %z")
    )
    common: Shared = {"occurred_at": day, "network": "twitter", "account": account}
    return metric_events(
        f"x:daily:{account}:{day[:10]}", common, _counts(row, header, X_DAILY_METRICS)
    )


# --- Facebook --------------------------------------------------------------------------------

FB_POSTED = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z")
FB_POST_METRICS = {
    "impression": ("Lifetime Post Total Impressions",),
    "reach": ("Lifetime Post Total Reach",),
    "like": ("Lifetime Talking About This (Post) by action type - like",),
    "comment": ("Lifetime Talking About This (Post) by action type - comment",),
    "share": ("Lifetime Talking About This (Post) by action type - share",),
    "click": (
        "Lifetime Post Consumptions by type - link clicks",
        "Lifetime Post Consumptions by type - other clicks",
    ),
}


def _is_description(row: list[str], id_column: str, header: Header) -> bool:
    """Facebook's row 2 explains each column instead of holding data."""
    value = cell(row, header, id_column)
    return bool(value) and any(ch.isspace() for ch in value) and not value[:1].isdigit()


def _fb_columns(header: Header, description: list[str] | None) -> dict[str, int]:
    """For repeated column names, prefer the one the description row marks as a total count."""
    chosen: dict[str, int] = {}
    for name, positions in header.positions.items():
        chosen[name] = positions[0]
        if len(positions) > 1 and description:
            for position in positions:
                text = description[position] if position < len(description) else ""
                if "total count" in text.lower():
                    chosen[name] = position
                    break
    return chosen


def _fb_counts(
    row: list[str], header: Header, chosen: dict[str, int], metrics: Mapping[str, tuple[str, ...]]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, names in metrics.items():
        present = [n for n in names if header.has(n)]
        if present:
            counts[kind] = sum(
                number(cell(row, header, n, index=chosen[normalise(n)]), n) for n in present
            )
    return counts


def facebook_post_insights(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    chosen: dict[str, int] | None = None
    for header, n, row in _rows(opener, "Facebook post insights", ("Post ID", "Posted")):
        if chosen is None:
            description = row if _is_description(row, "Post ID", header) else None
            chosen = _fb_columns(header, description)
            if description is not None:
                continue
        yield _safely(n, _fb_post_row, row, header, chosen, ctx)


def _fb_post_row(
    row: list[str], header: Header, chosen: dict[str, int], ctx: Context
) -> list[EventFields]:
    post_id = cell(row, header, "Post ID")
    if not post_id:
        raise RowProblem("Post ID", "is empty")
    common: Shared = {
        "occurred_at": timestamp(cell(row, header, "Posted"), "Posted", FB_POSTED),
        "network": "facebook",
        "account": ctx.account or "default",
        "post_id": post_id,
    }
    link = cell(row, header, "Permalink")
    if link.startswith(("http://", "https://")):
        common["url"] = link
    counts = _fb_counts(row, header, chosen, FB_POST_METRICS)
    return metric_events(f"fb:post:{post_id}", common, counts)


FB_PAGE_METRICS = {
    "impression": ("Daily Total Impressions",),
    "reach": ("Daily Total Reach",),
    "follow": ("Daily New Likes",),
    # The Page's follower total that day (people who like it): a snapshot, never summed.
    "followers": ("Lifetime Total Likes",),
}


def facebook_page_insights(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    account = ctx.account or "default"
    chosen: dict[str, int] | None = None
    for header, n, row in _rows(opener, "Facebook page insights", ("Date",)):
        if chosen is None:
            description = row if _is_description(row, "Date", header) else None
            chosen = _fb_columns(header, description)
            if description is not None:
                continue
        yield _safely(n, _fb_page_row, row, header, chosen, account)


def _fb_page_row(
    row: list[str], header: Header, chosen: dict[str, int], account: str
) -> list[EventFields]:
    day = timestamp(cell(row, header, "Date"), "Date", ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"))
    common: Shared = {"occurred_at": day, "network": "facebook", "account": account}
    counts = _fb_counts(row, header, chosen, FB_PAGE_METRICS)
    return metric_events(f"fb:page:{account}:{day[:10]}", common, counts)


# --- Instagram -------------------------------------------------------------------------------

IG_TIME = (
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%m/%d/%Y %I:%M %p",
    "%Y-%m-%d %H:%M",
)
IG_METRICS = {
    "impression": ("Views", "Impressions"),
    "reach": ("Reach",),
    "like": ("Likes",),
    "comment": ("Comments",),
    "share": ("Shares",),
    "save": ("Saves",),
    "follow": ("Follows",),
}


def instagram_posts(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    for header, n, row in _rows(opener, "Instagram posts", ("Post ID", "Publish time")):
        yield _safely(n, _ig_post_row, row, header, ctx)


def _ig_post_row(row: list[str], header: Header, ctx: Context) -> list[EventFields]:
    post_id = cell(row, header, "Post ID")
    if not post_id:
        raise RowProblem("Post ID", "is empty")
    metrics = {k: (next((c for c in v if header.has(c)), v[0]),) for k, v in IG_METRICS.items()}
    common: Shared = {
        "occurred_at": timestamp(cell(row, header, "Publish time"), "Publish time", IG_TIME),
        "network": "instagram",
        "account": ctx.account or cell(row, header, "Account username") or "default",
        "post_id": post_id,
    }
    link = cell(row, header, "Permalink")
    if link.startswith(("http://", "https://")):
        common["url"] = link
    return metric_events(f"ig:post:{post_id}", common, _counts(row, header, metrics))


# --- LinkedIn --------------------------------------------------------------------------------

LI_METRICS = {
    "impression": ("Impressions (total)",),
    "reach": ("Unique impressions (organic)",),
    "click": ("Clicks (total)",),
    "like": ("Reactions (total)",),
    "comment": ("Comments (total)",),
    "share": ("Shares (total)", "Reposts (total)"),
}


def linkedin_content(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    account = ctx.account or "default"
    for header, n, row in _rows(opener, "LinkedIn content", ("Date", "Impressions (total)")):
        yield _safely(n, _li_day_row, row, header, account)


def _li_day_row(row: list[str], header: Header, account: str) -> list[EventFields]:
    day = timestamp(cell(row, header, "Date"), "Date", ("%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y"))
    common: Shared = {"occurred_at": day, "network": "linkedin", "account": account}
    return metric_events(f"li:day:{account}:{day[:10]}", common, _counts(row, header, LI_METRICS))


# --- Customer Support on Twitter (twcs) ------------------------------------------------------

TWCS_TIME = ("%a %b %d %H:%M:%S %z %Y",)
TWCS_COLUMNS = ("tweet_id", "author_id", "inbound", "created_at", "in_response_to_tweet_id")


class _Threads:
    """The reply graph of a twcs file: each tweet's thread is its root tweet, and the brand
    that answered in it."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.brand: dict[str, str] = {}

    def root(self, tweet: str) -> str:
        path: list[str] = []
        while tweet in self.parent and len(path) < 10_000:
            path.append(tweet)
            tweet = self.parent[tweet]
        for step in path:  # path compression keeps long threads linear
            self.parent[step] = tweet
        return tweet


def twcs(opener: Opener, ctx: Context) -> Iterator[Parsed]:
    """Two passes: first the reply graph (ids only), then one event per tweet with its thread."""
    threads = _Threads()
    brand_of: dict[str, str] = {}
    for header, _n, row in _rows(opener, "twcs", TWCS_COLUMNS):
        tweet = cell(row, header, "tweet_id")
        reply_to = cell(row, header, "in_response_to_tweet_id")
        if tweet and reply_to:
            threads.parent[tweet] = reply_to
        if tweet and cell(row, header, "inbound").lower() == "false":
            brand_of[tweet] = cell(row, header, "author_id")
    for tweet, author in brand_of.items():
        threads.brand.setdefault(threads.root(tweet), author)

    for header, n, row in _rows(opener, "twcs", TWCS_COLUMNS):
        yield _safely(n, _twcs_row, row, header, ctx, threads)


def _twcs_row(row: list[str], header: Header, ctx: Context, threads: _Threads) -> list[EventFields]:
    tweet = cell(row, header, "tweet_id")
    if not tweet:
        raise RowProblem("tweet_id", "is empty")
    inbound = cell(row, header, "inbound").lower()
    if inbound not in ("true", "false"):
        raise RowProblem("inbound", f"{inbound[:20]!r} is neither True nor False")
    thread = threads.root(tweet)
    author = cell(row, header, "author_id")
    return [
        {
            "event_id": f"twcs:{tweet}",
            "occurred_at": timestamp(cell(row, header, "created_at"), "created_at", TWCS_TIME),
            "network": "twitter",
            "kind": "message_received" if inbound == "true" else "message_sent",
            "account": ctx.account or threads.brand.get(thread, "default"),
            "actor": author,
            "conversation_id": f"twcs:{thread}",
            "post_id": tweet,
        }
    ]


SOURCES: dict[str, Parser] = {
    "x_tweet_activity": x_tweet_activity,
    "x_daily_activity": x_daily_activity,
    "facebook_post_insights": facebook_post_insights,
    "facebook_page_insights": facebook_page_insights,
    "instagram_posts": instagram_posts,
    "linkedin_content": linkedin_content,
    "twcs": twcs,
    "ga4_report": ga4_report,
}
