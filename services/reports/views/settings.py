"""Settings: business hours (when support works, for the SLA figures); admins and managers
edit, viewers read. A change applies to every figure at once, past ones included."""

import streamlit as st

from services.common.i18n import N_
from services.domain import webhook_status
from services.domain.service_levels import DEFAULT_TARGET_S, Schedule, ScheduleError
from services.reports import (
    cache,
    competitor_settings,
    reads,
    schedules,
    ui,
    value,
)
from services.reports import formatting as fmt

sp = ui.speaker()
_ = sp._


def last_delivery(row: dict[str, object]) -> str:
    """How long ago the platform last delivered, in the reader's language."""
    ago = row["last_delivery_ago_s"]
    if isinstance(ago, float):
        return _("{time} ago", time=fmt.duration(ago, sp))
    return _("- (refused as off)") if row["refused_as_off"] else "-"


def count(value: object) -> str:
    """A request count of the ingest service's, in the reader's digits."""
    return fmt.number(value if isinstance(value, int) else 0, sp)


def connections() -> None:
    """Is data arriving by itself? Each platform webhook's state, from ingest's /metrics, and
    the dead letters stored per source."""
    st.subheader(_("Platform connections"))
    url = cache.settings().ingest_metrics
    stored = reads.dead_letters_by_source()
    try:
        found = webhook_status.sources(webhook_status.fetch(url, timeout_s=3))
    except OSError:
        st.warning(
            _(
                "The ingest service does not answer at {url}: which platforms are connected is "
                "unknown until it runs.",
                url=url,
            )
        )
        return
    names = {
        "meta": "Meta (Facebook, Instagram)",
        "x": "X (Twitter)",
        "chatwoot": "Chatwoot",
        "shopify": N_("Shopify (orders)"),
    }
    ui.table(
        [
            {
                _("Source"): _(names[str(row["source"])]),
                _("State"): _("connected") if row["state"] == "on" else _("not connected"),
                _("Last delivery"): last_delivery(row),
                _("Received"): count(row["accepted"]),
                _("Could not be read"): count(row["dead_lettered"]),
                _("Refused (not signed by the platform)"): count(row["refused"]),
                _("Unreadable, all time"): count(stored.get(f"webhook:{row['source']}", 0)),
            }
            for row in found
        ],
        download=_("Download connections (CSV)"),
        file="connections.csv",
    )
    st.caption(
        _(
            "Counts since the ingest service last started. A connected source that stays "
            "silent for a day alerts whoever runs Rapport."
        )
    )
    viewer: ui.Viewer = st.session_state["viewer"]
    if viewer.role == "admin":
        st.caption(
            _(
                "To connect a platform, the server's operator sets its secret and registers "
                "Rapport's address with the platform, as the operating guide's \"Live data\" "
                "section says."
            )
        )


DEFAULT = N_("Default (every account)")


def schedule_row(applies: str, schedule: Schedule | None) -> dict[str, str]:
    """A schedule as the table shows it; none: support counts as always open."""
    if schedule is None:
        return {_("Applies to"): applies, _("Opening hours"): _(ALWAYS_OPEN)}
    return {
        _("Applies to"): applies,
        _("Opening hours"): schedule.hours_text or _("closed every day"),
        _("Time zone"): schedule.timezone,
        _("Closed dates"): ", ".join(sorted(d.isoformat() for d in schedule.holidays)) or "—",
        _("First-response target"): fmt.duration(schedule.first_response_target_s, sp),
    }


ALWAYS_OPEN = N_("always open (no schedule: business time is calendar time)")

