"""Streamlit plumbing for the reports app: login, sidebar filters, cached data, metrics.

Pages hold UI only; the math lives in figures.py, the reads (cached by their arguments) in
reads.py.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from babel.lists import format_list
from sqlmodel import Session

from services.common import csv_export, i18n
from services.common.clock import today_in
from services.common.i18n import N_
from services.domain import accounts
from services.domain.period import Period
from services.reports import cache, charts, completeness, reads, value
from services.reports import formatting as fmt
from services.reports.figures import iso_week, week_in_period

T = TypeVar("T")
# The filters' "everything" choices: these values are the widgets' options (and never in the
# URL); people read them in their language through the select boxes' format_func.
ALL_NETWORKS, ALL_ACCOUNTS = N_("All networks"), N_("All accounts")
NO_ACCOUNT = N_("(sent without an account)")


def network_name(name: str, sp: i18n.Speaker) -> str:
    """A network as the reader says it: brand names as the platforms write them, the common
    nouns (email, other) in the reader's language."""
    return sp._(name) if name == ALL_NETWORKS else fmt.network(name, sp)


def account_name(account: str, sp: i18n.Speaker) -> str:
    """An account as typed, or what the filter's choices and the events without one read."""
    if account in (ALL_ACCOUNTS, NO_ACCOUNT):
        return sp._(account)
    return sp._(NO_ACCOUNT) if account == "default" else account


def account_choice(account: str, pairs: list[tuple[str, str]], sp: i18n.Speaker) -> str:
    """An account as a list of every network's accounts names it: with its networks beside it
    ("Rapport · Facebook and LinkedIn"), so one name on two networks is not read as a
    duplicate or as the wrong network's."""
    networks = sorted(fmt.network(n, sp) for n, a in pairs if a == account)
    if account in (ALL_ACCOUNTS, NO_ACCOUNT, "default") or not networks:
        return account_name(account, sp)
    return sp._(
        "{account} · {networks}",
        account=account,
        networks=format_list(networks, locale=sp.language),
    )


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    language: str | None = None  # the account's own; None: the browser's (i18n.choose)

    @property
    def can_edit_goals(self) -> bool:
        return self.role in ("admin", "manager")


def signed_in() -> Viewer | None:
    """Who is signed in: the session of the cookie both sites share (set by the moments site's
    login), looked up on every run so a log-out anywhere, an expiry or a disabled account ends
    it here too. A test may put a user straight into the session state."""
    found = st.session_state.get("user")
    if found and "session_id" not in st.session_state:
        return Viewer(**found)
    cookie = st.context.cookies.get(accounts.SESSION_COOKIE)
    session_id = cookie if isinstance(cookie, str) else None  # AppTest has no real cookies
    with Session(cache.engine()) as session:
        resolved = accounts.resolve(session, session_id)
    if resolved is None or resolved[0].must_change_password:
        st.session_state.pop("user", None)
        st.session_state.pop("session_id", None)
        return None
    user, login = resolved
    st.session_state["user"] = {"name": user.username, "role": user.role}
    st.session_state["session_id"] = login.id
    return Viewer(user.username, user.role, user.language)


def speaker() -> i18n.Speaker:
    """The language this run's pages speak: the signed-in account's own, else the browser's
    Accept-Language, else RAPPORT_LANGUAGE (docs/using.md)."""
    viewer: Viewer | None = st.session_state.get("viewer")
    header = st.context.headers.get("Accept-Language")
    return i18n.speaker(
        i18n.choose(
            own=viewer.language if viewer else None,
            header=header if isinstance(header, str) else None,
            default=cache.settings().rapport_language,
        )
    )


def login_url(path: str = "") -> str:
    """The moments site's login, coming back to this page of the reports with the view its URL
    names (a bookmarked or e-mailed link opens what it shows once the person has logged in)."""
    back = cache.settings().reports_url + path
    query = urlencode(dict(st.query_params.items()))
    return f"{moments_url()}/login?{urlencode({'next': f'{back}?{query}' if query else back})}"


