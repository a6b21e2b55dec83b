"""The value model through the real CLI on SQLite and PostgreSQL: `summary.value` exactly as the
contract's formulas say, with no model, no programme cost, zero impressions; bad input named."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.cli import main
from services.ingest.sink import write_batch
from services.moments import service
from services.moments.models import MomentCreate
from tests.factories import batch, event, message
from tests.factories_moments import moment

UTC = ZoneInfo("UTC")
AS_OF = ["--year", "2026", "--as-of", "2026-03-31"]  # day 90 of 365


def seed(engine: Engine, *, impressions: int = 250_000) -> None:
    events = [
        event(kind="click", count=400, occurred_at="2026-02-01T10:00:00Z"),
        event(kind="like", count=900, occurred_at="2026-02-01T10:00:00Z"),
        # Three social conversations and one by email.
        *(message("message_received", f"s{n}", "2026-02-02T10:00:00Z") for n in range(3)),
        message("message_received", "e1", "2026-02-02T10:00:00Z", network="email"),
    ]
    if impressions:
        events.append(
            event(kind="impression", count=impressions, occurred_at="2026-02-01T10:00:00Z")
        )
    write_batch(engine, [batch(*events)], UTC)
    with Session(engine) as session:
        for day in ("2026-02-03", "2026-02-04"):
            service.create(
                session, data=MomentCreate.model_validate(moment(occurred_on=day)), actor="t"
            )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def value_of(capsys: pytest.CaptureFixture[str]) -> object:
    code, out, _ = run(capsys, "summary", *AS_OF, "--json")
    assert code == 0
    return json.loads(out)["value"]


def test_no_model_no_value(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    assert value_of(capsys) is None
    code, out, _ = run(capsys, "value", "show", "--year", "2026")
    assert code == 0 and "No value model for 2026" in out


def test_the_formulas(engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    seed(engine)
    code, out, err = run(
        capsys,
        "value", "set", "--year", "2026", "--currency", "eur",
        "--cost-per-email-contact", "12.5", "--cost-per-social-contact", "4.5",
        "--cpm", "8", "--cpc", "0.75", "--value-per-moment", "150", "--program-cost", "36500",
    )  # fmt: skip
    assert code == 0, err
    assert "Programme cost for the year: €36,500.00" in out
    value = value_of(capsys)
    savings = 3 * (12.5 - 4.5)
    earned = 250_000 / 1000 * 8 + 400 * 0.75
    moments = 2 * 150
    cost = 36_500 * 90 / 365
    assert value == {
        "currency": "EUR",
        "support_savings": savings,
        "earned_media_value": earned,
        "moments_value": moments,
        "total_value": savings + earned + moments,
        "program_cost_to_date": pytest.approx(cost),
        "roi": pytest.approx((savings + earned + moments - cost) / cost),
        # No conversions yet: nothing attributed, the measured return is the whole cost lost.
        "attributed_revenue": 0.0,
        "measured_roi": -1.0,
    }
    # Goals on money pace like impressions.
    code, _, err = run(
        capsys, "goals", "set", "--year", "2026", "--metric", "total_value", "--target", "36500"
    )
    assert code == 0, err
    code, out, _ = run(capsys, "summary", *AS_OF, "--json")
    goal = json.loads(out)["goals"]["total_value"]
    assert goal["pace"] == pytest.approx((savings + earned + moments) / (36_500 * 90 / 365))
    assert goal["projected_year_end"] == pytest.approx((savings + earned + moments) / 90 * 365)


def test_no_programme_cost_and_no_impressions(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine, impressions=0)
    assert run(capsys, "value", "set", "--year", "2026", "--cpm", "10")[0] == 0
    value = value_of(capsys)
    assert value == {
        "currency": "USD",
        "support_savings": 0.0,
        "earned_media_value": 0.0,
        "moments_value": 0.0,
        "total_value": 0.0,
        "program_cost_to_date": None,
        "roi": None,
        "attributed_revenue": 0.0,
        "measured_roi": None,
    }
    # A later `set` changes only what it names (the others keep their stored values), and its
    # help says so.
    code, out, _ = run(capsys, "value", "set", "--year", "2026", "--cpc", "1")
    assert code == 0 and "$10.00" in out and "$1.00" in out
    assert value_of(capsys)["earned_media_value"] == 400.0  # type: ignore[index]
    with pytest.raises(SystemExit):
        main(["value", "set", "--help"])
    assert "keep their stored value" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(["--currency", "EURO"], "currency", id="unknown-currency"),
        pytest.param(["--cpm", "-3"], "cpm", id="negative"),
        pytest.param(["--cpc", "cheap"], "cpc", id="not-a-number"),
        pytest.param(["--program-cost", "nan"], "program_cost", id="nan"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    cli_env: None, capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    code, _, err = run(capsys, "value", "set", "--year", "2026", *args)
    assert code == 2 and err.startswith(f"error: {field}:") and "nothing was saved" in err
    assert "No value model" in run(capsys, "value", "show", "--year", "2026")[1]


def test_the_weekly_values_add_up_to_the_year(
    engine: Engine, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from services.domain.period import Period
    from services.reports import queries, value
    from services.reports.figures import iso_week, moment_breakdown, weekly_brand, weekly_support

    seed(engine)
    write_batch(
        engine,
        [batch(event(kind="impression", count=40_000, occurred_at="2026-03-10T10:00:00Z"),
               event(kind="click", count=25, occurred_at="2026-03-11T10:00:00Z"))],
        UTC,
    )  # fmt: skip
    assert run(capsys, "value", "set", "--year", "2026", "--cpm", "8", "--cpc", "0.5",
               "--cost-per-email-contact", "10", "--value-per-moment", "100")[0] == 0  # fmt: skip
    year = value_of(capsys)
    period = Period.of(2026, dt.date(2026, 3, 31), UTC)
    daily = queries.daily_by_kind(engine, period)
    clicks: dict[str, int] = {}
    for day, kind, count in daily:
        if kind == "click":
            clicks[iso_week(day)] = clicks.get(iso_week(day), 0) + count
    weeks = value.weekly_value(
        value.load(engine, 2026),  # type: ignore[arg-type]
        social_per_week={
            w["week"]: round(w["social_share"] * w["conversations"])
            for w in weekly_support(queries.conversations(engine, period), period)
        },
        brand_weeks=weekly_brand(daily, period),
        clicks_per_week=clicks,
        moments_per_week=moment_breakdown(queries.moments(engine, period), period)["per_week"],
    )
    assert len(weeks) >= 3
    assert weeks[-1]["cumulative_value"] == pytest.approx(year["total_value"])  # type: ignore[index]
    assert sum(w["support_savings"] for w in weeks) == pytest.approx(year["support_savings"])  # type: ignore[index]
