"""GA4 runReport imports: headers in any order, rows not from social skipped and counted,
exact revenue, the currency rule, and importing again replacing (REST and CLI, real broker and
consumer, both databases). Samples and their source: tests/ingest/samples/ga4/SOURCES.md."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.common.config import Settings
from services.ingest.app import create_app
from services.ingest.events import Rejection, validate
from services.ingest.importers.base import Context, Parsed
from services.ingest.importers.cli import import_file
from services.ingest.importers.ga4 import ga4_report
from tests.ingest.helpers import AUTH, event_count, running_consumer, scalar, wait_until

SAMPLES = Path(__file__).parent / "samples" / "ga4"
SOCIAL = SAMPLES / "runreport_social.json"
MADRID = ZoneInfo("Europe/Madrid")


def parse(report: dict[str, Any], **context: Any) -> list[Parsed]:
    body = json.dumps(report).encode()
    return list(ga4_report(lambda: io.BytesIO(body), Context(timezone=MADRID, **context)))


def events(parsed: list[Parsed]) -> dict[str, dict[str, Any]]:
    found = {}
    for row in parsed:
        assert row.error is None, row.error
        for event in row.events:
            assert not isinstance(validate(event), Rejection), validate(event)
            found[event["event_id"]] = event
    return found


def social() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(SOCIAL.read_text())
    return report


def test_social_rows_become_visits_and_conversions() -> None:
    parsed = parse(social())
    assert [row.row for row in parsed if row.skipped] == [3, 4, 5]  # google, direct, newsletter
    found = events(parsed)
    assert sorted(found) == [
        "ga4:20260301:ig:social:spring-drop:conversion",
        "ga4:20260301:ig:social:spring-drop:visit",
        "ga4:20260301:m.facebook.com:referral:(referral):visit",  # no key events: no conversion
        "ga4:20260302:pinterest:paid-social:launch:conversion",
        "ga4:20260302:pinterest:paid-social:launch:visit",
        "ga4:20260302:t.co:referral:(referral):conversion",
        "ga4:20260302:t.co:referral:(referral):visit",
    ]
    visit = found["ga4:20260301:ig:social:spring-drop:visit"]
    assert visit == {
        "event_id": "ga4:20260301:ig:social:spring-drop:visit",
        "kind": "visit",
        "count": 412,
        "occurred_at": "2026-03-01T12:00:00+01:00",  # noon in RAPPORT_TIMEZONE
        "network": "instagram",
        "account": "default",
        "attributes": {"utm_source": "ig", "utm_medium": "social", "utm_campaign": "spring-drop"},
    }
    sale = found["ga4:20260301:ig:social:spring-drop:conversion"]
    assert (sale["count"], sale["value"], sale["currency"]) == (3, "210.00", "EUR")
    # A social medium from a source with no network of its own is social all the same.
    other = found["ga4:20260302:pinterest:paid-social:launch:conversion"]
    assert (other["network"], other["value"]) == ("other", "49.91")  # 49.905: half a cent up
    assert found["ga4:20260302:t.co:referral:(referral):visit"]["network"] == "twitter"
    assert found["ga4:20260301:m.facebook.com:referral:(referral):visit"]["network"] == "facebook"


def test_headers_are_found_by_name_in_any_order() -> None:
    report = social()
    order = [3, 1, 0, 2]  # a permutation of the dimensions
    metric_order = [1, 2, 0]
    report["dimensionHeaders"] = [report["dimensionHeaders"][i] for i in order]
    report["metricHeaders"] = [report["metricHeaders"][i] for i in metric_order]
    for row in report["rows"]:
        row["dimensionValues"] = [row["dimensionValues"][i] for i in order]
        row["metricValues"] = [row["metricValues"][i] for i in metric_order]
    assert events(parse(report)) == events(parse(social()))


def test_a_report_without_rows_has_no_rows_field() -> None:
    assert parse(json.loads((SAMPLES / "runreport_empty.json").read_text())) == []


def test_the_older_metric_names_and_the_currency_given_when_the_report_names_none() -> None:
    report = social()
    report["metricHeaders"] = [
        {"name": "purchaseRevenue"},
        {"name": "sessions"},
        {"name": "conversions"},
    ]
    del report["metadata"]
    without = parse(report)
    assert {(r.error.column if r.error else None) for r in without if r.events or r.error} == {
        "metadata.currencyCode",  # the rows with a conversion
        None,  # the facebook row, a visit only
    }
    sale = events(parse(report, currency="GBP"))["ga4:20260301:ig:social:spring-drop:conversion"]
    assert (sale["value"], sale["currency"]) == ("210.00", "GBP")


@pytest.mark.parametrize(
    ("change", "column"),
    [
        pytest.param({"dimensionValues": [{"value": "social"}]}, "dimensionValues", id="short"),
        pytest.param(
            {
                "dimensionValues": [
                    {"value": "social"},
                    {"value": "2026-03-01"},
                    {"value": "x"},
                    {"value": "ig"},
                ]
            },
            "date",
            id="dashed-date",
        ),
        pytest.param(
            {"metricValues": [{"value": "1"}, {"value": "many"}, {"value": "0"}]},
            "sessions",
            id="not-a-number",
        ),
    ],
)
def test_a_bad_row_is_reported_with_its_column(change: dict[str, Any], column: str) -> None:
    report = social()
    report["rows"][0].update(change)
    first = parse(report)[0]
    assert first.error is not None and first.error.column == column and first.error.row == 1


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def visits(engine: Engine) -> int:
    return scalar(engine, "SELECT SUM(count) FROM rollup_daily WHERE kind = 'visit'")


def test_rest_import_counts_skipped_rows_and_importing_again_replaces(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    with running_consumer(settings, engine):
        for _ in range(2):
            answer = client.post(
                "/v1/imports/ga4_report", content=SOCIAL.read_bytes(), headers=AUTH
            )
            assert answer.status_code == 200, answer.text
            assert answer.json() == {
                "source": "ga4_report",
                "rows": 7,
                "accepted": 7,
                "rows_rejected": 0,
                "rejected": [],
                "file_error": None,
                "rows_skipped": 3,
            }
        wait_until(lambda: visits(engine) == 412 + 120 + 60 + 33, what="the visits")
        # A later report revises the Instagram row: it replaces, never adds.
        report = social()
        report["rows"][0]["metricValues"] = [{"value": "250.5"}, {"value": "500"}, {"value": "4"}]
        client.post("/v1/imports/ga4_report", content=json.dumps(report), headers=AUTH)
        wait_until(lambda: visits(engine) == 500 + 120 + 60 + 33, what="the revised visits")
    assert event_count(engine) == 7
    with engine.connect() as conn:
        revenue = conn.execute(
            text("SELECT SUM(value_e4) FROM interaction_event WHERE kind = 'conversion'")
        ).scalar()
    assert revenue == 2_505_000 + 499_100  # 250.50 + 49.91 (+ 0 from t.co)


def test_rest_import_refuses_what_is_not_a_report(client: TestClient) -> None:
    answer = client.post("/v1/imports/ga4_report", content=b"date,sessions\n", headers=AUTH)
    assert answer.status_code == 422 and "not JSON" in answer.json()["detail"]
    report = social()
    report["dimensionHeaders"] = [{"name": "date"}, {"name": "sessionMedium"}]
    answer = client.post("/v1/imports/ga4_report", content=json.dumps(report), headers=AUTH)
    assert answer.status_code == 422
    assert "missing sessionSource" in answer.json()["detail"]


def test_cli_import_with_a_currency(
    settings: Settings, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = social()
    del report["metadata"]
    path = tmp_path / "ga4.json"
    path.write_text(json.dumps(report))
    code = import_file(
        settings, source="ga4_report", path=str(path), account="shop", currency="USD"
    )
    assert code == 0
    assert "3 rows skipped (not from social)" in capsys.readouterr().out
    with running_consumer(settings, engine):
        wait_until(lambda: event_count(engine) == 7, what="seven events")
    assert scalar(engine, "SELECT COUNT(*) FROM interaction_event WHERE currency = 'USD'") == 3
    assert scalar(engine, "SELECT COUNT(*) FROM interaction_event WHERE account = 'shop'") == 7
