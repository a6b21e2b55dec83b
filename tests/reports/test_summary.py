"""`rapport summary --json` over the rollups, on SQLite and PostgreSQL, through the real CLI."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from services.cli import main
from services.ingest.sink import write_batch
from tests.factories import batch, event, message

UTC = ZoneInfo("UTC")
SUMMARY_KEYS = {
    "year", "as_of", "support", "brand", "moments", "audience", "outcomes", "listening", "value",
    "goals", "completeness",
}  # fmt: skip
SUPPORT_KEYS = {
    "conversations",
    "answered",
    "median_first_response_s",
    "p90_first_response_s",
    "responded_within_1h_rate",
    "median_resolution_s",
    "social_share",
    # Service levels (docs/figures.md#service-levels-business-hours-sla-agents)
    "median_first_response_business_s",
    "p90_first_response_business_s",
    "median_resolution_business_s",
    "first_response_sla_met_rate",
    "sla_breaches",
    "agents",
    # Response quality (docs/figures.md#response-quality-and-share-of-voice)
    "csat_responses",
    "csat",
    "csat_average",
    "csat_response_rate",
    "reopened",
    "reopen_rate",
}
BRAND_KEYS = {"impressions", "reach", "engagement", "engagement_rate"}
# docs/figures.md#response-quality-and-share-of-voice
LISTENING_KEYS = {"mentions", "competitors", "share_of_voice", "networks"}


def run_summary(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["summary", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def seed(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                event(
                    event_id="imp-1",
                    kind="impression",
                    count=1000,
                    occurred_at="2026-02-10T09:00:00Z",
                ),
                event(
                    event_id="imp-2",
                    kind="impression",
                    count=500,
                    occurred_at="2026-03-01T09:00:00Z",
                    network="instagram",
                ),
                event(
                    event_id="reach-1", kind="reach", count=700, occurred_at="2026-02-10T09:00:00Z"
                ),
                event(event_id="like-1", kind="like", count=40, occurred_at="2026-02-10T09:00:00Z"),
                event(
                    event_id="click-1",
                    kind="click",
                    count=35,
                    occurred_at="2026-03-01T09:00:00Z",
                    network="instagram",
                ),
                event(
                    event_id="late",
                    kind="impression",
                    count=999_999,
                    occurred_at="2026-04-01T00:00:00Z",
                ),
                event(
                    event_id="old", kind="impression", count=5, occurred_at="2025-12-31T23:59:59Z"
                ),
                message("message_received", "a", "2026-02-11T10:00:00Z"),
                message("message_sent", "a", "2026-02-11T10:30:00Z"),
                message("conversation_resolved", "a", "2026-02-11T12:00:00Z"),
                message("message_received", "b", "2026-02-12T10:00:00Z", network="email"),
                message("message_sent", "b", "2026-02-12T15:00:00Z", network="email"),
                message("message_received", "c", "2026-02-13T10:00:00Z"),  # unanswered
                message("message_sent", "d", "2025-12-20T10:00:00Z"),  # brand first, last year
                message("message_received", "d", "2025-12-31T10:00:00Z"),  # began last year
                message("message_sent", "d", "2026-01-02T10:00:00Z"),
            ),
        ],
        UTC,
    )
    # A later export corrects a snapshot total: the figures follow the replacement.
    write_batch(
        engine,
        [
            batch(
                event(
                    event_id="imp-1",
                    kind="impression",
                    count=1500,
                    occurred_at="2026-02-10T09:00:00Z",
                )
            )
        ],
        UTC,
    )


def test_summary_json(engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    seed(engine)
    data = run_summary(capsys, "--year", "2026", "--as-of", "2026-03-31", "--json")
    assert set(data) == SUMMARY_KEYS
    assert set(data["support"]) == SUPPORT_KEYS  # type: ignore[arg-type]
    assert set(data["brand"]) == BRAND_KEYS  # type: ignore[arg-type]
    assert set(data["listening"]) == LISTENING_KEYS  # type: ignore[arg-type]
    assert data["as_of"] == "2026-03-31"
    calendar = {k: v for k, v in data["support"].items() if "business" not in k}  # type: ignore[union-attr]
    for key in ("first_response_sla_met_rate", "sla_breaches", "agents"):
        calendar.pop(key)
    assert calendar == {
        "conversations": 3,
        "answered": 2,
        "median_first_response_s": (1800 + 18000) / 2,
        "p90_first_response_s": 1800 + (18000 - 1800) * 0.9,
        "responded_within_1h_rate": 1 / 3,
        "median_resolution_s": 7200.0,
        "social_share": 2 / 3,
        # Conversation a was resolved, none was rated or reopened.
        "csat_responses": 0,
        "csat": None,
        "csat_average": None,
        "csat_response_rate": 0.0,
        "reopened": 0,
        "reopen_rate": 0.0,
    }
    # No schedule: always open, business time = calendar time (test_service_levels.py)
    support = data["support"]
    assert support["median_first_response_business_s"] == support["median_first_response_s"]  # type: ignore[index]
    assert support["sla_breaches"] == 2  # type: ignore[index]
    assert data["brand"] == {
        "impressions": 2000,
        "reach": 700,
        "engagement": 75,
        "engagement_rate": 75 / 2000,
    }


def test_summary_filters_by_network(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    data = run_summary(
        capsys, "--year", "2026", "--as-of", "2026-03-31", "--network", "instagram", "--json"
    )
    assert data["brand"] == {
        "impressions": 500,
        "reach": 0,
        "engagement": 35,
        "engagement_rate": 0.07,
    }
    assert data["support"]["conversations"] == 0  # type: ignore[index]


def test_summary_table_and_bad_as_of(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    assert main(["summary", "--year", "2026", "--as-of", "2026-03-31"]) == 0
    table = capsys.readouterr().out
    assert "impressions" in table and "2,000" in table and "33.3 %" in table
    assert main(["summary", "--year", "2026", "--as-of", "2025-05-01"]) == 2
    assert "not in year 2026" in capsys.readouterr().err


def test_summary_json_with_moments_and_goals(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlmodel import Session

    from services.moments import service
    from services.moments.models import MomentCreate
    from tests.factories_moments import moment

    seed(engine)
    with Session(engine) as session:
        for status in ("existing_customer", "prospect"):
            service.create(
                session,
                data=MomentCreate.model_validate(
                    moment(occurred_on="2026-03-01", customer_status=status)
                ),
                actor="test",
            )
    assert (
        main(["goals", "set", "--year", "2026", "--metric", "impressions", "--target", "36500"])
        == 0
    )
    assert (
        main(
            [
                "goals",
                "set",
                "--year",
                "2026",
                "--metric",
                "responded_within_1h_rate",
                "--target",
                "0.5",
            ]
        )
        == 0
    )
    assert (
        main(["goals", "set", "--year", "2026", "--metric", "social_share", "--target", "2"]) == 2
    )
    capsys.readouterr()
    data = run_summary(capsys, "--year", "2026", "--as-of", "2026-03-31", "--json")
    assert data["moments"] == {
        "count": 2,
        "existing_customer": 1,
        "influenced_conversions": 0,
        "influenced_revenue": {},
    }
    consumer = {"state": "unknown", "records_behind": 0, "figures_up_to_s": None}
    assert data["completeness"] == {  # no consumer has run: the figures say so
        "events": scalar_events(engine, "2026-03-31"),
        "rejected_or_dead_lettered": 0,
        "rejected_scope": "as filtered",
        "consumer": {**consumer, "reported_at": None},
    }
    goals = data["goals"]
    assert set(goals) == {"impressions", "responded_within_1h_rate"}  # type: ignore[arg-type]
    impressions = goals["impressions"]  # type: ignore[index]
    assert set(impressions) == {"target", "actual", "pace", "projected_year_end"}
    assert impressions["actual"] == 2000
    assert impressions["pace"] == pytest.approx(2000 / (36500 * 90 / 365))
    assert impressions["projected_year_end"] == pytest.approx(2000 / 90 * 365)
    rate = goals["responded_within_1h_rate"]  # type: ignore[index]
    assert rate["pace"] == pytest.approx((1 / 3) / 0.5) and rate["projected_year_end"] is None


def test_goals_list_reads_as_people_read(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["goals", "list", "--year", "2026"]) == 0
    assert "No goals for 2026 yet" in capsys.readouterr().out
    for metric, target in (
        ("impressions", "55000000"),
        ("responded_within_1h_rate", "0.6"),
        ("median_first_response_s", "1800"),
    ):
        assert main(["goals", "set", "--year", "2026", "--metric", metric, "--target", target]) == 0
    capsys.readouterr()
    assert main(["goals", "list", "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "55,000,000" in out and "60.0 %" in out and "30 min" in out
    assert "Answered within 1 h" in out and "Median first response" in out


def scalar_events(engine: Engine, as_of: str) -> int:
    """This year's events stored up to the end of `as_of` (UTC here), counted from the events
    themselves (the completeness line counts them from the rollups)."""
    import datetime as dt

    from sqlalchemy import text

    last = dt.date.fromisoformat(as_of)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT occurred_at FROM interaction_event")).scalars()
        days = [dt.date.fromisoformat(str(at)[:10]) for at in stored]
    return sum(1 for day in days if last.replace(month=1, day=1) <= day <= last)


def test_monthly_report_writes_a_forwardable_page(
    engine: Engine, cli_env: None, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from sqlmodel import Session

    from services.moments import service
    from services.moments.models import MomentCreate
    from tests.factories_moments import moment

    seed(engine)
    with Session(engine) as session:
        for day, change in (
            ("2026-02-27", "february's renewal"),
            ("2026-03-01", "<script>alert(1)</script>"),
            ("2026-04-02", "april's referral"),
        ):
            service.create(
                session,
                data=MomentCreate.model_validate(moment(occurred_on=day, change=change)),
                actor="test",
            )
    out = Path(str(tmp_path)) / "march.html"
    assert main(["report", "monthly", "--month", "2026-03", "--out", str(out)]) == 0
    html = out.read_text()
    assert "<svg" in html and "Impressions per week" in html and "2,000" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    # The month's moments only: not February's, not April's (#14: the report kept to its month).
    assert "Moments in March" in html
    assert "february" not in html and "april" not in html
    # What the figures rest on (no consumer has run here).
    assert "could not be read or were refused this period" in html
    assert "the consumer has not reported yet" in html
    assert main(["report", "monthly", "--month", "2026-13", "--out", str(out)]) == 2


def test_sql_aggregates_equal_the_reference_math(engine: Engine) -> None:
    """queries.support (SQL) must give exactly figures.support_figures over the same facts."""
    import datetime as dt

    from services.demo import generate
    from services.domain.period import Period
    from services.reports import queries
    from services.reports.figures import support_figures

    events = [
        e
        for e in generate(2026, dt.datetime(2026, 3, 1))
        if e["kind"].startswith(("message", "conv"))
    ]
    write_batch(engine, [batch(*events[i : i + 2000]) for i in range(0, len(events), 2000)], UTC)
    for network in (None, "email", "twitter"):
        period = Period.of(2026, dt.date(2026, 2, 15), UTC)
        reference = support_figures(queries.conversations(engine, period, network=network), period)
        fast = queries.support(engine, period, network=network)
        assert reference["conversations"] > 10
        assert {k: fast[k] for k in reference} == pytest.approx(reference)


def test_engagement_by_hour_sums_engagement_only(engine: Engine) -> None:
    import datetime as dt

    from services.domain.period import Period
    from services.reports import queries

    write_batch(
        engine,
        [
            batch(
                event(kind="like", count=5, occurred_at="2026-03-02T23:10:00Z"),
                event(kind="comment", count=2, occurred_at="2026-03-02T23:50:00Z", account="b"),
                event(kind="impression", count=99, occurred_at="2026-03-02T23:20:00Z"),
                event(kind="share", count=1, occurred_at="2026-03-03T08:00:00Z", network="x"),
            )
        ],
        UTC,
    )
    period = Period.of(2026, dt.date(2026, 3, 31), UTC)
    rows = queries.engagement_by_hour(engine, period)
    assert [(hour.replace(tzinfo=None), n) for hour, n in sorted(rows)] == [
        (dt.datetime(2026, 3, 2, 23), 7),
        (dt.datetime(2026, 3, 3, 8), 1),
    ]
    assert queries.engagement_by_hour(engine, period, account="b")[0][1] == 2


def test_users_commands(engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    from sqlmodel import Session

    from services.domain import accounts

    assert main(["users", "create", "--username", "root", "--role", "admin"]) == 0
    assert "One-time password (shown only now)" in capsys.readouterr().out
    assert main(["users", "create", "--username", "ana", "--role", "viewer"]) == 0
    capsys.readouterr()
    assert main(["users", "role", "--username", "ana", "--role", "manager"]) == 0
    assert main(["users", "reset", "--username", "ana"]) == 0
    assert "New one-time password for 'ana'" in capsys.readouterr().out
    assert main(["users", "disable", "--username", "ana"]) == 0
    assert main(["users", "disable", "--username", "root"]) == 2  # the only admin
    assert "only admin left" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert "ana" in listed and "manager" in listed and "disabled" in listed
    assert "one-time password not yet replaced" in listed
    assert main(["users", "enable", "--username", "ana"]) == 0
    assert main(["users", "reset", "--username", "nobody"]) == 2
    assert main(["users", "language", "--username", "ana", "--language", "fa"]) == 0
    assert "'ana' reads the pages in فارسی." in capsys.readouterr().out
    with Session(engine) as session:
        ana = accounts.user_named(session, "ana")
        assert ana.role == "manager" and not ana.disabled and ana.must_change_password
        assert ana.language == "fa"
    assert main(["users", "language", "--username", "ana", "--language", "browser"]) == 0
    with Session(engine) as session:
        assert accounts.user_named(session, "ana").language is None


def test_the_monthly_report_leads_with_the_month_against_the_months_before(
    engine: Engine, cli_env: None, tmp_path: object
) -> None:
    """November 2026's own figures, worked out by hand: 1,000 impressions (October had 800:
    +25 %; November 2025 had 500: +100 %), 2 conversations answered in 10 and 30 min (median
    20 min; October's one took 50 min: 30 min less), 1 moment (October none)."""
    from pathlib import Path

    from sqlmodel import Session

    from services.moments import service
    from services.moments.models import MomentCreate
    from tests.factories_moments import moment

    write_batch(
        engine,
        [
            batch(
                event(kind="impression", count=1000, occurred_at="2026-11-10T10:00:00Z"),
                event(kind="impression", count=800, occurred_at="2026-10-10T10:00:00Z"),
                event(kind="impression", count=500, occurred_at="2025-11-10T10:00:00Z"),
                message("message_received", "n1", "2026-11-02T10:00:00Z"),
                message("message_sent", "n1", "2026-11-02T10:10:00Z"),
                message("message_received", "n2", "2026-11-03T10:00:00Z"),
                message("message_sent", "n2", "2026-11-03T10:30:00Z"),
                message("message_received", "o1", "2026-10-05T10:00:00Z"),
                message("message_sent", "o1", "2026-10-05T10:50:00Z"),
            )
        ],
        ZoneInfo("UTC"),
    )
    with Session(engine) as session:
        service.create(
            session,
            data=MomentCreate.model_validate(moment(occurred_on="2026-11-20")),
            actor="test",
        )
    out = Path(str(tmp_path)) / "november.html"
    assert main(["report", "monthly", "--month", "2026-11", "--out", str(out)]) == 0
    page = out.read_text()
    month = page[page.index("<h2>November 2026</h2>") : page.index("<h2>2026 to date</h2>")]
    rows = {
        cells[0]: cells[1:]
        for cells in (
            re.findall(r"<td>(?:<b>)?(.*?)(?:</b>)?</td>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", month)
        )
        if cells
    }
    assert rows["Impressions"] == [
        "1,000",
        "↑ 25 % on October 2026",
        "↑ 100 % on November 2025",
    ]
    assert rows["Support conversations"][:2] == ["2", "↑ 100 % on October 2026"]
    assert rows["Median first response"][:2] == ["20 min", "↓ 30 min on October 2026"]
    assert rows["Meaningful moments"][:2] == ["1", "↑ from none in October 2026"]
    # The month comes first, the year to date after it.
    assert page.index("<h2>November 2026</h2>") < page.index("<h2>2026 to date</h2>")
