"""The value model (docs/figures.md#value-model-what-the-year-earned): what the year's social
work earned, in money, from a few assumptions a team can state, and those assumptions shown beside
every figure.

- support_savings = non-email conversations x (cost per email contact - cost per social contact)
- earned_media_value = impressions / 1000 x CPM + clicks x CPC
- moments_value = moments x value per moment; total_value = the sum of the three
- program_cost_to_date = program cost x elapsed days / days in year; roi = (total - cost) / cost
- measured: attributed_revenue = the period's conversion revenue in the model's currency;
  measured_roi = (attributed_revenue - cost) / cost
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from babel import Locale
from babel.numbers import format_currency, list_currencies
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.clock import utcnow
from services.common.db import write_session
from services.common.i18n import N_, Problem
from services.domain.period import Period
from services.domain.tables import ValueModelRow
from services.reports import formatting as fmt

AMOUNTS = (
    "cost_per_email_contact",
    "cost_per_social_contact",
    "cpm",
    "cpc",
    "value_per_moment",
    "program_cost",
)
LABELS = {
    "cost_per_email_contact": N_("Cost of one email support contact"),
    "cost_per_social_contact": N_("Cost of one social support contact"),
    "cpm": N_("Paid media CPM (per 1,000 impressions)"),
    "cpc": N_("Paid media CPC (per click)"),
    "value_per_moment": N_("Value of one meaningful moment"),
    "program_cost": N_("Programme cost for the year"),
}


class ValueModelError(Problem):
    """A value model that cannot be saved; the message names the field."""


def typed_amount(field: str, text: str) -> float | None:
    """An amount of the model as a person typed it in a form (fmt.parse_amount; None when
    empty), refused naming `field`, its label as the form shows it."""
    try:
        return fmt.parse_amount(text)
    except ValueError:
        raise ValueModelError(
            N_("{field}: {typed} is not an amount of 0 or more (e.g. 120,000 or 2.5)"),
            field=field,
            typed=repr(text.strip()),
        ) from None


@dataclass(frozen=True)
class ValueModel:
    year: int
    currency: str = "USD"
    cost_per_email_contact: float = 0.0
    cost_per_social_contact: float = 0.0
    cpm: float = 0.0
    cpc: float = 0.0
    value_per_moment: float = 0.0
    program_cost: float = 0.0

    def with_changes(self, **changes: Any) -> ValueModel:
        """The same model with some assumptions changed (the what-if view), checked."""
        return make_model(**{**asdict(self), **changes})


def make_model(*, year: int, currency: str = "USD", **amounts: Any) -> ValueModel:
    """A checked model; ValueModelError naming the field otherwise. Missing amounts are 0."""
    code = str(currency).strip().upper()
    if code not in list_currencies():
        raise ValueModelError(
            N_("currency: {currency} is not an ISO 4217 code (e.g. {examples})"),
            currency=repr(currency),
            examples="USD, EUR",
        )
    values: dict[str, float] = {}
    for name, raw in amounts.items():
        if name not in AMOUNTS:
            raise ValueModelError(N_("{name}: not part of the value model"), name=name)
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueModelError(
                N_("{name}: {raw} is not a number"), name=name, raw=repr(raw)
            ) from None
        if not math.isfinite(number) or number < 0:
            raise ValueModelError(N_("{name}: must be a number of 0 or more"), name=name)
        values[name] = number
    return ValueModel(year=year, currency=code, **values)


def value_figures(
    model: ValueModel,
    *,
    social_conversations: int,
    impressions: int,
    clicks: int,
    moments: int,
    period: Period,
    revenue: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """`summary.value` for this model and the period's figures; `revenue` is outcomes.revenue
    ({CURRENCY: amount}), of which only the model's currency is attributed (no exchange rates)."""
    savings = social_conversations * (model.cost_per_email_contact - model.cost_per_social_contact)
    earned = impressions / 1000 * model.cpm + clicks * model.cpc
    from_moments = moments * model.value_per_moment
    total = savings + earned + from_moments
    cost = model.program_cost * period.elapsed_days / period.days_in_year
    attributed = float((revenue or {}).get(model.currency, 0.0))
    return {
        "currency": model.currency,
        "support_savings": savings,
        "earned_media_value": earned,
        "moments_value": from_moments,
        "total_value": total,
        "program_cost_to_date": cost if model.program_cost else None,
        "roi": (total - cost) / cost if model.program_cost else None,
        "attributed_revenue": attributed,
        "measured_roi": (attributed - cost) / cost if model.program_cost else None,
    }


