"""Conversations: the support conversations behind every figure, each linking to its thread."""

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from services.common import csv_export
from services.common.i18n import N_
from services.domain.conversation_levels import ONLY, Window, listing
from services.domain.period import Period
from services.reports import cache, reads, ui
from services.reports import formatting as fmt

PAGE_SIZE = 100  # rows on a page; the CSV holds them all
SORTS = {"newest": N_("Newest first"), "oldest": N_("Oldest first")}
ORDERS = list(SORTS)
ONLY_LABELS = {
    "answered": N_("answered"),
    "unanswered": N_("not answered yet"),
    "within_1h": N_("answered within 1 h"),
    "resolved": N_("resolved"),
    "social": N_("on social networks"),
    "email": N_("by email"),
}
# Response quality (docs/figures.md#response-quality-and-share-of-voice).
ONLY_LABELS |= {
    "rated": N_("rated by the customer"),
    "satisfied": N_("rated 4 or 5"),
    "low_rating": N_("rated 1 or 2"),
    "reopened": N_("reopened by the customer"),
}
# Lists about what customers thought: their rating and words come first, not after the times.
QUALITY_VIEWS = {"rated", "satisfied", "low_rating", "reopened"}
SLA_WORDS = {"met": N_("met"), "breached": N_("breached")}
# The download for people: its headers (read in their language), and the rows' fields.
PEOPLE_CSV = {
    N_("Started"): "first_inbound_at",
    N_("Network"): "network",
    N_("Account"): "account",
    N_("Agent"): "agent",
    N_("First response (minutes)"): "first_response_s",
    N_("In business hours (minutes)"): "first_response_business_s",
    N_("Resolved in (minutes)"): "resolution_s",
    N_("SLA"): "sla_met",
    N_("Rating"): "rating",
    N_("Reopened"): "reopened",
    N_("Customer's comment"): "comment",
    N_("Conversation"): "url",
    N_("Conversation id"): "conversation_id",
}
sp = ui.speaker()
_ = sp._


def for_people(row: dict[str, Any], period: Period) -> list[object]:
    started = dt.datetime.fromisoformat(row["first_inbound_at"]).astimezone(period.tz)
    values = {**row, "first_inbound_at": started.strftime("%Y-%m-%d %H:%M")}
    values["sla_met"] = _(SLA_WORDS["met" if row["sla_met"] else "breached"])
    # The comment as the customer wrote it (csv_value would read some words as our labels).
    return [
        values[field] if field == "comment" else fmt.csv_value(field, values[field], sp)
        for field in PEOPLE_CSV.values()
    ]


def started_at(row: dict[str, Any], tz: Any) -> str:
    """When a conversation started, local: "4 Mar 14:05" (the language's own day and month)."""
    started = dt.datetime.fromisoformat(row["first_inbound_at"]).astimezone(tz)
    if sp.language == "en":
        return started.strftime("%-d %b %H:%M")
    return f"{fmt.week_day(started.date(), sp)} {sp.digits(started.strftime('%H:%M'))}"


def go(**changes: str) -> None:
    """Move to another page or order of the list; the URL holds it, so it can be shared."""
    for name, value in changes.items():
        st.query_params[name] = value


