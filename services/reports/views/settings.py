"""Settings: business hours (when support works, for the SLA figures); admins and managers
edit, viewers read. A change applies to every figure at once, past ones included."""

import streamlit as st

from services.common import webhook_status
from services.common.service_levels import DEFAULT_TARGET_S, ScheduleError
from services.reports import competitor_settings, completeness, queries, schedules, ui, value


def connections() -> None:
    """Is data arriving by itself? Each platform webhook's state, from ingest's /metrics, and
    the dead letters stored per source."""
    st.subheader("Platform connections")
    url = ui.settings().ingest_metrics
    stored = ui.cached(
        "dead_letters_by_source", lambda: completeness.dead_letters_by_source(ui.engine())
    )
    try:
        found = webhook_status.sources(webhook_status.fetch(url, timeout_s=3))
    except OSError as exc:
        st.warning(str(exc))
        return
    names = {
        "meta": "Meta (Facebook, Instagram)",
        "x": "X (Twitter)",
        "chatwoot": "Chatwoot",
        "shopify": "Shopify (orders)",
    }
    ui.table(
        [
            {
                "Source": names[str(row["source"])],
                "State": "connected" if row["state"] == "on" else "not connected",
                "Last delivery": webhook_status.last_delivery(row),
                "Received": row["accepted"],
                "Could not be read": row["dead_lettered"],
                "Refused (not signed by the platform)": row["refused"],
                "Unreadable, all time": stored.get(f"webhook:{row['source']}", 0),
            }
            for row in found
        ],
        download="Download connections (CSV)",
        file="connections.csv",
    )
    st.caption(
        "Counts since the ingest service last started. A connected source that stays silent for "
        "a day alerts whoever runs Rapport."
    )
    viewer: ui.Viewer = st.session_state["viewer"]
    if viewer.role == "admin":
        st.caption(
            "To connect a platform, the server's operator sets its secret and registers "
            "Rapport's address with the platform, as the operating guide's \"Live data\" "
            "section says."
        )


with ui.timed_page("settings"):
    viewer: ui.Viewer = st.session_state["viewer"]
    f: ui.Filters = st.session_state["filters"]
    st.title("Settings")
    connections()
    st.subheader("Business hours")
    st.caption(
        "First response and resolution are also counted in business hours, against the "
        "first-response target (the SLA). A conversation follows its account's schedule, else "
        "the default; with none, support counts as always open. Changing a schedule recomputes "
        "every figure, past ones included."
    )
    stored = schedules.stored(ui.engine())
    rows = [
        {"applies to": "every account (default)", "schedule": schedules.describe(stored.default)}
    ]
    rows += [
        {"applies to": account, "schedule": schedules.describe(s)}
        for account, s in sorted(stored.by_account.items())
    ]
    ui.table(rows, download="Download business hours (CSV)", file="business-hours.csv")
    if not viewer.can_edit_goals:
        st.info("You can read the business hours; admins and managers change them.")
        model = value.load(ui.engine(), f.year)
        st.subheader(f"Value model {f.year}")
        if model is None:
            st.info("No value model for this year yet.")
        else:
            ui.table(
                [{"Assumption": k, "Value": v} for k, v in value.assumptions(model)],
                download="Download assumptions (CSV)",
                file=f"value-assumptions-{f.year}.csv",
            )
        competitor_settings.section(viewer)
        st.stop()
    pairs = ui.cached("filter_options", lambda: queries.filter_options(ui.engine()))
    accounts = sorted({account for _, account in pairs if account != "default"})
    choice = st.selectbox("Schedule to set", ["Default (every account)", *accounts])
    account = None if choice.startswith("Default") else choice
    current = stored.default if account is None else stored.by_account.get(account)
    with st.form("hours"):
        timezone = st.text_input(
            "Time zone (e.g. Europe/Istanbul)",
            value=current.timezone if current else ui.settings().rapport_timezone,
            help="e.g. Europe/Madrid, America/New_York",
            key=f"timezone_{choice}",
        )
        hours = st.text_input(
            "Opening hours",
            value=current.hours_text if current else "mon-fri 09:00-17:00",
            help="days then times; split shifts with commas, groups with ';', e.g. "
            "mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00 (24:00 ends at midnight)",
            key=f"hours_{choice}",
        )
        holidays = st.text_input(
            "Closed dates",
            value=", ".join(sorted(d.isoformat() for d in current.holidays)) if current else "",
            help="YYYY-MM-DD, separated by commas",
            key=f"holidays_{choice}",
        )
        target_min = st.number_input(
            "First-response target (business minutes)",
            min_value=0.0,
            value=(current.first_response_target_s if current else DEFAULT_TARGET_S) / 60,
            step=5.0,
            key=f"target_{choice}",
        )
        saved = st.form_submit_button("Save business hours")
    if saved:
        try:
            schedules.set_hours(
                ui.engine(),
                account=account,
                timezone=timezone,
                hours=hours,
                holidays=holidays,
                first_response_target_s=target_min * 60,
                actor=viewer.name,
            )
        except ScheduleError as exc:
            st.error(f"Not saved: {exc}.")
        else:
            st.cache_data.clear()  # every business-hours figure changes with the schedule
            st.success(f"Business hours saved for {ui.plain(choice.lower())}.")

    st.subheader(f"Value model {f.year}")
    st.caption(
        "The assumptions that turn the year's figures into money (the Overview shows them beside "
        "the money). Missing amounts count as 0."
    )
    model = value.load(ui.engine(), f.year)
    with st.form("value"):
        currency = st.text_input(
            "Currency (three letters, e.g. EUR)",
            value=model.currency if model else "USD",
            key="currency",
        )
        amounts = {
            name: st.number_input(
                value.LABELS[name],
                min_value=0.0,
                value=float(getattr(model, name)) if model else 0.0,
                step=0.5 if name in ("cpc", "cost_per_social_contact") else 1.0,
                key=f"value_{name}",
            )
            for name in value.AMOUNTS
        }
        saved_value = st.form_submit_button("Save value model")
    if saved_value:
        try:
            value.set_model(
                ui.engine(), year=f.year, actor=viewer.name, currency=currency, **amounts
            )
        except value.ValueModelError as exc:
            st.error(f"Not saved: {exc}.")
        else:
            st.cache_data.clear()
            st.success(f"Value model for {f.year} saved.")
    competitor_settings.section(viewer)
