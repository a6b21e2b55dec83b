"""Rapport reports (Streamlit): routes the pages; `rapport reports` runs it on port 8501."""

from pathlib import Path

import streamlit as st

from services.reports import ui

# A local icon: an emoji or material icon would have the browser fetch it from the internet.
ICON = str(Path(__file__).parent / "assets" / "favicon.png")
st.set_page_config(page_title="Rapport reports", page_icon=ICON, layout="wide")
# Every page, by the address people open and share: the same addresses before login, so a
# bookmarked /conversations?sla=breached asks to log in and comes back to itself.
PAGES = [
    ("views/overview.py", "Overview", ":material/flag:"),
    ("views/support.py", "Support impact", ":material/support_agent:"),
    ("views/brand.py", "Brand impact", ":material/campaign:"),
    ("views/outcomes.py", "Outcomes", ":material/trending_up:"),
    ("views/moments.py", "Moments", ":material/handshake:"),
    ("views/share_of_voice.py", "Share of voice", ":material/record_voice_over:"),
    ("views/conversations.py", "Conversations", ":material/forum:"),
    ("views/goals.py", "Goals", ":material/target:"),
    ("views/settings.py", "Settings", ":material/settings:"),
]
viewer = ui.signed_in()  # the session, looked up once per run
if viewer is None:
    # No navigation until logged in: every address shows the login, then returns to itself.
    asked = st.navigation(
        [
            st.Page(ui.login_page, title="Log in", url_path=Path(file).stem, default=not i)
            for i, (file, _, _) in enumerate(PAGES)
        ],
        position="hidden",
    )
    ui.login_page(asked.url_path)
    raise AssertionError("unreachable")  # login_page ends the script run
st.session_state["filters"] = ui.sidebar(viewer)
st.session_state["viewer"] = viewer
st.navigation(
    [
        st.Page(file, title=title, icon=icon, default=not i)
        for i, (file, title, icon) in enumerate(PAGES)
    ]
).run()
