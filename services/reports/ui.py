"""Streamlit plumbing for the reports app: login, names as pages show them, tables, downloads and
links; the sidebar's filters are in sidebar.py, how a chart is drawn in plots.py.

Pages hold UI only; the math lives in figures.py, the reads (cached by their arguments) in
reads.py.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from babel.lists import format_list
from sqlmodel import Session

from services.common import csv_export, i18n
from services.common.i18n import N_
from services.domain import accounts
from services.domain.period import Period
from services.reports import cache, completeness, reads, value
from services.reports import formatting as fmt

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