def login_page(path: str = "") -> None:
    """The one page before login, whichever page was asked for (`path`): one account and one
    login for both sites."""
    sp = speaker()
    st.title("Rapport")
    st.markdown(
        sp._(
            "Log in with your Rapport account: the same login serves the moments pages and "
            "these reports, and it lasts across reloads, bookmarks and tabs."
        )
    )
    log_in = sp._("Log in")
    # A link in this tab (st.link_button opens another tab), back here once logged in.
    st.markdown(
        f'<a href="{html.escape(login_url(path))}" target="_self" class="rapport-login" '
        'style="display:inline-block;padding:.5rem 1.2rem;border-radius:.5rem;'
        f'background:#3056d3;color:#fff;text-decoration:none;font-weight:600">'
        f"{html.escape(log_in)}</a>",
        unsafe_allow_html=True,  # our own markup; the values in it are escaped
    )
    st.stop()


def log_out() -> None:
    """End the session itself (in the database), not only this tab's memory of it."""
    session_id = st.session_state.pop("session_id", None)
    st.session_state.pop("user", None)
    if session_id:
        with Session(cache.engine()) as session:
            accounts.end_session(session, session_id)


@dataclass(frozen=True)
class Filters:
    year: int
    as_of: dt.date
    network: str | None
    account: str | None

    def period(self) -> Period:
        return Period.of(self.year, self.as_of, cache.settings().timezone)

    @property
    def sliced(self) -> bool:
        return bool(self.network or self.account)

    def slice_name(self, sp: i18n.Speaker) -> str:
        """The slice as people name it: "Instagram · @brand", "Instagram", or "All networks"."""
        parts = [network_name(self.network, sp)] if self.network else []
        if self.account:
            parts.append(account_name(self.account, sp))
        return " · ".join(parts) or sp._(ALL_NETWORKS)


def chart_title(title: str, f: Filters) -> str:
    """A chart's title naming the slice it shows (Plotly reads a few HTML tags: escaped)."""
    return f"{title} · {html.escape(f.slice_name(speaker()))}" if f.sliced else title


# A tooltip is the sentence `hover` wrote for its point, nothing of Plotly's own (field names,
# raw floats such as value=46487.600000000006).
HOVER = "%{customdata}<extra></extra>"


def hover(figure: Any, said: Callable[[str, Any, Any], str]) -> None:
    """Every trace's tooltip in people's words and units: `said(trace name, x, y)` for each
    point, its figures written by the reader's speaker."""
    for trace in figure.data:
        trace.customdata = [
            "" if pd.isna(y) else said(trace.name, x, y)  # no point is drawn there
            for x, y in zip(trace.x, trace.y, strict=True)
        ]
        trace.hovertemplate = HOVER


def said(when: str | None, what: str, value: str) -> str:
    """One point of a chart as a tooltip says it: when (if a time), then what and how much."""
    if when is None:
        return speaker()._("{what}: {value}", what=what, value=value)
    return speaker()._("{when}<br>{what}: {value}", when=when, what=what, value=value)


def week_of(x: Any, period: Period) -> str:
    """The tooltip's name of the week a chart drew at its Monday `x` (a date or a timestamp)."""
    return week_label(iso_week(pd.Timestamp(x).date()), period)


def week_label(week: str, period: Period) -> str:
    """A week as a tooltip names it: "Week of 5 Jan", and a week cut short says so ("Week from
    1 Jan (its first days in the year)", "Week of 30 Nov, so far")."""
    sp = speaker()
    first, cut = week_in_period(week, period)
    day = fmt.week_day(first, sp)
    if not cut:
        return sp._("Week of {day}", day=day)
    if first == period.first_day:
        return sp._("Week from {day} (its first days in the year)", day=day)
    return sp._("Week of {day}, so far", day=day)


def part_weeks(figure: Any, weeks: list[str], period: Period) -> None:
    """Bars of a week the year's start or the as-of day cuts short drawn lighter: fewer days,
    not a drop. `weeks`: the ISO weeks of each bar trace's points, in order."""
    cut = [week_in_period(w, period)[1] for w in weeks]
    for trace in figure.data:
        if trace.type == "bar":
            base = trace.marker.opacity if isinstance(trace.marker.opacity, float) else 1.0
            trace.marker.opacity = [base * (0.35 if c else 1.0) for c in cut]


