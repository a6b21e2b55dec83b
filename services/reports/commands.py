"""The reports' commands of `rapport`: summary, goals, hours, value, report (the parsers here,
the work in the modules they call, imported only when a command runs)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from services.common.clock import today_in
from services.common.config import get_settings
from services.reports.goal_metrics import GoalMetric


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_summary(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.reports.summary import as_table, summary

    settings = get_settings()
    try:
        data = summary(
            get_engine(),
            year=args.year or today_in(settings.timezone).year,
            as_of=args.as_of,
            tz=settings.timezone,
            network=args.network,
            account=args.account,
            group_id=settings.kafka_consumer_group,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else as_table(data))
    return 0


def cmd_goals(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from services.common.db import get_engine
    from services.domain.migrate import migrate
    from services.reports.goal_metrics import GoalMetric
    from services.reports.goals import set_goal

    migrate()
    if args.goals_action == "list":
        from services.reports import formatting as fmt
        from services.reports import queries

        year = args.year or today_in(get_settings().timezone).year
        targets = queries.goals(get_engine(), year)
        if not targets:
            print(f"No goals for {year} yet: rapport goals set --year {year} --metric M --target N")
            return 0
        print(f"Goals for {year}:")
        for metric, target in targets.items():
            print(f"  {fmt.label(metric):<48} {fmt.metric(metric, target):>16}   ({metric})")
        return 0
    with Session(get_engine()) as session:
        try:
            goal = set_goal(
                session,
                year=args.year,
                metric=GoalMetric(args.metric),
                target=args.target,
                actor="cli",
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    shown = f"{goal.target:,.0f}" if goal.target.is_integer() else f"{goal.target:g}"
    print(f"Goal for {goal.year}: {goal.metric} = {shown}")
    return 0


def cmd_hours(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate
    from services.domain.service_levels import ScheduleError
    from services.reports import schedules

    migrate()
    if args.hours_action == "set":
        try:
            schedules.set_hours(
                get_engine(),
                account=args.account,
                timezone=args.timezone,
                hours=args.hours,
                holidays=args.holidays,
                first_response_target_s=args.first_response_target,
                actor="cli",
            )
        except ScheduleError as exc:
            print(f"error: {exc}; nothing was saved", file=sys.stderr)
            return 2
    print(schedules.show(get_engine()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate
    from services.reports import delivery
    from services.reports.monthly import render

    settings = get_settings()
    engine = get_engine()
    migrate()
    if args.report_kind == "mailer":
        import threading

        if not settings.report_recipients:
            print("error: REPORT_RECIPIENTS is not set: nobody to send it to", file=sys.stderr)
            return 2
        delivery.run_mailer(engine, settings, threading.Event())
        return 0
    try:
        html = render(
            engine,
            month=args.month,
            tz=settings.timezone,
            group_id=settings.kafka_consumer_group,
            language=args.language or delivery.report_language(settings),
        )
        if args.out:
            Path(args.out).write_text(html, encoding="utf-8")
            print(f"Wrote {args.out} ({len(html.encode()):,} bytes): open it in a browser.")
        if args.pdf:
            Path(args.pdf).write_bytes(delivery.pdf_of(html))
            print(f"Wrote {args.pdf}: a PDF to forward.")
        if args.email:
            recipients = delivery.recipients_of(args.email)
            print(
                delivery.send_monthly(
                    engine,
                    settings,
                    month=args.month,
                    recipients=recipients,
                    language=args.language,
                )
            )
    except (ValueError, delivery.DeliveryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_value(args: argparse.Namespace) -> int:
    from services.common.db import get_engine
    from services.domain.migrate import migrate
    from services.reports import value

    migrate()
    engine = get_engine()
    if args.value_action == "set":
        given = {name: getattr(args, name) for name in value.AMOUNTS}
        try:
            model = value.set_model(
                engine, year=args.year, actor="cli", currency=args.currency, **given
            )
        except value.ValueModelError as exc:
            print(f"error: {exc}; nothing was saved", file=sys.stderr)
            return 2
    else:
        year = args.year or today_in(get_settings().timezone).year
        found = value.load(engine, year)
        if found is None:
            print(f"No value model for {year}: set one with `rapport value set`.")
            return 0
        model = found
    print(f"Value model {model.year} ({model.currency}):")
    for label, amount in value.assumptions(model):
        print(f"  {label}: {amount}")
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("summary", help="the year's support and brand figures")
    p.add_argument("--year", type=int, help="default: this year in RAPPORT_TIMEZONE")
    p.add_argument("--as-of", type=_date, default=None, help="last day counted (default today)")
    p.add_argument("--network")
    p.add_argument("--account")
    p.add_argument("--json", action="store_true", help="print the JSON of docs/figures.md")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("goals", help="yearly goals")
    goals_sub = p.add_subparsers(dest="goals_action", required=True, metavar="ACTION")
    goal = goals_sub.add_parser("set", help="set the target of one metric for one year")
    goal.add_argument("--year", type=int, required=True)
    goal.add_argument(
        "--metric",
        required=True,
        choices=[m.value for m in GoalMetric],
    )
    goal.add_argument("--target", type=float, required=True)
    goal.set_defaults(func=cmd_goals)
    listed = goals_sub.add_parser("list", help="the year's goals, as people read them")
    listed.add_argument("--year", type=int, help="default: this year")
    listed.set_defaults(func=cmd_goals)

    p = sub.add_parser("hours", help="business hours: when support works (for SLA figures)")
    hours_sub = p.add_subparsers(dest="hours_action", required=True, metavar="ACTION")
    hours = hours_sub.add_parser("set", help="set the default schedule, or one account's")
    hours.add_argument("--account", help="a brand account (default: every account)")
    hours.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Madrid")
    hours.add_argument(
        "--hours", required=True, help='e.g. "mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00"'
    )
    hours.add_argument("--holidays", default="", help="closed dates, e.g. 2026-12-25,2026-12-26")
    hours.add_argument(
        "--first-response-target", type=float, default=3600, help="SLA in business seconds"
    )
    hours.set_defaults(func=cmd_hours)
    hours_sub.add_parser("show", help="print every schedule").set_defaults(func=cmd_hours)

    p = sub.add_parser("report", help="reports to forward")
    report_sub = p.add_subparsers(dest="report_kind", required=True, metavar="KIND")
    monthly = report_sub.add_parser("monthly", help="a self-contained HTML report for one month")
    monthly.add_argument("--month", required=True, help="YYYY-MM")
    monthly.add_argument("--out", help="HTML file to write, e.g. rapport-2026-03.html")
    monthly.add_argument("--pdf", help="PDF file to write (Chromium's print of the report)")
    monthly.add_argument("--email", help="send it (HTML + PDF) to a@b,c@d over SMTP_HOST")
    monthly.add_argument(
        "--language",
        choices=["en", "tr", "ar", "fa", "fi"],
        help="the report's language (default: REPORT_LANGUAGE, else RAPPORT_LANGUAGE)",
    )
    monthly.set_defaults(func=cmd_report)
    report_sub.add_parser(
        "mailer", help="send last month's report to REPORT_RECIPIENTS on the 1st (rapport up)"
    ).set_defaults(func=cmd_report)

    p = sub.add_parser("value", help="the value model: what social earned, in money")
    value_sub = p.add_subparsers(dest="value_action", required=True, metavar="ACTION")
    setting = value_sub.add_parser(
        "set",
        help="set the year's assumptions",
        description="Set the year's assumptions. Those not given keep their stored value "
        "(0 in a new year's model), so one figure can change alone.",
    )
    setting.add_argument("--year", type=int, required=True)
    setting.add_argument("--currency", default=None, help="ISO 4217 code (default USD)")
    for name in (
        "cost_per_email_contact", "cost_per_social_contact", "cpm", "cpc",
        "value_per_moment", "program_cost",
    ):  # fmt: skip
        setting.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    setting.set_defaults(func=cmd_value)
    showing = value_sub.add_parser("show", help="print the year's assumptions")
    showing.add_argument("--year", type=int, help="default: this year in RAPPORT_TIMEZONE")
    showing.set_defaults(func=cmd_value)
