"""Streamlit plumbing for the reports app: login, sidebar filters, cached data, metrics.

Pages hold UI only; the math lives in figures.py and the reads in queries.py.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st
from prometheus_client import Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import accounts
from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.common.period import Period
from services.reports import completeness, queries
from services.reports.metrics import PAGE_RENDER, QUERY

T = TypeVar("T")
CACHE_TTL_S = 60


def _metrics() -> dict[str, Histogram]:
    """The page histograms; `rapport reports` serves them from process start (serve_metrics)."""
    return {"render": PAGE_RENDER, "query": QUERY}


@st.cache_resource
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    return _engine(get_settings().database_url)


def _limiter() -> accounts.LoginLimiter:
    return accounts.LoginLimiter(engine())


def settings() -> Settings:
    return get_settings()


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str

    @property
    def can_edit_goals(self) -> bool:
        return self.role in ("admin", "manager")


def require_login() -> Viewer:
    """The logged-in person; otherwise a login form and the page stops here."""
    found = st.session_state.get("user")
    if found:
        return Viewer(**found)
    st.title("Rapport")
    st.caption("Log in with your Rapport account (the same as the moments pages).")
    with st.form("login"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        key = f"user:{username.strip().lower()}"
        if _limiter().blocked(key):
            st.error("Too many failed attempts. Wait a few minutes and try again.")
        else:
            with Session(engine()) as session:
                user = accounts.verify(session, username=username, password=password)
            if user is None:
                _limiter().failed(key)
                st.error("Wrong username or password.")
            else:
                _limiter().succeeded(key)
                st.session_state["user"] = {"name": user.username, "role": user.role}
                st.rerun()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run


@dataclass(frozen=True)
class Filters:
    year: int
    as_of: dt.date
    network: str | None
    account: str | None

    def period(self) -> Period:
        return Period.of(self.year, self.as_of, settings().timezone)


def plain(text: str) -> str:
    """`text` for st.markdown, shown as typed: no links, emphasis or HTML of its own."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~:$])", r"\\\1", text)


def sidebar(viewer: Viewer) -> Filters:
    networks, accounts = cached("filter_options", lambda: queries.filter_options(engine()))
    today = dt.datetime.now(settings().timezone).date()
    with st.sidebar:
        st.markdown(f"**{plain(viewer.name)}** · {viewer.role}")
        year = int(st.selectbox("Year", list(range(today.year, today.year - 6, -1)), key="year"))
        default_as_of = today if year == today.year else dt.date(year, 12, 31)
        as_of = st.date_input(
            "As of",
            value=default_as_of,
            min_value=dt.date(year, 1, 1),
            max_value=dt.date(year, 12, 31),
            key=f"as_of_{year}",
        )
        network = st.selectbox("Network", ["All networks", *networks], key="network")
        account = st.selectbox("Account", ["All accounts", *accounts], key="account")
        if st.button("Log out"):
            st.session_state.pop("user", None)
            st.rerun()
    as_of_day = as_of if isinstance(as_of, dt.date) else default_as_of
    return Filters(
        year=year,
        as_of=as_of_day,
        network=None if network == "All networks" else network,
        account=None if account == "All accounts" else account,
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached(name: str, key: tuple[Any, ...], _load: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = _load()
    _metrics()["query"].labels(name).observe(time.perf_counter() - started)
    return value


def cached(name: str, load: Callable[[], T], *key: Any) -> T:
    """A query result, cached for a minute per (name, key)."""
    return _cached(name, (name, *key, settings().database_url), load)  # type: ignore[no-any-return]


@contextmanager
def timed_page(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _metrics()["render"].labels(name).observe(time.perf_counter() - started)


def conversations_link(label: str, **query: str) -> None:
    """A link to the Conversations page, narrowed like the figure it sits under (the sidebar's
    period and filters carry over)."""
    st.page_link(
        "pages/conversations.py", label=label, icon=":material/forum:", query_params=query or None
    )


def completeness_line(f: Filters) -> None:
    """Under an executive figure: the events it rests on, what was refused, how fresh it is."""
    found = cached(
        "completeness",
        lambda: completeness.read(
            engine(),
            f.period(),
            group_id=settings().kafka_consumer_group,
            network=f.network,
            account=f.account,
        ).as_dict(),
        f,
    )
    st.caption(completeness.line(found) + ".")


def empty_state() -> None:
    st.info(
        "No interactions for this period yet. To get data in:\n\n"
        "- `rapport demo` streams a realistic demo year through the ingest API;\n"
        "- `rapport import --source x_tweet_activity FILE.csv` imports a platform export;\n"
        "- `POST /v1/interactions` on the ingest API takes events from your own tools."
    )


def moments_url() -> str:
    return f"http://127.0.0.1:{settings().moments_http_port}"
