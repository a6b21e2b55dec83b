"""Outcome events: the kinds, exact `value` and `currency` (refusals naming the field), the
proto round trip, exact storage on both databases, and the network-from-source table."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from services.domain.vocabulary import network_from_source
from services.ingest.events import Rejection, proto_to_dict, to_proto, validate
from services.ingest.sink import write_batch
from tests.factories import batch, event

UTC = ZoneInfo("UTC")


def sale(**overrides: Any) -> dict[str, Any]:
    return event(**{"kind": "conversion", "value": "19.99", "currency": "EUR", **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"value": "-1"}, "value", id="negative"),
        pytest.param({"value": -0.01}, "value", id="negative-number"),
        pytest.param({"value": "1.23456"}, "value", id="five-decimals"),
        pytest.param({"value": 209.99999999999997}, "value", id="float-noise"),
        pytest.param({"value": "abc"}, "value", id="not-a-number"),
        pytest.param({"value": "NaN"}, "value", id="nan"),
        pytest.param({"value": "Infinity"}, "value", id="infinity"),
        pytest.param({"value": True}, "value", id="boolean"),
        pytest.param({"value": [1]}, "value", id="list"),
        pytest.param({"value": "1e14"}, "value", id="too-large"),
        pytest.param({"currency": None}, "currency", id="value-without-currency"),
        pytest.param({"currency": "eur"}, "currency", id="lower-case-currency"),
        pytest.param({"currency": "EURO"}, "currency", id="four-letter-currency"),
        pytest.param({"currency": "E1R"}, "currency", id="digit-in-currency"),
        pytest.param({"kind": "visit"}, "value", id="value-on-a-visit"),
        pytest.param({"kind": "like"}, "value", id="value-on-a-like"),
        pytest.param({"kind": "followers", "value": None}, "currency", id="currency-on-followers"),
    ],
)
def test_bad_money_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    result = validate(sale(**overrides))
    assert isinstance(result, Rejection), result
    assert result.error.startswith(f"{field}:") or f" {field}" in result.error, result.error
    assert result.reason == field or field in result.error


def test_currency_error_says_what_to_send() -> None:
    result = validate(sale(currency="eur"))
    assert isinstance(result, Rejection)
    assert result.error == "currency: must be three upper-case letters (ISO 4217), e.g. USD"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        pytest.param("19.99", "19.99", id="string"),
        pytest.param(19.99, "19.99", id="json-number"),
        pytest.param(0.1, "0.1", id="tenth"),
        pytest.param(100, "100", id="integer"),
        pytest.param("0", "0", id="zero"),
        pytest.param("12.3400", "12.34", id="trailing-zeros"),
        pytest.param("1.00000", "1", id="zeros-past-four-places"),
        pytest.param(" 7.5 ", "7.5", id="spaces"),
        pytest.param("0.0001", "0.0001", id="four-places"),
        pytest.param("99999999999999.9999", "99999999999999.9999", id="largest"),
    ],
)
def test_values_are_kept_exact(value: object, stored: str) -> None:
    result = validate(sale(value=value))
    assert not isinstance(result, Rejection), result
    assert result["value"] == stored


@pytest.mark.parametrize("kind", ["followers", "visit", "lead", "conversion"])
def test_the_outcome_kinds_are_accepted(kind: str) -> None:
    assert not isinstance(validate(event(kind=kind, count=3)), Rejection)


def test_a_lead_may_carry_a_value_and_a_conversion_needs_none() -> None:
    assert not isinstance(validate(sale(kind="lead")), Rejection)
    assert not isinstance(validate(event(kind="conversion")), Rejection)


def test_value_and_currency_survive_the_proto() -> None:
    result = validate(sale(value=12.5, currency="JPY"))
    assert not isinstance(result, Rejection)
    back = proto_to_dict(to_proto(result))
    assert (back["value"], back["currency"]) == ("12.5", "JPY")
    assert validate(back) == result


def test_money_is_stored_exactly_on_both_databases(engine: Engine) -> None:
    """Three sales that float arithmetic gets wrong (0.1 + 0.2 != 0.3) sum to exact cents."""
    write_batch(
        engine,
        [
            batch(
                sale(event_id="a", value=0.1, currency="USD"),
                sale(event_id="b", value="0.2", currency="USD"),
                sale(event_id="c", value="99999999999999.9999", currency="JPY"),
                event(event_id="d", kind="visit", count=4),
            )
        ],
        UTC,
    )
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT currency, SUM(value_e4) FROM interaction_event "
                    "WHERE currency IS NOT NULL GROUP BY currency"
                )
            ).all()
        )
        visit = conn.execute(
            text("SELECT value_e4, currency FROM interaction_event WHERE event_id = 'd'")
        ).one()
    assert rows == {"USD": 3000, "JPY": 999_999_999_999_999_999}
    assert tuple(visit) == (None, None)


def test_a_replaced_order_keeps_its_new_value(engine: Engine) -> None:
    write_batch(engine, [batch(sale(event_id="o", value="50"), ingested_at_us=1)], UTC)
    write_batch(engine, [batch(sale(event_id="o", value="0", count=0), ingested_at_us=2)], UTC)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT count, value_e4, currency FROM interaction_event WHERE event_id = 'o'")
        ).one()
    assert tuple(row) == (0, 0, "EUR")


@pytest.mark.parametrize(
    ("source", "network"),
    [
        pytest.param("facebook", "facebook", id="facebook"),
        pytest.param("FB", "facebook", id="fb-any-case"),
        pytest.param("m.facebook.com", "facebook", id="facebook-subdomain"),
        pytest.param("l.facebook.com", "facebook", id="facebook-link-shim"),
        pytest.param("fb.com", "facebook", id="fb-host"),
        pytest.param("ig", "instagram", id="ig"),
        pytest.param("l.instagram.com", "instagram", id="instagram-subdomain"),
        pytest.param("x", "twitter", id="x"),
        pytest.param("t.co", "twitter", id="t.co"),
        pytest.param("https://t.co/abc?x=1", "twitter", id="t.co-url"),
        pytest.param("mobile.twitter.com", "twitter", id="twitter-subdomain"),
        pytest.param("lnkd.in", "linkedin", id="lnkd.in"),
        pytest.param("https://www.linkedin.com/feed/", "linkedin", id="linkedin-url"),
        pytest.param("tiktok", "tiktok", id="tiktok"),
        pytest.param("youtu.be", "youtube", id="youtu.be"),
        pytest.param("old.reddit.com", "reddit", id="reddit-subdomain"),
        pytest.param("google", None, id="google"),
        pytest.param("notfacebook.com", None, id="lookalike-host"),
        pytest.param("facebook.com.evil.example", None, id="facebook-as-subdomain"),
        pytest.param("xx", None, id="not-x"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_network_from_source(source: str | None, network: str | None) -> None:
    assert network_from_source(source) == network


def test_the_campaign_of_visits_leads_and_conversions_gets_its_column(engine: Engine) -> None:
    write_batch(
        engine,
        [
            batch(
                event(event_id="v", kind="visit", attributes={"utm_campaign": "k" * 300}),
                sale(event_id="s", attributes={"utm_campaign": "spring"}),
                event(event_id="e", kind="lead", attributes={"utm_campaign": ""}),
                event(event_id="l", kind="like", attributes={"utm_campaign": "spring"}),
            )
        ],
        UTC,
    )
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT event_id, campaign FROM interaction_event")).all())
    assert stored == {"v": "k" * 200, "s": "spring", "e": None, "l": None}


def monthly(engine: Engine) -> dict[tuple[str, ...], tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT month, network, kind, campaign, currency, count, value_e4, events "
                "FROM rollup_outcome_monthly WHERE count <> 0 OR value_e4 <> 0 OR events <> 0"
            )
        ).all()
    return {(str(r[0])[:10], *r[1:5]): (r[5], r[6], r[7]) for r in rows}


def test_the_monthly_outcome_rollup_follows_every_replacement(engine: Engine) -> None:
    """Per local month (Madrid), campaign and currency; a cancelled order, a redelivered one
    and one moved to another month leave exactly what the stored events say."""
    madrid = ZoneInfo("Europe/Madrid")
    spring = {"utm_campaign": "spring"}
    first = [
        sale(event_id="o1", value="10.5", occurred_at="2026-03-31T22:30:00Z", attributes=spring),
        sale(event_id="o2", value="20", occurred_at="2026-03-10T10:00:00Z"),
        sale(event_id="o3", value="5", occurred_at="2026-03-11T10:00:00Z"),
        event(event_id="v", kind="visit", count=40, occurred_at="2026-03-10T10:00:00Z"),
        sale(event_id="c", value=None, currency="EUR", occurred_at="2026-03-12T10:00:00Z"),
    ]
    write_batch(engine, [batch(*first, ingested_at_us=1)], madrid)
    write_batch(
        engine,
        [
            batch(
                sale(event_id="o2", value="0", count=0, occurred_at="2026-03-10T10:00:00Z"),
                sale(event_id="o3", value="5", occurred_at="2026-03-11T10:00:00Z"),
                sale(event_id="o1", value="10.5", occurred_at="2026-05-02T10:00:00Z"),
                ingested_at_us=2,
            )
        ],
        madrid,
    )
    assert monthly(engine) == {
        # o1 moved to May (it was 1 April in Madrid, 31 March in UTC).
        ("2026-05-01", "twitter", "conversion", "", "EUR"): (1, 105_000, 1),
        # o2 cancelled (count 0, value 0, still one event), o3 redelivered once.
        ("2026-03-01", "twitter", "conversion", "", "EUR"): (1, 50_000, 2),
        ("2026-03-01", "twitter", "visit", "", ""): (40, 0, 1),
        # A currency without a value: no revenue to sum.
        ("2026-03-01", "twitter", "conversion", "", ""): (1, 0, 1),
    }
