"""The Settings page's competitors: listed for everyone, added and removed by admins and
managers (docs/using.md#competitors-and-share-of-voice)."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from services.domain import competitors
from services.domain.vocabulary import Network
from services.reports import cache, ui


def section(viewer: ui.Viewer) -> None:
    sp = ui.speaker()
    st.subheader(sp._("Competitors"))
    st.caption(
        sp._(
            "A competitor's accounts count only in share of voice: their mentions, likes, "
            "impressions and conversations leave every other figure, those already stored too."
        )
    )
    found = competitors.get_all(cache.engine())
    if not found:
        st.caption(sp._("No competitors yet."))
    else:
        ui.table(
            [
                {
                    sp._("Competitor"): row["name"],
                    sp._("Network"): ui.network_name(row["network"], sp),
                    sp._("Account"): row["account"],
                }
                for row in found
            ],
            download=sp._("Download competitors (CSV)"),
            file="competitors.csv",
        )
    if not viewer.can_edit_goals:
        return
    with st.form("competitor_add", clear_on_submit=True):
        name = st.text_input(sp._("Competitor name"), max_chars=100)
        network = st.selectbox(
            sp._("Network"),
            [n.value for n in Network],
            format_func=lambda n: ui.network_name(n, sp),
        )
        account = st.text_input(sp._("Account, as its events name it (e.g. @rival)"), max_chars=200)
        added = st.form_submit_button(sp._("Add competitor"))
    if added:
        try:
            with Session(cache.engine()) as session:
                competitors.create(
                    session, network=network, account=account, name=name, actor=viewer.name
                )
        except competitors.BadCompetitor as exc:
            st.error(sp._("Not saved: {problem}.", problem=ui.plain(exc.said_in(sp))))
        else:
            cache.clear()
            st.success(
                sp._("{name} added: its events now count only in share of voice.", name=name)
            )
    if found:
        labels = {
            f"{r['name']} · {ui.network_name(r['network'], sp)} {r['account']}": r for r in found
        }
        with st.form("competitor_remove"):
            chosen = st.selectbox(sp._("Competitor to remove"), list(labels))
            removed = st.form_submit_button(sp._("Remove competitor"))
        if removed and chosen in labels:
            row = labels[chosen]
            with Session(cache.engine()) as session:
                competitors.delete_one(session, network=row["network"], account=row["account"])
            cache.clear()
            st.success(sp._("Removed: its events count in every figure again."))
