"""The reports' reads: one engine a process, and figures cached until the data behind them
changes (docs/architecture.md, module map); page and query timings for /metrics."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
from prometheus_client import Histogram
from sqlalchemy.engine import Engine

from services.common.config import Settings, get_settings
from services.common.db import make_engine
from services.reports import queries
from services.reports.metrics import PAGE_RENDER, QUERY

T = TypeVar("T")
# How often a reports process asks whether the data changed (one small statement), and how long
# after figures were computed they may still be shown, saying "as of", while newer ones are
# computed: an executive never sees figures older than the last commit by more than that.
VERSION_CHECK_S = 2.0
STALE_OK_S = 5.0
# A bound for what the version cannot see (e.g. a broker replaced with its offsets from zero).
BACKSTOP_TTL_S = 3_600


def _metrics() -> dict[str, Histogram]:
    """The page histograms; `rapport reports` serves them from process start (serve_metrics)."""
    return {"render": PAGE_RENDER, "query": QUERY}


@st.cache_resource
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    return _engine(get_settings().database_url)


def settings() -> Settings:
    return get_settings()


@st.cache_data(ttl=BACKSTOP_TTL_S, max_entries=2_000, show_spinner=False)
def _cached(name: str, key: tuple[Any, ...], _load: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = _load()
    _metrics()["query"].labels(name).observe(time.perf_counter() - started)
    return value


@dataclass
class _Freshness:
    """Process-wide: the data's version as last read, and for each query (name and key) the
    version it was last computed at, when (monotonic and wall clock), and which recomputations
    run in the background. Shared by every session and by the warm-up before the server
    listens."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    version: tuple[str, ...] | None = None
    checked: float = -VERSION_CHECK_S
    computed: dict[tuple[Any, ...], tuple[tuple[str, ...], float, dt.datetime]] = field(
        default_factory=dict
    )
    refreshing: set[tuple[Any, ...]] = field(default_factory=set)
    built: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)


_FRESHNESS = _Freshness()
# What pages make from the figures (charts), kept per data version: a few per page, filters and
# language, the least recently shown dropped first.
BUILT_ENTRIES = 500


def data_version() -> tuple[str, ...]:
    """The data's version (queries.data_version), read at most every VERSION_CHECK_S."""
    state = _FRESHNESS
    with state.lock:
        if state.version is not None and time.monotonic() - state.checked < VERSION_CHECK_S:
            return state.version
    version = queries.data_version(engine())
    with state.lock:
        state.version, state.checked = version, time.monotonic()
    return version


def cached(name: str, load: Callable[[], T], *key: Any) -> T:
    """A query result, cached per (name, key) until the data behind it changes.

    Figures are never older than the last commit by more than a few seconds: a result
    computed at an older version is shown only if it is at most STALE_OK_S old, while the
    new one is computed in the background (the page then says "as of" when); past that the
    page waits for the new one. The key carries the version, so a change is a new entry.
    """
    base = (name, *key, settings().database_url)
    current = data_version()
    state = _FRESHNESS
    with state.lock:
        known = state.computed.get(base)
    if known is not None and known[0] != current and time.monotonic() - known[1] <= STALE_OK_S:
        _refresh(name, base, current, load)
        st.session_state["figures_as_of"] = min(
            known[2], st.session_state.get("figures_as_of", known[2])
        )
        return _cached(name, (*base, known[0]), load)  # type: ignore[no-any-return]
    value = _cached(name, (*base, current), load)
    if known is None or known[0] != current:
        with state.lock:
            state.computed[base] = (current, time.monotonic(), _now())
    return value  # type: ignore[no-any-return]


def built(name: str, build: Callable[[], T], *key: Any) -> T:
    """What a page makes from cached figures (a chart, its tooltips written), made once per
    (name, key) and data version and then shared by every visit: a warm visit runs no Python
    of its own for it. The value is not copied; nobody may change it.

    Made from figures shown "as of" (computed before the data's last change, cache.cached),
    it is shown but not kept: the next visit makes it from the new ones.
    """
    full = (name, *key, settings().database_url, data_version())
    state = _FRESHNESS
    with state.lock:
        if full in state.built:
            state.built.move_to_end(full)
            return state.built[full]  # type: ignore[no-any-return]
    value = build()
    if "figures_as_of" in st.session_state:
        return value
    with state.lock:
        state.built[full] = value
        while len(state.built) > BUILT_ENTRIES:
            state.built.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached figure and all made from them (after a change the data's version
    does not show, such as a setting saved)."""
    st.cache_data.clear()
    with _FRESHNESS.lock:
        _FRESHNESS.built.clear()


def _refresh(name: str, base: tuple[Any, ...], version: tuple[str, ...], load: Any) -> None:
    """Compute `base` at `version` in a thread of its own, once however many ask."""
    state = _FRESHNESS
    with state.lock:
        if (base, version) in state.refreshing:
            return
        state.refreshing.add((base, version))

    def run() -> None:
        try:
            _cached(name, (*base, version), load)
            with state.lock:
                state.computed[base] = (version, time.monotonic(), _now())
        finally:
            with state.lock:
                state.refreshing.discard((base, version))

    threading.Thread(target=run, name=f"rapport-refresh-{name}", daemon=True).start()


def _now() -> dt.datetime:
    return dt.datetime.now(settings().timezone)


def figures_as_of() -> dt.datetime | None:
    """When the oldest figure this run showed was computed, if it predates the data's last
    change (cached): the page says so. Cleared for the next run."""
    return st.session_state.pop("figures_as_of", None)  # type: ignore[no-any-return]


@contextmanager
def timed_page(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _metrics()["render"].labels(name).observe(time.perf_counter() - started)
