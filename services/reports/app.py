"""Rapport reports (Streamlit): routes the pages; `rapport reports` runs it on port 8501."""

import streamlit as st

from services.reports import ui

st.set_page_config(page_title="Rapport reports", page_icon="📈", layout="wide")
viewer = ui.require_login()
st.session_state["filters"] = ui.sidebar(viewer)
st.session_state["viewer"] = viewer

pages = [
    st.Page("pages/overview.py", title="Overview", icon="🎯", default=True),
    st.Page("pages/support.py", title="Support impact", icon="💬"),
    st.Page("pages/brand.py", title="Brand impact", icon="📣"),
    st.Page("pages/moments.py", title="Moments", icon="🤝"),
    st.Page("pages/goals.py", title="Goals", icon="🏁"),
]
st.navigation(pages).run()
