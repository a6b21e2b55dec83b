"""The reports app's languages: right-to-left for Arabic and Persian, and the picker that writes
the signed-in account's own language (app.py calls both on every run)."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from services.common import i18n
from services.domain import accounts
from services.reports import cache, ui

# Right-to-left for Arabic and Persian: Streamlit has no switch, so the page's own blocks are
# turned; figures, dates, URLs and charts keep their left-to-right order inside them (isolated),
# and the fonts named cover Arabic script from what the machine has (nothing is fetched).
RTL_STYLE = """
<style>
[data-testid="stMain"], [data-testid="stSidebar"] { direction: rtl; }
/* The sidebar on the right beside the page; on a phone it stays Streamlit's overlay. */
@media (min-width: 768px) {
  [data-testid="stAppViewContainer"] { flex-direction: row-reverse; }
}
[data-testid="stMain"] *:not([data-testid="stIconMaterial"]):not(code),
[data-testid="stSidebar"] *:not([data-testid="stIconMaterial"]):not(code) {
  font-family: "Source Sans", "Source Sans Pro", "Noto Sans Arabic", "Noto Naskh Arabic",
    "Vazirmatn", "Segoe UI", Tahoma, "DejaVu Sans", sans-serif;
}
[data-testid="stMain"] [data-testid="stMarkdownContainer"],
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] { text-align: start; }
[data-testid="stMetricValue"], [data-testid="stMetricDelta"] { unicode-bidi: isolate; }
[data-testid="stMetricValue"] > div { text-align: start; }
[data-testid="stPlotlyChart"], .js-plotly-plot, [data-testid="stDateInput"] input,
[data-testid="stDataFrame"] a, code { direction: ltr; unicode-bidi: isolate; }
[data-testid="stSidebarCollapseButton"], [data-testid="stExpandSidebarButton"] {
  transform: scaleX(-1);
}
</style>
"""


def directions(sp: i18n.Speaker) -> None:
    """The page right-to-left when its language is (ar, fa); nothing for the others."""
    if sp.dir == "rtl":
        st.html(RTL_STYLE)


BROWSER = "browser"  # the picker's choice of no language of one's own


def picker(viewer: ui.Viewer, sp: i18n.Speaker) -> None:
    """The signed-in person's own language (User.language), each language by its own name;
    "the browser's" clears it. Only the account itself is written, by its own session."""
    options = [BROWSER, *i18n.LANGUAGES]
    chosen = st.selectbox(
        sp._("Language"),
        options,
        index=options.index(viewer.language or BROWSER),
        format_func=lambda code: sp._("The browser's") if code == BROWSER else i18n.NAMES[code],
        key="language",
    )
    wanted = None if chosen == BROWSER else chosen
    if wanted == viewer.language:
        return
    with Session(cache.engine()) as session:
        accounts.set_language(session, viewer.name, wanted)
    if "session_id" not in st.session_state and "user" in st.session_state:
        st.session_state["user"] = {**st.session_state["user"], "language": wanted}
    st.rerun()  # every text of the page in the new language
