"""Conversations: the support conversations behind every figure, each linking to its thread."""

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from services.common import csv_export
from services.common.conversation_levels import ONLY, Window, count, listing
from services.common.i18n import N_
from services.common.period import Period
from services.common.vocabulary import network_label
from services.reports import formatting as fmt
from services.reports import ui

PAGE_SIZE = 100  # rows on a page; the CSV holds them all
SORTS = {"newest": "Newest first", "oldest": "Oldest first"}
ORDERS = list(SORTS)
ONLY_LABELS = {
    "answered": "answered",
    "unanswered": "not answered yet",
    "within_1h": "answered within 1 h",
    "resolved": "resolved",
    "social": "on social networks",
    "email": "by email",
}
# Response quality (docs/figures.md#response-quality-and-share-of-voice).
ONLY_LABELS |= {
    "rated": N_("rated by the customer"),
    "satisfied": N_("rated 4 or 5"),
    "low_rating": N_("rated 1 or 2"),
    "reopened": N_("reopened by the customer"),
}
# The download for people: its headers, and the rows' fields they come from.
PEOPLE_CSV = {
    "Started": "first_inbound_at",
    "Network": "network",
    "Account": "account",
    "Agent": "agent",
    "First response (minutes)": "first_response_s",
    "In business hours (minutes)": "first_response_business_s",
    "Resolved in (minutes)": "resolution_s",
    "SLA": "sla_met",
    "Rating": "rating",
    "Reopened": "reopened",
    "Customer's comment": "comment",
    "Conversation": "url",
    "Conversation id": "conversation_id",
}


def for_people(row: dict[str, Any], period: Period) -> list[object]:
    started = dt.datetime.fromisoformat(row["first_inbound_at"]).astimezone(period.tz)
    values = {**row, "first_inbound_at": started.strftime("%Y-%m-%d %H:%M")}
    values["sla_met"] = "met" if row["sla_met"] else "breached"
    # The comment as the customer wrote it (csv_value would read some words as our labels).
    return [
        values[field] if field == "comment" else fmt.csv_value(field, values[field])
        for field in PEOPLE_CSV.values()
    ]


def go(**changes: str) -> None:
    """Move to another page or order of the list; the URL holds it, so it can be shared."""
    for name, value in changes.items():
        st.query_params[name] = value


with ui.timed_page("conversations"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    params = st.query_params
    agent = params.get("agent") or None
    sla = params.get("sla") if params.get("sla") in ("met", "breached") else None
    only = params.get("only") if params.get("only") in ONLY else None
    network = params.get("network") or f.network  # a per-network figure's link names it
    st.title(
        "Support conversations"
        + (f" · {ui.plain(network_label(network))}" if network else "")
        + (f" · {ui.plain(f.account)}" if f.account else "")
    )
    # The agent, network and account come from the link (anyone can write one) and from the
    # data: shown as typed, never as Markdown (a link drawn there would look like ours).
    narrowed = [
        f"{f.year} to {period.as_of:%-d %b}",
        ui.plain(network_label(network)) if network else "all networks",
        ui.plain(f.account) if f.account else "all accounts",
    ]
    if only:
        narrowed.append(ui.speaker()._(ONLY_LABELS[only]))
    if agent:
        narrowed.append(f"first answered by {ui.plain(agent)}")
    if sla:
        narrowed.append(f"first-response SLA {sla}")
    st.caption(" · ".join(narrowed) + " · change the period and filters in the sidebar")
    window = Window(
        period.start_utc,
        period.end_utc,
        network=network,
        account=f.account,
        agent=agent,
        only=only,
    )
    sort = str(params.get("sort")) if params.get("sort") in SORTS else "newest"
    total = ui.cached(
        "conversation_count", lambda: count(ui.engine(), window, sla=sla), window, sla
    )
    if not total:
        st.info("No support conversations match these filters.")
        st.stop()
    pages = math.ceil(total / PAGE_SIZE)
    asked = params.get("page", "1")
    page = min(max(int(asked), 1), pages) if asked.isdigit() else 1
    rows = ui.cached(
        "conversation_page",
        lambda: list(
            listing(
                ui.engine(),
                window,
                sla=sla,
                newest_first=sort == "newest",
                offset=(page - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
        ),
        window,
        sla,
        sort,
        page,
    )
    first, last = (page - 1) * PAGE_SIZE + 1, (page - 1) * PAGE_SIZE + len(rows)
    plural = "s" if total != 1 else ""
    st.caption(
        f"{total:,} conversation{plural} · {first:,} to {last:,} shown, {SORTS[sort].lower()}"
    )
    sort_column, back, forth = st.columns([2, 1, 1], vertical_alignment="bottom")
    with sort_column:
        st.selectbox(
            "Order",
            ORDERS,
            index=ORDERS.index(sort),
            format_func=lambda key: SORTS[key],
            key="conversation_sort",
            on_change=lambda: go(sort=st.session_state["conversation_sort"], page="1"),
        )
    with back:
        st.button(
            "← Previous",
            disabled=page <= 1,
            on_click=go,
            kwargs={"page": str(page - 1)},
            width="stretch",
        )
    with forth:
        st.button(
            f"Next → (page {page + 1} of {pages})" if page < pages else f"Page {page} of {pages}",
            disabled=page >= pages,
            on_click=go,
            kwargs={"page": str(page + 1)},
            width="stretch",
        )
    table = pd.DataFrame(
        [
            {
                "Started": dt.datetime.fromisoformat(r["first_inbound_at"])
                .astimezone(period.tz)
                .strftime("%-d %b %H:%M"),
                "Network": network_label(r["network"]),
                "Account": r["account"],
                "Agent": r["agent"],
                "First response": fmt.duration(r["first_response_s"]),
                "In business hours": fmt.duration(r["first_response_business_s"]),
                "Resolved in": fmt.duration(r["resolution_s"]),
                "SLA": "met" if r["sla_met"] else "breached",
                # The customer's own words: a table cell shows them as text, never as markup.
                ui.speaker()._("Rating"): r["rating"] or "",
                ui.speaker()._("Reopened"): "✓" if r["reopened"] else "",
                ui.speaker()._("Customer's comment"): r["comment"] or "",
                "Conversation": r["url"] or "",
            }
            for r in rows
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"Conversation": st.column_config.LinkColumn(display_text="open")},
    )
    ui.csv_download(  # made when clicked: every row, however many, not only this page
        "Download these conversations (CSV)",
        lambda: csv_export.text(
            list(PEOPLE_CSV), (for_people(r, period) for r in listing(ui.engine(), window, sla=sla))
        ),
        f"conversations-{f.year}-{period.as_of.isoformat()}.csv",
        help="For people: minutes, names and local times. Scripts read the ingest API's CSV "
        "(GET /v1/conversations?format=csv): field names, seconds and UTC.",
    )
