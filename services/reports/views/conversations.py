"""Conversations: the support conversations behind every figure, each linking to its thread."""

import datetime as dt

import pandas as pd
import streamlit as st

from services.common import csv_export
from services.common.conversation_levels import ONLY, ROW_FIELDS, Window, listing
from services.common.vocabulary import network_label
from services.reports import formatting as fmt
from services.reports import ui

SHOWN = 2_000  # rows on the page; the CSV holds them all
ONLY_LABELS = {
    "answered": "answered",
    "unanswered": "not answered yet",
    "within_1h": "answered within 1 h",
    "resolved": "resolved",
    "social": "on social networks",
    "email": "by email",
}

with ui.timed_page("conversations"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    params = st.query_params
    agent = params.get("agent") or None
    sla = params.get("sla") if params.get("sla") in ("met", "breached") else None
    only = params.get("only") if params.get("only") in ONLY else None
    network = params.get("network") or f.network  # a per-network figure's link names it
    st.title("Support conversations")
    # The agent, network and account come from the link (anyone can write one) and from the
    # data: shown as typed, never as Markdown (a link drawn there would look like ours).
    narrowed = [
        f"{f.year} to {period.as_of:%-d %b}",
        ui.plain(network_label(network)) if network else "all networks",
        ui.plain(f.account) if f.account else "all accounts",
    ]
    if only:
        narrowed.append(ONLY_LABELS[only])
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
    rows = ui.cached(
        "conversation_list",
        lambda: list(listing(ui.engine(), window, sla=sla, limit=SHOWN + 1)),
        f,
        window,
        sla,
    )
    if not rows:
        st.info("No support conversations match these filters.")
        st.stop()
    if len(rows) > SHOWN:
        st.caption(f"The first {SHOWN:,} are shown; the CSV below holds every one.")
    else:
        st.caption(f"{len(rows):,} conversation{'s' if len(rows) != 1 else ''}")
    table = pd.DataFrame(
        [
            {
                "Started": dt.datetime.fromisoformat(r["first_inbound_at"]).strftime(
                    "%-d %b %H:%M UTC"
                ),
                "Network": network_label(r["network"]),
                "Account": r["account"],
                "Agent": r["agent"],
                "First response": fmt.duration(r["first_response_s"]),
                "In business hours": fmt.duration(r["first_response_business_s"]),
                "Resolved in": fmt.duration(r["resolution_s"]),
                "SLA": "met" if r["sla_met"] else "breached",
                "Conversation": r["url"] or "",
            }
            for r in rows[:SHOWN]
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"Conversation": st.column_config.LinkColumn(display_text="open")},
    )
    everything = ui.cached(
        "conversation_csv",
        lambda: csv_export.text(
            ROW_FIELDS, ([r[k] for k in ROW_FIELDS] for r in listing(ui.engine(), window, sla=sla))
        ),
        f,
        window,
        sla,
    )
    st.download_button(
        "Download these conversations (CSV)",
        everything,
        f"conversations-{f.year}-{period.as_of.isoformat()}.csv",
        "text/csv",
    )
