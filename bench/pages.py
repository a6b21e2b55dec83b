"""The executive's wait (#35 part 1): every reports page in Chromium against a bare Streamlit page
in the same run, cold and warm, with where a warm visit's time goes (the server's render, the
bytes over the websocket, the elements drawn, the browser's own work).

`python -m bench reports --pages [--before DIR]` fills BENCH_REPORT_EVENTS events as
`bench reports` does, then for each round and each code (this checkout, and DIR's when given,
alternately) starts `rapport reports` afresh for every page:

- cold: a fresh server (its warm-up done, as `rapport up` starts it), visited in a tab that
  has already shown the reports (its scripts cached and compiled: a person who opened them
  before), parked meanwhile on the server's health address; cold is that tab's first visit
  after the restart;
- warm: the same address again in the same tab;
- warm new tab: a new tab (Streamlit's scripts loaded from the cache and compiled anew);
- cold new tab, from the round's second server on: a new tab as the first visit after the
  restart, against warm new tab.

The bare page (one metric and one Plotly chart) is timed the same way in each round.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
PAGE_ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "3"))
# A few pages only, by name (`BENCH_PAGES=overview,support`), for a quicker look.
ONLY = [n for n in os.environ.get("BENCH_PAGES", "").split(",") if n]
PARTIAL = Path("var/bench/reports-pages-partial.json")
# Each page by its address, the title it shows first, and the name its render is timed under.
PAGES = {
    "overview": ("", "Is social paying off?", "overview"),
    "support": ("support", "Customer-support impact", "support"),
    "brand": ("brand", "Brand impact", "brand"),
    "outcomes": ("outcomes", "Outcomes: what social brought", "outcomes"),
    "moments": ("moments", "Meaningful relationship moments", "moments"),
    "share_of_voice": ("share_of_voice", "Share of voice", "share_of_voice"),
    "conversations": ("conversations", "Support conversations", "conversations"),
    "goals": ("goals", "Goals for", "goals"),
    "report": ("report", "Monthly report", "report"),
}
# The floor: Streamlit's own page, script and websocket with one metric and one Plotly chart.
BARE_PAGE = """import plotly.express as px
import streamlit as st

st.title("Bare page")
st.metric("Impressions", "53,102,991", "4.2%")
st.plotly_chart(px.line(x=list(range(52)), y=[i * i for i in range(52)]))
"""
# Drawn: the script has finished (no running icon), nothing waits as a skeleton, and every
# chart has drawn its plot (Plotly's SVG inside each chart's box).
RENDERED = """() => document.querySelectorAll('[data-testid=stSkeleton]').length === 0
    && !document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]')
    && document.querySelector('[data-testid=stMain] h1') !== null
    && [...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(
        c => c.querySelector('.main-svg') !== null)"""
# What the page drew, and how much of it is above the fold (the first 900 pixels).
ELEMENTS = """() => {
  const count = (sel) => {
    const all = [...document.querySelectorAll(sel)];
    return [all.length, all.filter(e => e.getBoundingClientRect().top < 900).length];
  };
  return {
    elements: count('[data-testid=stElementContainer]'),
    metrics: count('[data-testid=stMetric]'),
    charts: count('[data-testid=stPlotlyChart]'),
    tables: count('[data-testid=stDataFrame], [data-testid=stTable], [data-testid=stMain] table'),
    dom_nodes: document.getElementsByTagName('*').length,
  };
}"""
TIMELINE = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")


class Tab:
    """A browser tab with what its visits cost: websocket bytes and Chromium's timeline."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.received = 0
        self.finished = False  # the server said this visit's script run has ended
        self.first_delta: float | None = None
        self.finished_at = 0.0
        self.page.on("websocket", self._socket)
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")

    def _socket(self, ws: Any) -> None:
        ws.on("framereceived", lambda payload: self._count(payload))

    def _count(self, payload: Any) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.received += len(payload)
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            kind = message.WhichOneof("type")
            if kind == "delta" and self.first_delta is None:
                self.first_delta = time.perf_counter()
            if kind == "script_finished":
                self.finished = True
                self.finished_at = time.perf_counter()

    def timeline(self) -> dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: m["value"] for m in metrics if m["name"] in TIMELINE}

    def visit(self, url: str, title: str) -> dict[str, Any]:
        before, self.received, self.finished = self.timeline(), 0, False
        self.first_delta, self.finished_at = None, 0.0
        started = time.perf_counter()
        self.page.goto(url, timeout=120_000)
        try:
            self.page.get_by_text(title).first.wait_for(timeout=120_000)
            # Streamlit shows its running icon only after a while: the end of the run is the
            # server's own word (its script_finished message), then everything drawn.
            while not self.finished:
                if time.perf_counter() - started > 120:
                    raise TimeoutError("the page's script run did not finish in 120 s")
                self.page.wait_for_timeout(5)
            self.page.wait_for_function(RENDERED, timeout=120_000)
        except Exception:
            raise RuntimeError(self.page.inner_text("body")[:1500]) from None
        seconds = time.perf_counter() - started
        after = self.timeline()
        # A navigation may start a new document whose counters start again at zero.
        spent = {
            name: after[name] - before.get(name, 0.0)
            if after[name] >= before.get(name, 0.0)
            else after[name]
            for name in after
        }
        return {
            "s": round(seconds, 3),
            # When the first element arrived and when the server said the run was over (as
            # this process heard them): the rest of "s" is the browser's drawing.
            "first_element_s": round((self.first_delta or started) - started, 3),
            "script_finished_s": round(self.finished_at - started, 3),
            "ws_kb": round(self.received / 1e3, 1),
            **{f"browser_{k[:-8].lower()}_s": round(v, 3) for k, v in spent.items()},
            **self.page.evaluate(ELEMENTS),
        }

    def close(self) -> None:
        self.page.close()