with cache.timed_page("settings"):
    viewer: ui.Viewer = st.session_state["viewer"]
    f: ui.Filters = st.session_state["filters"]
    st.title(_("Settings"))
    connections()
    st.subheader(_("Business hours"))
    st.caption(
        _(
            "First response and resolution are also counted in business hours, against the "
            "first-response target (the SLA). A conversation follows its account's schedule, "
            "else the default; with none, support counts as always open. Changing a schedule "
            "recomputes every figure, past ones included."
        )
    )
    stored = schedules.stored(cache.engine())
    # The hours and dates as typed (mon-fri 09:00-17:00): the same notation the form takes.
    rows = [schedule_row(_("every account (default)"), stored.default)]
    rows += [schedule_row(account, s) for account, s in sorted(stored.by_account.items())]
    ui.table(rows, download=_("Download business hours (CSV)"), file="business-hours.csv")
    if not viewer.can_edit_goals:
        st.info(_("You can read the business hours; admins and managers change them."))
        model = value.load(cache.engine(), f.year)
        st.subheader(_("Value model {year}", year=sp.digits(str(f.year))))
        if model is None:
            st.info(_("No value model for this year yet."))
        else:
            ui.assumptions_table(model, f.year)
        competitor_settings.section(viewer)
        st.stop()
    pairs = reads.filter_options()
    accounts = sorted({account for _n, account in pairs if account != "default"})
    choice = st.selectbox(
        _("Schedule to set"),
        [DEFAULT, *accounts],
        format_func=lambda option: (
            _(option) if option == DEFAULT else ui.account_choice(option, pairs, sp)
        ),
    )
    account = None if choice == DEFAULT else choice
    current = stored.default if account is None else stored.by_account.get(account)
    with st.form("hours"):
        timezone = st.text_input(
            _("Time zone (e.g. Europe/Istanbul)"),
            value=current.timezone if current else cache.settings().rapport_timezone,
            help=_("e.g. {zones}", zones="Europe/Madrid, America/New_York"),
            key=f"timezone_{choice}",
        )
        hours = st.text_input(
            _("Opening hours"),
            value=current.hours_text if current else "mon-fri 09:00-17:00",
            help=_(
                "days then times, as in {example}; split shifts with commas, groups with ';' "
                "(24:00 ends at midnight)",
                example="mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00",
            ),
            key=f"hours_{choice}",
        )
        holidays = st.text_input(
            _("Closed dates"),
            value=", ".join(sorted(d.isoformat() for d in current.holidays)) if current else "",
            help=_("YYYY-MM-DD, separated by commas"),
            key=f"holidays_{choice}",
        )
        minutes = (current.first_response_target_s if current else DEFAULT_TARGET_S) / 60
        # Whole minutes as "60", not "60.00"; a target set in seconds keeps its fraction.
        target_min = st.number_input(
            _("First-response target (business minutes)"),
            **(
                {"min_value": 0, "value": int(minutes), "step": 5}
                if minutes.is_integer()
                else {"min_value": 0.0, "value": minutes, "step": 5.0}
            ),
            key=f"target_{choice}",
        )
        saved = st.form_submit_button(_("Save business hours"))
    if saved:
        try:
            schedules.set_hours(
                cache.engine(),
                account=account,
                timezone=timezone,
                hours=hours,
                holidays=holidays,
                first_response_target_s=target_min * 60,
                actor=viewer.name,
            )
        except ScheduleError as exc:
            # What was typed stays as typed; the reason is said in the reader's language.
            st.error(_("Not saved: {reason}.", reason=ui.plain(exc.said_in(sp))))
        else:
            cache.clear()  # every business-hours figure changes with the schedule
            shown = _(DEFAULT) if choice == DEFAULT else choice
            st.success(_("Business hours saved for {schedule}.", schedule=ui.plain(shown)))

    st.subheader(_("Value model {year}", year=sp.digits(str(f.year))))
    st.caption(
        _(
            "The assumptions that turn the year's figures into money (the Overview shows them "
            "beside the money). Missing amounts count as 0."
        )
    )
    model = value.load(cache.engine(), f.year)
    with st.form("value"):
        currency = st.text_input(
            _("Currency (three letters, e.g. EUR)"),
            value=model.currency if model else "USD",
            key="currency",
        )
        # Amounts as people write them (120,000, 2.50), read back as typed (120000, 120k).
        typed = {
            name: st.text_input(
                _(value.LABELS[name]),
                value=fmt.typed(float(getattr(model, name))) if model else "0",
                key=f"value_{name}",
            )
            for name in value.AMOUNTS
        }
        saved_value = st.form_submit_button(_("Save value model"))
    if saved_value:
        try:
            amounts = {}
            for name, text in typed.items():
                amounts[name] = value.typed_amount(_(value.LABELS[name]), text) or 0.0
            value.set_model(
                cache.engine(), year=f.year, actor=viewer.name, currency=currency, **amounts
            )
        except value.ValueModelError as exc:
            st.error(_("Not saved: {reason}.", reason=ui.plain(exc.said_in(sp))))
        else:
            cache.clear()
            st.success(_("Value model for {year} saved.", year=sp.digits(str(f.year))))
    competitor_settings.section(viewer)