def whole_weeks(weeks: list[str], period: Period) -> list[str]:
    """The weeks a line draws: a week cut short would read as a drop, so lines leave it out."""
    return [w for w in weeks if not week_in_period(w, period)[1]]


PART_WEEKS = N_(
    "Weeks run Monday to Sunday. A week or month cut short (the year's first days, the one in "
    "progress) is drawn lighter in bars and left out of lines, so it does not read as a drop."
)


# Every page, every width. On a phone nothing scrolls the page sideways: a plain table wider
# than the screen scrolls in its own box with its figures on one line, and Plotly's toolbar
# (which sat on the charts' titles on a touch screen) shows only to a mouse that hovers.
LAYOUT_STYLE = """
<style>
[data-testid="stMarkdownContainer"] table { display: block; max-width: 100%; overflow-x: auto; }
@media (hover: none), (max-width: 640px) { .modebar-container { display: none !important; } }
@media (max-width: 640px) {
  [data-testid="stMarkdownContainer"] table { font-size: .85rem; }
  [data-testid="stMarkdownContainer"] th, [data-testid="stMarkdownContainer"] td {
    padding: .3rem .4rem; }
  [data-testid="stMarkdownContainer"] td:not(:first-child) { white-space: nowrap; }
}
</style>
"""


def plot(figure: go.Figure, place: Any = None) -> None:
    """A chart at full width (in `place`, a column, else the page), its ticks, hover labels,
    title and legend as the reader reads them (charts.for_reader)."""
    (place or st).plotly_chart(charts.for_reader(figure, speaker()), width="stretch")


def long_day(day: dt.date, sp: i18n.Speaker) -> str:
    """ "5 December 2026" as the reader writes it (Persian with the Jalali date first)."""
    return f"{day:%-d %B %Y}" if sp.language == "en" else sp.date(day, "long")


def page_title(title: str, f: Filters) -> None:
    """A page's title naming its slice when the sidebar narrows it (a filtered page must say
    so), and the period under it. The slice is user text (account names): shown as typed."""
    sp = speaker()
    st.title(f"{title} · {plain(f.slice_name(sp))}" if f.sliced else title)
    scope = plain(f.slice_name(sp)) if f.sliced else sp._("all networks and accounts")
    st.caption(
        sp._(
            "{year}, year to date as of {day} · {scope}",
            year=sp.digits(str(f.year)),
            day=long_day(f.as_of, sp),
            scope=scope,
        )
    )


def plain(text: str) -> str:
    """`text` for st.markdown, shown as typed: no links, emphasis or HTML of its own. Streamlit
    also turns bare addresses into links whatever their escapes, so an invisible word joiner
    (U+2060) breaks each `://` and `www.` it would find."""
    escaped = re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~:$])", r"\\\1", text)
    escaped = escaped.replace("\\://", "\\:\u2060//")
    return re.sub(r"(?i)(www)(\\\.)", "\\1\u2060\\2", escaped)


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


def conversations_link(label: str, **query: str) -> None:
    """A link to the Conversations page, narrowed like the figure it sits under (the sidebar's
    period and filters carry over)."""
    st.page_link(  # labels hold agent names and accounts: shown as typed, never as Markdown
        "views/conversations.py",
        label=plain(label),
        icon=":material/forum:",
        query_params=query or None,
    )


def csv_download(
    label: str, data: str | Callable[[], str], file: str, help: str | None = None
) -> None:
    """A download of a CSV for people (byte-order mark for Excel); a callable is made only when
    clicked (a large file is not built on every view)."""
    if callable(data):
        st.download_button(label, lambda: csv_export.for_excel(data()), file, "text/csv", help=help)
    else:
        st.download_button(label, csv_export.for_excel(data), file, "text/csv", help=help)


