"""The monthly report: previewed as it will be sent, downloaded as HTML or PDF, sent by e-mail."""

import datetime as dt

import streamlit as st
import streamlit.components.v1 as components

from services.reports import cache, delivery, reads, ui

sp = ui.speaker()
f: ui.Filters = st.session_state["filters"]
settings = cache.settings()
viewer: ui.Viewer = st.session_state["viewer"]
st.title(sp._("Monthly report"))
st.caption(
    sp._(
        "What executives receive on the first of each month: the month against the month before "
        "and a year earlier, then the year to date, for every network and account."
    )
)

# The months of the sidebar's year up to its as-of day, newest first; last month by default
# when the year is the current one (the month in progress is a report of days so far).
months = [dt.date(f.year, m, 1) for m in range(f.as_of.month, 0, -1)]
today = dt.datetime.now(settings.timezone).date()
default = (
    1 if f.as_of.year == today.year and f.as_of.month == today.month and len(months) > 1 else 0
)
chosen = st.selectbox(
    sp._("Month"), months, index=default, format_func=sp.month, key="report_month"
)
month = f"{chosen:%Y-%m}"
if chosen.year == today.year and chosen.month == today.month:
    st.caption(sp._("This month is not over: the report shows its days so far."))

with cache.timed_page("report"):
    report = reads.monthly_report(
        month=month,
        tz=settings.timezone,
        group_id=settings.kafka_consumer_group,
        language=sp.language,
    )
    download, pdf, _ = st.columns([1, 1, 2])
    download.download_button(
        sp._("Download HTML"),
        report.encode(),
        file_name=f"rapport-{month}.html",
        mime="text/html",
        icon=":material/download:",
    )
    if pdf.button(sp._("Make the PDF"), icon=":material/picture_as_pdf:"):
        try:
            with st.spinner(sp._("Printing the PDF…")):
                st.session_state["report_pdf"] = (month, delivery.pdf_of(report))
        except delivery.DeliveryError as exc:
            st.error(sp._("The PDF could not be made: {reason}", reason=ui.plain(str(exc))))
    made = st.session_state.get("report_pdf")
    if made and made[0] == month:
        pdf.download_button(
            sp._("Download PDF"),
            made[1],
            file_name=f"rapport-{month}.pdf",
            mime="application/pdf",
            icon=":material/download:",
        )

    if viewer.can_edit_goals:  # admins and managers send; viewers read and download
        with st.expander(sp._("Send by e-mail")):
            if not settings.smtp_host:
                st.info(
                    sp._(
                        "E-mail is not set up on this server: the operator sets SMTP_HOST "
                        "(docs/operating.md). Download the PDF to forward it meanwhile."
                    )
                )
            else:
                with st.form("send_report"):
                    to = st.text_input(
                        sp._("Recipients"),
                        value=settings.report_recipients or "",
                        help=sp._("E-mail addresses, separated by commas."),
                    )
                    sent = st.form_submit_button(sp._("Send"))
                if sent:
                    try:
                        recipients = delivery.recipients_of(to)
                        with st.spinner(sp._("Sending…")):
                            outcome = delivery.send_monthly(
                                cache.engine(), settings, month=month, recipients=recipients
                            )
                        if outcome.startswith("already sent"):
                            st.info(sp._("This report reached these recipients before."))
                        else:
                            st.success(
                                sp._("Sent to {recipients}.", recipients=", ".join(recipients))
                            )
                    except delivery.RecipientsError as exc:
                        st.error(sp._("Not sent: {reason}", reason=ui.plain(exc.said_in(sp))))
                    except (ValueError, delivery.DeliveryError) as exc:
                        # The mail server's own words (docs/using.md#languages).
                        st.error(sp._("Not sent: {reason}", reason=ui.plain(str(exc))))

    # The report as it will be read: its own page in a frame, so its styles stay its own.
    components.html(report, height=1400, scrolling=True)