def weekly_value(
    model: ValueModel,
    *,
    social_per_week: dict[str, int],
    brand_weeks: list[dict[str, Any]],
    clicks_per_week: dict[str, int],
    moments_per_week: dict[str, int],
) -> list[dict[str, Any]]:
    """The value each ISO week earned (the same formulas, over that week's figures), with the
    running total: `week`, the three parts, `total_value`, `cumulative_value`."""
    impressions = {w["week"]: w["impressions"] for w in brand_weeks}
    weeks = sorted(
        set(social_per_week) | set(impressions) | set(clicks_per_week) | set(moments_per_week)
    )
    rows, cumulative = [], 0.0
    for week in weeks:
        savings = social_per_week.get(week, 0) * (
            model.cost_per_email_contact - model.cost_per_social_contact
        )
        earned = (
            impressions.get(week, 0) / 1000 * model.cpm + clicks_per_week.get(week, 0) * model.cpc
        )
        from_moments = moments_per_week.get(week, 0) * model.value_per_moment
        total = savings + earned + from_moments
        cumulative += total
        rows.append(
            {
                "week": week,
                "support_savings": savings,
                "earned_media_value": earned,
                "moments_value": from_moments,
                "total_value": total,
                "cumulative_value": cumulative,
            }
        )
    return rows


def social_conversations(support: dict[str, Any]) -> int:
    """Non-email conversations of a `support` block (its share times its count, exact)."""
    return round(float(support["social_share"] or 0) * int(support["conversations"]))


def of_summary(
    model: ValueModel,
    *,
    support: dict[str, Any],
    brand: dict[str, Any],
    moments: dict[str, Any],
    clicks: int,
    period: Period,
    revenue: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """`summary.value` from the summary's own blocks, the period's clicks and revenue."""
    return value_figures(
        model,
        social_conversations=social_conversations(support),
        impressions=brand["impressions"],
        clicks=clicks,
        moments=moments["count"],
        period=period,
        revenue=revenue,
    )


def money(amount: float | None, currency: str, locale: str = "en", *, whole: bool = False) -> str:
    """An amount as people read it (Babel, CLDR data): "€1,234,567.89"; `whole` rounds to the
    unit ("€1,234,568"), as an executive reads totals (an assumption such as a cost per contact
    keeps its cents)."""
    if amount is None:
        return "-"
    if not whole:
        return format_currency(amount, currency, locale=locale)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    return format_currency(
        round(amount),
        currency,
        format=re.sub(r"\.0+", "", pattern),
        locale=locale,
        currency_digits=False,
    )


def assumptions(model: ValueModel) -> list[tuple[str, str]]:
    """Each assumption with its value, as shown beside the money."""
    return [(LABELS[name], money(getattr(model, name), model.currency)) for name in AMOUNTS]


def load(engine: Engine, year: int) -> ValueModel | None:
    with Session(engine) as session:
        row = session.get(ValueModelRow, year)
    if row is None:
        return None
    return ValueModel(**{f.name: getattr(row, f.name) for f in fields(ValueModel)})


def save(engine: Engine, model: ValueModel, *, actor: str) -> ValueModel:
    """Store the year's model (replacing the one before)."""
    with write_session(engine) as session:
        old = session.get(ValueModelRow, model.year)
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(ValueModelRow(**asdict(model), updated_by=actor, updated_at=utcnow()))
        session.commit()
    return model


def set_model(engine: Engine, *, year: int, actor: str, **given: Any) -> ValueModel:
    """`rapport value set`: the given parameters over the stored model's (missing ones are 0
    for a new model), checked before anything is saved."""
    current = load(engine, year)
    base = asdict(current) if current else {"year": year}
    wanted = {k: v for k, v in given.items() if v is not None}
    model = make_model(**{**base, **wanted})
    return save(engine, replace(model, year=year), actor=actor)