with cache.timed_page("conversations"):
    f: ui.Filters = st.session_state["filters"]
    period = f.period()
    params = st.query_params
    agent = params.get("agent") or None
    sla = params.get("sla") if params.get("sla") in ("met", "breached") else None
    only = params.get("only") if params.get("only") in ONLY else None
    network = params.get("network") or f.network  # a per-network figure's link names it
    st.title(
        _("Support conversations")
        + (f" · {ui.plain(ui.network_name(network, sp))}" if network else "")
        + (f" · {ui.plain(ui.account_name(f.account, sp))}" if f.account else "")
    )
    # The agent, network and account come from the link (anyone can write one) and from the
    # data: shown as typed, never as Markdown (a link drawn there would look like ours).
    narrowed = [
        _("{year} to {day}", year=sp.digits(str(f.year)), day=fmt.week_day(period.as_of, sp)),
        ui.plain(ui.network_name(network, sp)) if network else _("all networks"),
        ui.plain(ui.account_name(f.account, sp)) if f.account else _("all accounts"),
    ]
    if only:
        narrowed.append(_(ONLY_LABELS[only]))
    if agent:
        narrowed.append(_("first answered by {agent}", agent=ui.plain(agent)))
    if sla:
        narrowed.append(_("first-response SLA {state}", state=_(SLA_WORDS[sla])))
    st.caption(" · ".join([*narrowed, _("change the period and filters in the sidebar")]))
    window = Window(
        period.start_utc,
        period.end_utc,
        network=network,
        account=f.account,
        agent=agent,
        only=only,
    )
    sort = str(params.get("sort")) if params.get("sort") in SORTS else "newest"
    total = reads.conversation_count(window, sla=sla)
    if not total:
        st.info(_("No support conversations match these filters."))
        st.stop()
    pages = math.ceil(total / PAGE_SIZE)
    asked = params.get("page", "1")
    page = min(max(int(asked), 1), pages) if asked.isdigit() else 1
    rows = reads.conversation_page(
        window,
        sla=sla,
        newest_first=sort == "newest",
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    first, last = (page - 1) * PAGE_SIZE + 1, (page - 1) * PAGE_SIZE + len(rows)
    st.caption(
        sp.n_("{n} conversation", "{n} conversations", total)
        + " · "
        + _(
            "{first} to {last} shown, {order}",
            first=sp.number(first),
            last=sp.number(last),
            order=_(SORTS[sort]).lower(),
        )
    )
    sort_column, back, forth = st.columns([2, 1, 1], vertical_alignment="bottom")
    with sort_column:
        st.selectbox(
            _("Order"),
            ORDERS,
            index=ORDERS.index(sort),
            format_func=lambda key: _(SORTS[key]),
            key="conversation_sort",
            on_change=lambda: go(sort=st.session_state["conversation_sort"], page="1"),
        )
    with back:
        st.button(
            _("← Previous"),
            disabled=page <= 1,
            on_click=go,
            kwargs={"page": str(page - 1)},
            width="stretch",
        )
    with forth:
        st.button(
            _("Next → (page {page} of {pages})", page=sp.number(page + 1), pages=sp.number(pages))
            if page < pages
            else _("Page {page} of {pages}", page=sp.number(page), pages=sp.number(pages)),
            disabled=page >= pages,
            on_click=go,
            kwargs={"page": str(page + 1)},
            width="stretch",
        )
    link = _("Conversation")
    table = pd.DataFrame(
        [
            {
                _("Started"): started_at(r, period.tz),
                _("Network"): ui.network_name(r["network"], sp),
                _("Account"): ui.account_name(r["account"], sp),
                _("Agent"): fmt.agent(r["agent"], sp),
                _("First response"): fmt.duration(r["first_response_s"], sp),
                _("In business hours"): fmt.duration(r["first_response_business_s"], sp),
                _("Resolved in"): fmt.duration(r["resolution_s"], sp),
                _("SLA"): _(SLA_WORDS["met" if r["sla_met"] else "breached"]),
                # The customer's own words: a table cell shows them as text, never as markup.
                _("Rating"): sp.digits(str(r["rating"])) if r["rating"] else "",
                _("Reopened"): "✓" if r["reopened"] else "",
                _("Customer's comment"): r["comment"] or "",
                link: r["url"] or "",
            }
            for r in rows
        ]
    )
    if only in QUALITY_VIEWS:
        leading = [_("Started"), _("Rating"), _("Reopened"), _("Customer's comment")]
        table = table[leading + [c for c in table.columns if c not in leading]]
    ui.dataframe(table, column_config={link: st.column_config.LinkColumn(display_text=_("open"))})
    said = [r for r in rows if r["comment"]]
    if said:
        # A cell cuts a comment short: here each is read whole, with what it was said of.
        st.subheader(_("What the customers said"))
        for r in said:
            about = [
                started_at(r, period.tz),
                ui.plain(ui.network_name(r["network"], sp)),
                ui.plain(ui.account_name(r["account"], sp)),
            ]
            if r["rating"]:
                about.append(_("rated {rating} of 5", rating=sp.digits(str(r["rating"]))))
            if r["reopened"]:
                about.append(_(ONLY_LABELS["reopened"]))
            with st.container(border=True):
                st.caption(" · ".join(about))
                # Isolated (FSI ... PDI): a comment in the other direction than the page, an
                # English one on an Arabic page, keeps its own order, its quotes and brackets.
                st.markdown(ui.plain(f"\u2068{r['comment']}\u2069"))
    ui.csv_download(  # made when clicked: every row, however many, not only this page
        _("Download these conversations (CSV)"),
        lambda: csv_export.text(
            [_(header) for header in PEOPLE_CSV],
            (for_people(r, period) for r in listing(cache.engine(), window, sla=sla)),
        ),
        f"conversations-{f.year}-{period.as_of.isoformat()}.csv",
        help=_(
            "For people: minutes, names and local times. Scripts read the ingest API's CSV "
            "({endpoint}): field names, seconds and UTC.",
            endpoint="GET /v1/conversations?format=csv",
        ),
    )
