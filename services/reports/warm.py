"""The figures each page shows first, for this year and the last, computed before the reports
server listens, so the first visit after a restart finds them cached (cache.cached)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from services.common.clock import today_in
from services.common.config import get_settings
from services.common.db import get_engine
from services.reports import queries

log = logging.getLogger(__name__)
APP = Path(__file__).parent / "app.py"
# `rapport up` waits 60 s for the reports port, counted from the process's start: the imports
# and the warm-up get 30 s of it (Streamlit needs a few more to listen on a loaded machine);
# whatever is not computed by then is computed at its first visit, as before.
WARM_UP_S = 30.0


def warm(deadline_s: float = WARM_UP_S) -> int:
    """Run every page once per year in this process, as a signed-in person opening it with
    the sidebar's defaults would, so every query it makes lands in the process-wide cache the
    server's sessions share. Streamlit's AppTest runs the real script and pages: the keys and
    queries are exactly those of a visit, with no second list of them to keep in step. Returns
    the pages run."""
    from streamlit.testing.v1 import AppTest

    if deadline_s <= 0:
        log.warning("no time left to warm up: every page computes its figures at first visit")
        return 0

    pages = sorted(p.relative_to(APP.parent).as_posix() for p in APP.parent.glob("views/*.py"))
    year = today_in(get_settings().timezone).year
    span = queries.data_years(get_engine())
    # Last year too when it has data (the sidebar offers no year without).
    years = [year, year - 1] if span and span[0] <= year - 1 else [year]
    started = time.monotonic()
    done = 0
    for shown in years:
        # No cookie and no login here: a viewer put straight into the session (ui.signed_in).
        at = AppTest.from_file(str(APP), default_timeout=deadline_s)
        at.session_state["user"] = {"name": "rapport", "role": "viewer"}
        if shown != year:
            at.session_state["year"] = shown
        for page in pages:
            left = deadline_s - (time.monotonic() - started)
            if left <= 0:
                log.warning("warm-up stopped after %d pages (%.0f s)", done, deadline_s)
                return done
            at.switch_page(page)
            try:
                at.run(timeout=left)
            except RuntimeError as exc:  # AppTest's own timeout: the time is up
                log.warning("warm-up stopped at %s (%d): %s", page, shown, exc)
                return done
            if at.exception:
                log.warning("warm-up of %s (%d) failed: %s", page, shown, at.exception[0].value)
            done += 1
    log.info("warm-up: %d pages in %.1f s", done, time.monotonic() - started)
    return done
