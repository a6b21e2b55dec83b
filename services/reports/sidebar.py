"""The reports' sidebar: the filters (year, as-of day, network, account) kept in the URL so a
view can be shared, the language picker, who is signed in and logging out."""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from services.common import i18n
from services.common.clock import today_in
from services.common.i18n import N_
from services.reports import cache, reads
from services.reports import formatting as fmt
from services.reports.ui import (
    ALL_ACCOUNTS,
    ALL_NETWORKS,
    Filters,
    Viewer,
    account_choice,
    account_name,
    log_out,
    long_day,
    moments_url,
    network_name,
    plain,
    speaker,
)


def _from_url(name: str, key: str, allowed: Callable[[str], Any]) -> None:
    """Put the URL's value of a filter into its widget's state (a shared or bookmarked link
    opens the view it names); an absent or unusable one leaves the widget as it is."""
    raw = st.query_params.get(name)
    if raw is None:
        return
    with contextlib.suppress(ValueError):
        value = allowed(raw)
        if value is not None:
            st.session_state[key] = value


def _to_url(name: str, value: str | None) -> None:
    """The filter in the URL while it differs from its default, so the view can be shared."""
    if value is None:
        st.query_params.pop(name, None)
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def _choice(options: list[Any]) -> Callable[[str], Any]:
    return lambda raw: next((o for o in options if str(o) == raw), None)


def sidebar(viewer: Viewer) -> Filters:
    """The period and slice every page shows, kept in the URL (year, as_of, network, account)
    as well as in the widgets: the URL wins when it names one, so a link opens its view."""
    pairs = reads.filter_options()
    networks = sorted({network for network, _ in pairs})
    today = today_in(cache.settings().timezone)
    # This year, and back to the first year with data: no year the list offers is empty.
    span = reads.data_years()
    first = min(span[0], today.year) if span else today.year
    years = list(range(max(today.year, span[1] if span else today.year), first - 1, -1))
    _from_url("year", "year", _choice(years))
    year = int(st.session_state.get("year", today.year))
    default_as_of = today if year == today.year else dt.date(year, 12, 31)
    as_of_key = f"as_of_{year}"
    _from_url(
        "as_of",
        as_of_key,
        lambda raw: day if (day := dt.date.fromisoformat(raw)).year == year else None,
    )
    st.session_state.setdefault(as_of_key, default_as_of)
    _from_url("network", "network", _choice([ALL_NETWORKS, *networks]))
    network = st.session_state.get("network", ALL_NETWORKS)
    # Only the accounts of the chosen network; events sent without one show as such.
    accounts = sorted({a for n, a in pairs if network in (ALL_NETWORKS, n)})
    account_key = f"account_{network}"
    _from_url("account", account_key, _choice([ALL_ACCOUNTS, *accounts]))
    sp = speaker()
    with st.sidebar:
        st.markdown(f"**{plain(viewer.name)}** · {sp._(ROLES.get(viewer.role, viewer.role))}")
        # The other site of the same login: logging moments (managers) or reading them.
        st.link_button(
            sp._("Log a moment") if viewer.can_edit_goals else sp._("Moments log"),
            moments_url() + "/",
            icon=":material/edit_note:",
            width="stretch",
        )
        year = int(
            st.selectbox(
                sp._("Year"),
                years,
                key="year",
                format_func=lambda y: sp.digits(str(y)),
                on_change=_widget_to_url,
                args=("year",),
            )
        )
        as_of = as_of_picker(sp, as_of_key, year, last=default_as_of)
        network = st.selectbox(
            sp._("Network"),
            [ALL_NETWORKS, *networks],
            key="network",
            format_func=lambda n: network_name(n, sp),
            on_change=_widget_to_url,
            args=("network",),
        )
        account = st.selectbox(
            sp._("Account"),
            [ALL_ACCOUNTS, *accounts],
            key=account_key,
            format_func=lambda a: (
                account_choice(a, pairs, sp) if network == ALL_NETWORKS else account_name(a, sp)
            ),
            on_change=_widget_to_url,
            args=("account", account_key),
        )
        if st.button(sp._("Log out")):
            log_out()
            st.rerun()
    as_of_day = as_of if isinstance(as_of, dt.date) else default_as_of
    filters = Filters(
        year=year,
        as_of=as_of_day,
        network=None if network == ALL_NETWORKS else network,
        account=None if account == ALL_ACCOUNTS else account,
    )
    _to_url("year", None if year == today.year else str(year))
    _to_url("as_of", None if as_of_day == default_as_of else as_of_day.isoformat())
    _to_url("network", filters.network)
    _to_url("account", filters.account)
    return filters


ROLES = {"admin": N_("admin"), "manager": N_("manager"), "viewer": N_("viewer")}


def as_of_picker(sp: i18n.Speaker, key: str, year: int, *, last: dt.date) -> dt.date:
    """The as-of day as a month and a day of it, each named in the reader's language (the
    calendar of st.date_input speaks English only), up to `last` (today in this year); the
    day chosen is kept under `key` and written out in full beneath (Persian: the Jalali date
    too)."""
    chosen = st.session_state.get(key)
    day = chosen if isinstance(chosen, dt.date) and chosen.year == year else last
    day = min(day, last)
    st.session_state[key] = day
    month_key, day_key = f"{key}_month", f"{key}_day"
    st.session_state[month_key], st.session_state[day_key] = day.month, day.day
    months = list(range(1, last.month + 1))
    last_day = last.day if day.month == last.month else calendar.monthrange(year, day.month)[1]
    month_box, day_box = st.columns([3, 2])
    month_box.selectbox(
        sp._("As of: month"),
        months,
        key=month_key,
        format_func=lambda m: fmt.month_name(dt.date(year, m, 1), sp),
        on_change=_day_to_url,
        args=(key, year, last),
    )
    day_box.selectbox(
        sp._("Day"),
        list(range(1, last_day + 1)),
        key=day_key,
        format_func=lambda d: sp.digits(str(d)),
        on_change=_day_to_url,
        args=(key, year, last),
    )
    st.caption(long_day(day, sp))
    return day


def _day_to_url(key: str, year: int, last: dt.date) -> None:
    """The month or day the person picked, as the as-of day (a day past the month's end is
    its last), into the session and the URL before the page runs again."""
    month = int(st.session_state[f"{key}_month"])
    day = min(int(st.session_state[f"{key}_day"]), calendar.monthrange(year, month)[1])
    chosen = min(dt.date(year, month, day), last)
    st.session_state[key] = chosen
    if chosen == last:
        st.query_params.pop("as_of", None)
    else:
        st.query_params["as_of"] = chosen.isoformat()


def _widget_to_url(name: str, key: str | None = None) -> None:
    """A filter the person changed goes into the URL before the page runs again (else the
    URL's older value would win over it)."""
    value = st.session_state[key or name]
    if name == "year":
        # Another year: its own as-of day and no filter of the year before in the URL.
        st.query_params.pop("as_of", None)
    if name == "network":
        st.query_params.pop("account", None)  # the accounts of another network
    if value in (ALL_NETWORKS, ALL_ACCOUNTS):
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
