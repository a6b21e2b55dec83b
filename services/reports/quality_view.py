"""Response quality on the Overview and Support pages: CSAT, average rating, response rate,
reopened and reopen rate, each opening the conversations behind it
(docs/figures.md#response-quality-and-share-of-voice)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.reports import ui


def rate(sp: Any, value: float | None) -> str:
    return "—" if value is None else sp.percent(value)


def average(sp: Any, value: float | None) -> str:
    return "—" if value is None else sp.number(value, 2)


def figures(s: dict[str, Any], *, compact: bool = False) -> None:
    """The five figures as metrics; `compact` stacks them (the Overview's support column)."""
    sp = ui.speaker()
    cells = [st.container() for _ in range(5)] if compact else list(st.columns(5))
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
        ui.conversations_link(sp._("The rated conversations"), only="rated")
        ui.conversations_link(sp._("Low ratings (1 or 2)"), only="low_rating")
    with cells[1]:
        st.metric(sp._("Average rating"), average(sp, s["csat_average"]), help=sp._("1 to 5"))
        ui.conversations_link(sp._("The satisfied customers (4 or 5)"), only="satisfied")
    with cells[2]:
        st.metric(
            sp._("Rating response rate"),
            rate(sp, s["csat_response_rate"]),
            help=sp._("ratings / resolved conversations"),
        )
        ui.conversations_link(sp._("The resolved conversations"), only="resolved")
    with cells[3]:
        st.metric(sp._("Reopened"), sp.number(int(s["reopened"])))
        ui.conversations_link(sp._("The reopened conversations"), only="reopened")
    with cells[4]:
        st.metric(
            sp._("Reopen rate"),
            rate(sp, s["reopen_rate"]),
            help=sp._("the customer wrote again after the resolution; lower is better"),
        )