def table(rows: Any, *, download: str, file: str) -> None:
    """A table as shown, with our CSV of it beside it: Streamlit's own "Download as CSV" is off
    (server.STREAMLIT_FLAGS), since it writes user text as it is and a spreadsheet would run a
    formula in it; ours neutralises every cell."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    dataframe(frame)
    csv_download(download, csv_export.frame(frame), file)


def dataframe(rows: Any, column_config: dict[str, Any] | None = None) -> None:
    """A table at full width, without its index. Right to left, every column's cells start at
    the right under their header: the grid draws on a canvas that knows no direction."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    config = dict(column_config or {})
    if speaker().dir == "rtl":
        for name in frame.columns:
            config[name] = {**config.get(name, st.column_config.Column()), "alignment": "right"}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config or None)


def assumptions_table(model: value.ValueModel, year: int) -> None:
    """The value model's assumptions, each beside its amount, with their CSV (Overview and
    Settings)."""
    sp = speaker()
    rows = [
        {
            sp._("Assumption"): sp._(value.LABELS[name]),
            # Unit prices keep their cents; a whole programme cost reads without them.
            sp._("Value"): fmt.money(
                amount := float(getattr(model, name)),
                model.currency,
                sp,
                whole=name == "program_cost" and amount.is_integer(),
            ),
        }
        for name in value.AMOUNTS
    ]
    table(rows, download=sp._("Download assumptions (CSV)"), file=f"value-assumptions-{year}.csv")


def followers_metric(column: Any, audience: dict[str, Any]) -> None:
    """The latest follower totals and their change since 1 January (Overview and Outcomes)."""
    sp = speaker()
    growth = audience["net_growth"]
    column.metric(
        sp._("Followers"),
        fmt.number(audience["followers"], sp),
        **change(growth, lambda size: fmt.number(size, sp)),
        help=sp._("the latest follower totals; the change: since 1 January"),
    )


def change(amount: float | None, written: Callable[[float], str]) -> dict[str, Any]:
    """A metric's change: an arrow and green or red for a rise or a fall, none and grey for no
    change (a green "↑ $0" reads as good news). `written` writes the size as the figure does;
    Streamlit reads the direction from a leading minus, so the sign stays Latin whatever the
    digits."""
    if amount is None:
        return {"delta": None}
    size = written(abs(amount))
    if size == written(0):
        return {"delta": size, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": ("-" if amount < 0 else "") + size}


def conversations_links(links: list[tuple[str, dict[str, str]]], per_row: int = 4) -> None:
    """One conversations link per (label, query), in rows of `per_row`: every row of a table
    gets its link, however many there are."""
    for first in range(0, len(links), per_row):
        row = links[first : first + per_row]
        for column, (label, query) in zip(st.columns(per_row), row, strict=False):
            with column:
                conversations_link(label, **query)


def completeness_line(f: Filters) -> None:
    """Under an executive figure: the events it rests on, what was refused, how fresh it is."""
    found = reads.completeness_of(
        f.period(),
        group_id=cache.settings().kafka_consumer_group,
        network=f.network,
        account=f.account,
    )
    st.caption(completeness.line(found, speaker()) + ".")


def empty_state() -> None:
    """An empty period, said to each role as it can act on it."""
    viewer: Viewer | None = st.session_state.get("viewer")
    sp = speaker()
    if viewer is None or viewer.role != "admin":
        st.info(
            sp._(
                "No interactions for this period yet. Figures appear here as soon as your "
                "team's platforms are connected; choose another year or as-of day in the "
                "sidebar meanwhile."
            )
        )
        return
    # The commands stay as typed (the CLI speaks English); the sentences around them translate.
    st.info(
        sp._("No interactions for this period yet. To bring data in, on the server:")
        + "\n\n- "
        + sp._("{command} streams a realistic demo year;", command="`rapport demo`")
        + "\n- "
        + sp._(
            "{command} imports a platform's export;",
            command="`rapport import --source x_tweet_activity FILE.csv`",
        )
        + "\n- "
        + sp._(
            "the Platform connections on the Settings page show which live sources are connected."
        )
    )


def moments_url() -> str:
    return cache.settings().moments_url