def _render_s(metrics_port: int, page: str) -> tuple[float, float]:
    """The server's render time of `page` so far (sum, count), from its /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    total = count = 0.0
    for line in text.decode().splitlines():
        if f'page="{page}"' not in line:
            continue
        if line.startswith("rapport_reports_page_render_duration_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith("rapport_reports_page_render_duration_seconds_count"):
            count = float(line.rsplit(" ", 1)[1])
    return total, count


def _server(
    code: Path | None, url: str, port: int, metrics_port: int, moments: str, log: Path
) -> Any:
    """`rapport reports`, as `rapport up` runs it, from this checkout or from `code`."""
    from services.common import processes

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RAPPORT_TIMEZONE": "UTC",
        "REPORTS_PORT": str(port),
        "REPORTS_METRICS_PORT": str(metrics_port),
        "MOMENTS_PUBLIC_URL": moments,
        "REPORTS_PUBLIC_URL": f"http://127.0.0.1:{port}/",
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [sys.executable, "-m", "services.cli", "reports"]
    proc = processes.spawn(command, env=env, log=log, cwd=code)
    try:
        processes.wait_for_port(port, timeout_s=120)
    except TimeoutError:
        processes.stop(proc)
        raise RuntimeError(f"rapport reports did not listen: {log.read_text()[-3000:]}") from None
    return proc


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def page_times(url: str, work: Path, codes: dict[str, Path | None]) -> dict[str, Any]:
    """Every page of every code, and the bare page, PAGE_ROUNDS times, alternately."""
    import shutil
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright
    from sqlmodel import Session

    from services.common import processes
    from services.common.config import Settings
    from services.common.db import make_engine
    from services.domain import accounts
    from services.domain.auth import Role
    from services.moments.app import create_app as create_moments

    if not shutil.which(CHROMIUM):
        return {"skipped": f"Chromium not found at {CHROMIUM}"}
    engine = make_engine(url)
    with Session(engine) as session:
        accounts.create(
            session, username="bench", password="correct horse battery", role=Role.viewer
        )
    engine.dispose()
    moments_port, port, metrics_port = (processes.free_port() for _ in range(3))
    moments = f"http://127.0.0.1:{moments_port}"
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        moments_grpc_port=0,
        reports_public_url=f"http://127.0.0.1:{port}/",
        _env_file=None,
    )
    site = uvicorn.Server(
        uvicorn.Config(
            create_moments(settings, sync_sheets=False), port=moments_port, log_level="warning"
        )
    )
    threading.Thread(target=site.run, daemon=True).start()
    processes.wait_for_port(moments_port)
    visits: dict[str, dict[str, list[dict[str, Any]]]] = {}
    loads: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        shown = [(name, PAGES[name]) for name in ONLY or PAGES]
        # Once, as a person does: log in (the cookie serves every page after) and open each
        # page in this tab, whose scripts are then cached and compiled for every cold visit.
        server = _server(None, url, port, metrics_port, moments, work / "streamlit-login.log")
        try:
            kept = Tab(context)  # the tab that stays open across restarts (cold, same tab)
            kept.page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            kept.page.get_by_role("link", name="Log in").click()
            kept.page.fill("#username", "bench")
            kept.page.fill("#password", "correct horse battery")
            kept.page.press("#password", "Enter")
            kept.page.get_by_text("Is social paying off?").wait_for(timeout=120_000)
            for _name, (path, title, _timer) in shown:
                kept.visit(f"http://127.0.0.1:{port}/{path}", title)
        finally:
            kept.page.goto(f"http://127.0.0.1:{port}/_stcore/health")
            processes.stop(server)
        for round_ in range(PAGE_ROUNDS):
            for n, (name, (path, title, timer)) in enumerate(shown):
                # Each page by each code back to back, which goes first alternating: the
                # machine's load drifts over a run, and both see the same drift.
                order = list(codes.items())
                for code_name, code in order[:: -1 if (n + round_) % 2 else 1]:
                    loads.append(os.getloadavg()[0])
                    log = work / f"streamlit-{code_name}-{name}.log"
                    server = _server(code, url, port, metrics_port, moments, log)
                    try:
                        address = f"http://127.0.0.1:{port}/{path}"
                        key = f"{code_name}:{name}"
                        runs = visits.setdefault(key, {})
                        rendered = _render_s(metrics_port, timer)
                        if (n + round_) % 2:  # every other time: the first visit in a new tab
                            tab = Tab(context)
                            runs.setdefault("cold_new_tab", []).append(tab.visit(address, title))
                            tab.close()
                        else:
                            runs.setdefault("cold", []).append(kept.visit(address, title))
                        after_cold = _render_s(metrics_port, timer)
                        warm = kept.visit(address, title)
                        after_warm = _render_s(metrics_port, timer)
                        if after_warm[1] > after_cold[1]:
                            warm["server_render_s"] = round(after_warm[0] - after_cold[0], 3)
                        if after_cold[1] > rendered[1]:
                            runs.setdefault("cold_server_render", []).append(
                                {"s": round(after_cold[0] - rendered[0], 3)}
                            )
                        runs.setdefault("warm", []).append(warm)
                        tab = Tab(context)
                        runs.setdefault("warm_new_tab", []).append(tab.visit(address, title))
                        tab.close()
                    finally:
                        # Else the tab reconnects to the next server and its rerun warms that
                        # one: parked on a page of the same site (no websocket), so the tab
                        # keeps its renderer and compiled scripts.
                        kept.page.goto(f"http://127.0.0.1:{port}/_stcore/health")
                        processes.stop(server)
            runs = visits.setdefault("bare", {})
            # A port of its own each time: one kept across rounds was taken meanwhile by
            # another process on this shared machine (its first visit primes the tab anyway).
            for kind, visit in _bare_page(context, work, processes.free_port()).items():
                runs.setdefault(kind, []).append(visit)
            # Each round's figures so far, in case a long run is cut short.
            PARTIAL.parent.mkdir(parents=True, exist_ok=True)
            PARTIAL.write_text(json.dumps(_summary(visits, loads), indent=1))
        browser.close()
    site.should_exit = True
    return _summary(visits, loads)


def _summary(
    visits: dict[str, dict[str, list[dict[str, Any]]]], loads: list[float]
) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average": [round(min(loads), 1), round(max(loads), 1)]}
    for key, runs in visits.items():
        row: dict[str, Any] = {}
        for kind, measured in runs.items():
            row[f"{kind}_s"] = _median([m["s"] for m in measured])
            row[f"{kind}_rounds"] = [m["s"] for m in measured]
            for measure, first in measured[0].items():
                if measure != "s" and isinstance(first, (int, float)):
                    row[f"{kind}_{measure}"] = _median([m.get(measure, 0.0) for m in measured])
                elif measure != "s" and kind == "warm":
                    row[f"warm_{measure}"] = first  # counts: [all, above the fold]
        out[key] = row
    bare = out["bare"]["warm_s"]
    for key, row in out.items():
        if isinstance(row, dict) and key != "bare":
            row["warm_over_bare"] = round(row["warm_s"] / bare, 2)
            if "cold_s" in row:
                row["cold_minus_warm_s"] = round(row["cold_s"] - row["warm_s"], 3)
            if "cold_new_tab_s" in row:
                row["cold_new_tab_minus_warm_new_tab_s"] = round(
                    row["cold_new_tab_s"] - row["warm_new_tab_s"], 3
                )
    return out


def _bare_page(context: Any, work: Path, port: int) -> dict[str, dict[str, Any]]:
    """BARE_PAGE served by Streamlit with the reports' flags, timed like the pages: a first
    visit in a tab that has shown it before (cold), again (warm), a new tab."""
    from services.common import processes
    from services.reports.server import STREAMLIT_FLAGS

    script = work / "bare.py"
    script.write_text(BARE_PAGE)
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1", *STREAMLIT_FLAGS,
    ]  # fmt: skip
    server = processes.spawn(command, log=work / "streamlit-bare.log")
    address = f"http://127.0.0.1:{port}/"
    try:
        processes.wait_for_port(port, timeout_s=60)
        tab = Tab(context)
        tab.visit(address, "Bare page")  # the tab has shown it once: its scripts are cached
        tab.page.goto(f"{address}_stcore/health")  # parked, as the pages' tab is
        processes.stop(server)
        server = processes.spawn(command, log=work / "streamlit-bare.log")
        processes.wait_for_port(port, timeout_s=60)
        out = {"cold": tab.visit(address, "Bare page"), "warm": tab.visit(address, "Bare page")}
        tab.close()
        other = Tab(context)
        out["warm_new_tab"] = other.visit(address, "Bare page")
        other.close()
    finally:
        processes.stop(server)
    return out


def _value_and_goals(engine: Any) -> None:
    """A value model and goals for the year, as a team that uses the Overview has them: its
    earned-value panel, weekly value chart and goal bars are drawn."""
    from sqlmodel import Session

    from bench.reports import YEAR
    from services.reports import value
    from services.reports.goal_metrics import GoalMetric
    from services.reports.goals import set_goal

    value.set_model(
        engine, year=YEAR, actor="bench", currency="EUR", cost_per_email_contact=6,
        cost_per_social_contact=2, cpm=8, cpc=0.9, value_per_moment=150, program_cost=120_000,
    )  # fmt: skip
    targets = {
        GoalMetric.impressions: 60_000_000, GoalMetric.engagement: 20_000_000,
        GoalMetric.responded_within_1h_rate: 0.8, GoalMetric.moments: 600,
        GoalMetric.conversions: 25_000, GoalMetric.total_value: 500_000,
    }  # fmt: skip
    with Session(engine) as session:
        for metric, target in targets.items():
            set_goal(session, year=YEAR, metric=metric, target=target, actor="bench")


def run(argv: list[str]) -> dict[str, Any]:
    """`bench reports --pages [--before DIR]`: the pages only, on BENCH_REPORT_EVENTS events."""
    import tempfile

    from bench.reports import EVENTS, _set_business_hours, fill_database
    from services.common.db import make_engine

    before = Path(argv[argv.index("--before") + 1]) if "--before" in argv else None
    codes: dict[str, Path | None] = {"after": None}
    if before is not None:
        codes["before"] = before.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "reports.db"
        url = f"sqlite:///{db}"
        fill_s = fill_database(db, url)
        engine = make_engine(url)
        _set_business_hours(engine)  # as `bench reports` has them when it opens the pages
        _value_and_goals(engine)
        engine.dispose()
        pages = page_times(url, Path(tmp), codes)
    summary = {
        f"{key}.{measure}": row[measure]
        for key, row in pages.items()
        if isinstance(row, dict)
        for measure in ("warm_s", "warm_over_bare", "cold_minus_warm_s", "warm_server_render_s")
        if measure in row
    }
    return {
        "benchmark": "reports_pages",
        "events": EVENTS,
        "fill_seconds": fill_s,
        "rounds": PAGE_ROUNDS,
        "pages": pages,
        "summary": {"load_average": pages.get("load_average"), **summary},
    }
