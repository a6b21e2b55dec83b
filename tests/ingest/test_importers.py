"""Each platform export parser on a realistic sample in the platform's own layout."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from services.ingest.importers.base import Context, FileProblem, Parsed
from services.ingest.importers.sources import SOURCES

SAMPLES = Path(__file__).parent / "samples"


def parse(source: str, data: bytes | Path, **ctx: Any) -> list[Parsed]:
    opener: Callable[[], IO[bytes]]
    if isinstance(data, Path):
        path = data
        opener = lambda: path.open("rb")  # noqa: E731
        ctx.setdefault("filename", path.name)
    else:
        opener = lambda: io.BytesIO(data)  # noqa: E731
    return list(SOURCES[source](opener, Context(**ctx)))


def by_id(parsed: list[Parsed]) -> dict[str, dict[str, Any]]:
    return {e["event_id"]: e for p in parsed for e in p.events}


def test_x_tweet_activity() -> None:
    parsed = parse(
        "x_tweet_activity", SAMPLES / "tweet_activity_metrics_rapport_20190101_20190201_en.csv"
    )
    assert [p.error for p in parsed] == [None, None, None]
    events = by_id(parsed)
    launch = events["x:tweet:1090000000000000001:impression"]
    assert launch["count"] == 2633
    assert launch["occurred_at"] == "2019-01-31T23:32:00+00:00"
    assert launch["account"] == "@rapport"
    assert launch["url"] == "https://twitter.com/rapport/status/1090000000000000001"
    assert events["x:tweet:1090000000000000001:like"]["count"] == 25
    assert events["x:tweet:1090000000000000001:share"]["count"] == 4
    assert events["x:tweet:1090000000000000001:click"]["count"] == 12 + 1 + 30 + 2
    assert events["x:tweet:1090000000000000001:profile_visit"]["count"] == 6


def test_x_older_export_says_favorites() -> None:
    events = by_id(
        parse(
            "x_tweet_activity", SAMPLES / "tweet_activity_metrics_rapport_20190101_20190215_en.csv"
        )
    )
    assert events["x:tweet:1090000000000000001:like"]["count"] == 31


def test_x_daily_activity() -> None:
    events = by_id(parse("x_daily_activity", SAMPLES / "x_daily_activity.csv", account="@rapport"))
    assert events["x:daily:@rapport:2019-01-02:impression"]["count"] == 2100
    assert events["x:daily:@rapport:2019-01-02:like"]["count"] == 31
    assert len([e for e in events if e.endswith(":impression")]) == 3


def test_facebook_post_insights_skips_description_and_picks_total_counts() -> None:
    parsed = parse(
        "facebook_post_insights", SAMPLES / "facebook_post_insights.csv", account="Rapport"
    )
    assert [p.row for p in parsed] == [3, 4]  # row 2 is the description row
    events = by_id(parsed)
    assert events["fb:post:123456789_1001:impression"]["count"] == 6100
    assert events["fb:post:123456789_1001:reach"]["count"] == 4200
    assert events["fb:post:123456789_1001:like"]["count"] == 140
    assert events["fb:post:123456789_1001:click"]["count"] == 135
    assert events["fb:post:123456789_1001:share"]["count"] == 9
    assert events["fb:post:123456789_1002:comment"]["occurred_at"] == "2017-01-20T17:15:00+00:00"


def test_facebook_page_insights_daily_columns_and_repeated_names() -> None:
    events = by_id(
        parse("facebook_page_insights", SAMPLES / "facebook_page_insights.csv", account="Rapport")
    )
    # "Daily Total Impressions" appears twice; the description row marks the total count.
    assert events["fb:page:Rapport:2017-01-19:impression"]["count"] == 7300
    assert events["fb:page:Rapport:2017-01-19:reach"]["count"] == 5200
    assert events["fb:page:Rapport:2017-01-20:follow"]["count"] == 18
    # The lifetime total is the day's follower snapshot.
    assert events["fb:page:Rapport:2017-01-19:followers"]["count"] == 10500
    assert events["fb:page:Rapport:2017-01-19:followers"]["kind"] == "followers"
    assert not any("Weekly" in e or "28" in e.split(":")[-1] for e in events)


def test_instagram_posts_numbers_with_separators_and_column_orders() -> None:
    events = by_id(parse("instagram_posts", SAMPLES / "instagram_posts.csv"))
    assert events["ig:post:17900000000000001:impression"]["count"] == 15_000
    assert events["ig:post:17900000000000001:like"]["count"] == 1_204
    assert events["ig:post:17900000000000001:reach"]["count"] == 9_870
    assert events["ig:post:17900000000000001:impression"]["account"] == "rapport.studio"
    old = by_id(parse("instagram_posts", SAMPLES / "instagram_posts_old.csv"))
    assert old["ig:post:17800000000000009:impression"]["count"] == 4_321


def test_linkedin_content_with_reposts() -> None:
    events = by_id(parse("linkedin_content", SAMPLES / "linkedin_content.csv", account="Rapport"))
    assert events["li:day:Rapport:2024-01-08:impression"]["count"] == 1500
    assert events["li:day:Rapport:2024-01-08:share"]["count"] == 3
    assert events["li:day:Rapport:2024-01-08:like"]["count"] == 35
    assert events["li:day:Rapport:2024-01-08:impression"]["occurred_at"].startswith("2024-01-08")


def test_twcs_threads_out_of_order() -> None:
    events = by_id(parse("twcs", SAMPLES / "twcs.csv"))
    assert {e["conversation_id"] for e in events.values()} == {"twcs:1", "twcs:10"}
    assert events["twcs:1"]["kind"] == "message_received"
    assert events["twcs:3"]["kind"] == "message_sent"
    assert events["twcs:3"]["conversation_id"] == "twcs:1"
    assert events["twcs:4"]["conversation_id"] == "twcs:1"
    assert events["twcs:1"]["account"] == "AppleSupport"  # the brand that answered the thread
    assert events["twcs:1"]["actor"] == "115712"
    assert events["twcs:3"]["occurred_at"] == "2017-10-31T22:25:47+00:00"


@pytest.mark.parametrize(
    ("source", "content", "fragment"),
    [
        pytest.param("x_tweet_activity", b"", "empty", id="empty-file"),
        pytest.param("x_tweet_activity", b"a,b,c\n1,2,3\n", "missing column", id="wrong-export"),
        pytest.param(
            "linkedin_content", b"\xff\xfe\x00garbage\xff", "not UTF-8", id="bad-encoding"
        ),
        pytest.param(
            "twcs", b"Date,Impressions (total)\n", "missing column", id="twcs-wrong-header"
        ),
    ],
)
def test_unreadable_files_name_the_problem(source: str, content: bytes, fragment: str) -> None:
    with pytest.raises(FileProblem, match=fragment):
        parse(source, content)


def test_bad_cells_are_reported_with_row_and_column() -> None:
    content = (
        b'"Tweet id","Tweet permalink","Tweet text","time","impressions","likes"\n'
        b'"1","https://twitter.com/a/status/1","ok","2019-01-31 23:32 +0000","10.0","1.0"\n'
        b'"2","https://twitter.com/a/status/2","bad","2019-01-31 23:32 +0000","lots","1.0"\n'
        b'"3","https://twitter.com/a/status/3","bad","yesterday","10.0","1.0"\n'
    )
    parsed = parse("x_tweet_activity", content)
    assert parsed[0].error is None
    assert (parsed[1].error.row, parsed[1].error.column) == (3, "impressions")  # type: ignore[union-attr]
    assert (parsed[2].error.row, parsed[2].error.column) == (4, "time")  # type: ignore[union-attr]


def test_utf16_and_bom_exports_are_read() -> None:
    text = (SAMPLES / "linkedin_content.csv").read_text()
    for encoded in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert (
            by_id(parse("linkedin_content", encoded))["li:day:default:2024-01-08:impression"][
                "count"
            ]
            == 1500
        )
