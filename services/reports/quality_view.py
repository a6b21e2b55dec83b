"""Response quality on the Overview and Support pages: CSAT, average rating, response rate,
reopened and reopen rate, each opening the conversations behind it
(docs/figures.md#response-quality-and-share-of-voice)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.reports import formatting as fmt
from services.reports import ui


def rate(sp: Any, value: float | None) -> str:
    """As every other rate on the pages ("77.5 %" in English)."""
    return fmt.rate(value, sp)


def average(sp: Any, value: float | None) -> str:
    return fmt.NONE if value is None else sp.number(value, 2)


def figures(s: dict[str, Any], *, compact: bool = False) -> None:
    """The five figures as metrics, then the conversations behind them; `compact` stacks them
    (the Overview's support column), each figure with its links under it. Side by side, the
    links go in rows of their own below: five columns cut their labels short."""
    sp = ui.speaker()
    cells = [st.container() for _ in range(5)] if compact else list(st.columns(5))
    links: list[tuple[str, dict[str, str]]] = []

    def behind(*found: tuple[str, str]) -> None:
        if compact:
            for label, only in found:
                ui.conversations_link(label, only=only)
        else:
            links.extend((label, {"only": only}) for label, only in found)

    with cells[0]:
        st.metric(
            sp._("CSAT"),
            rate(sp, s["csat"]),
            help=sp.n_(
                "rated 4 or 5 of 5, out of {n} rating",
                "rated 4 or 5 of 5, out of {n} ratings",
                int(s["csat_responses"]),
            ),
        )
        behind(
            (sp._("The rated conversations"), "rated"),
            (sp._("Low ratings (1 or 2)"), "low_rating"),
        )
    with cells[1]:
        st.metric(sp._("Average rating"), average(sp, s["csat_average"]), help=sp._("1 to 5"))
        behind((sp._("The satisfied customers (4 or 5)"), "satisfied"))
    with cells[2]:
        st.metric(
            sp._("Rating response rate"),
            rate(sp, s["csat_response_rate"]),
            help=sp._("ratings / resolved conversations"),
        )
        behind((sp._("The resolved conversations"), "resolved"))
    with cells[3]:
        st.metric(sp._("Reopened"), sp.number(int(s["reopened"])))
        behind((sp._("The reopened conversations"), "reopened"))
    with cells[4]:
        st.metric(
            sp._("Reopen rate"),
            rate(sp, s["reopen_rate"]),
            help=sp._("the customer wrote again after the resolution; lower is better"),
        )
    if links:
        ui.conversations_links(links, per_row=3)
