"""Rapport reports (Streamlit): routes the pages; `rapport reports` runs it on port 8501."""

from pathlib import Path

import streamlit as st

from services.common.i18n import N_
from services.reports import cache, languages, sidebar, ui

# A local icon: an emoji or material icon would have the browser fetch it from the internet.
ICON = str(Path(__file__).parent / "assets" / "favicon.png")
# The tab title in the language of the run before (this run has not looked up its viewer yet).
st.set_page_config(page_title=ui.speaker()._("Rapport reports"), page_icon=ICON, layout="wide")
# Every page, by the address people open and share: the same addresses before login, so a
# bookmarked /conversations?sla=breached asks to log in and comes back to itself. The titles
# are read in the reader's language; the addresses stay the same in every language.
PAGES = [
    ("views/overview.py", N_("Overview"), ":material/flag:"),
    ("views/support.py", N_("Support impact"), ":material/support_agent:"),
    ("views/brand.py", N_("Brand impact"), ":material/campaign:"),
    ("views/outcomes.py", N_("Outcomes"), ":material/trending_up:"),
    ("views/moments.py", N_("Moments"), ":material/handshake:"),
    ("views/share_of_voice.py", N_("Share of voice"), ":material/record_voice_over:"),
    ("views/conversations.py", N_("Conversations"), ":material/forum:"),
    ("views/goals.py", N_("Goals"), ":material/target:"),
    ("views/report.py", N_("Monthly report"), ":material/mail:"),
    ("views/settings.py", N_("Settings"), ":material/settings:"),
]
viewer = ui.signed_in()  # the session, looked up once per run
if viewer is None:
    st.session_state.pop("viewer", None)  # a signed-out tab speaks the browser's language
    languages.directions(ui.speaker())
    log_in = ui.speaker()._("Log in")
    # No navigation until logged in: every address shows the login, then returns to itself.
    asked = st.navigation(
        [
            st.Page(
                ui.login_page,
                title=ui.speaker()._("Log in"),
                url_path=Path(file).stem,
                default=not i,
            )
            for i, (file, _, _) in enumerate(PAGES)
        ],
        position="hidden",
    )
    ui.login_page(asked.url_path)
    raise AssertionError("unreachable")  # login_page ends the script run
st.session_state["viewer"] = viewer  # before anything is said: its language is the page's
sp = ui.speaker()
languages.directions(sp)
st.html(ui.LAYOUT_STYLE)
st.session_state["filters"] = sidebar.sidebar(viewer)
with st.sidebar:
    languages.picker(viewer, sp)
as_of_note = st.sidebar.empty()  # filled once the page knows how fresh its figures were
st.navigation(
    [
        st.Page(file, title=sp._(title), icon=icon, default=not i)
        for i, (file, title, icon) in enumerate(PAGES)
    ]
).run()
if (as_of := cache.figures_as_of()) is not None:
    as_of_note.caption(
        sp._(
            "Figures as of {time}; newer ones are being computed.",
            time=sp.digits(f"{as_of:%H:%M:%S}"),
        )
    )
