"""Rapport reports (Streamlit): routes the pages; `rapport reports` runs it on port 8501."""

from pathlib import Path

import streamlit as st

from services.reports import ui

# A local icon: an emoji or material icon would have the browser fetch it from the internet.
ICON = str(Path(__file__).parent / "assets" / "favicon.png")
st.set_page_config(page_title="Rapport reports", page_icon=ICON, layout="wide")
viewer = ui.signed_in()  # the session, looked up once per run
if viewer is None:
    # No navigation until logged in: the only page is the login form.
    st.navigation(
        [st.Page(ui.login_page, title="Log in", url_path="login")], position="hidden"
    ).run()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run
st.session_state["filters"] = ui.sidebar(viewer)
st.session_state["viewer"] = viewer

pages = [
    st.Page("views/overview.py", title="Overview", icon=":material/flag:", default=True),
    st.Page("views/support.py", title="Support impact", icon=":material/support_agent:"),
    st.Page("views/brand.py", title="Brand impact", icon=":material/campaign:"),
    st.Page("views/outcomes.py", title="Outcomes", icon=":material/trending_up:"),
    st.Page("views/moments.py", title="Moments", icon=":material/handshake:"),
    st.Page("views/conversations.py", title="Conversations", icon=":material/forum:"),
    st.Page("views/goals.py", title="Goals", icon=":material/target:"),
    st.Page("views/settings.py", title="Settings", icon=":material/settings:"),
]
st.navigation(pages).run()
