"""Two rollup grains, so what a page reads grows with days and accounts, not with events
(bench/RESULTS.md, session 11: 10M against 100M events on PostgreSQL).

- rollup_outcome_daily: visits, leads and conversions also per local day. The funnel reads its
  as-of month's days here instead of that month's raw outcome events, whose number grows with
  a brand's orders and forms. Existing databases are filled from the outcome events still
  stored, per local day of RAPPORT_TIMEZONE as the consumer keys them (Rapport's own arithmetic,
  as in 0013: SQLite has no time zones). Days whose raw events retention already deleted get no
  daily row; before this revision the as-of month was read from those same events.
- rollup_engagement_hourly: engagement per UTC hour and (network, account), the kinds summed.
  The heatmap read rollup_hourly, a row per hour, account and kind: as events grow, more kinds
  happen in each hour (5x the rows at 100M events against 10M, measured, 1.3x here). Filled
  from rollup_hourly.

The consumer writes both in the transaction that writes the events (the monthly outcome sums
are the daily ones summed).

Revision ID: 0026
Revises: 0022
"""

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None

OUTCOMES = "(kind = 'followers' OR kind = 'visit' OR kind = 'lead' OR kind = 'conversion')"
ENGAGEMENT = "('click', 'comment', 'like', 'mention', 'reply', 'save', 'share')"


def upgrade() -> None:
    table = op.create_table(
        "rollup_outcome_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("network", sa.String(16), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("campaign", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("value_e4", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    _fill(table)
    op.create_table(
        "rollup_engagement_hourly",
        sa.Column("hour", sa.DateTime(), primary_key=True),
        sa.Column("network", sa.String(16), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO rollup_engagement_hourly (hour, network, account, count, events) "
        "SELECT hour, network, account, SUM(count), SUM(events) FROM rollup_hourly "
        f"WHERE kind IN {ENGAGEMENT} GROUP BY hour, network, account "
        "HAVING SUM(count) <> 0 OR SUM(events) <> 0"
    )


def _fill(table: sa.Table) -> None:
    from services.common.config import get_settings

    tz = get_settings().timezone
    bind = op.get_bind()
    # The outcome index's own predicate, so both databases read it alone (0019, 0025).
    rows = bind.execute(
        sa.text(
            "SELECT occurred_at, network, account, kind, campaign, currency, count, value_e4 "
            f"FROM interaction_event WHERE {OUTCOMES} AND kind IN ('visit', 'lead', 'conversion')"
        )
    )
    sums: defaultdict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for at, network, account, kind, campaign, currency, count, value in rows:
        instant = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
        day = instant.replace(tzinfo=dt.UTC).astimezone(tz).date()
        # As the consumer keys them: a currency without a value is none.
        key = (
            day,
            network,
            account,
            kind,
            campaign or "",
            (currency or "") if value is not None else "",
        )
        total = sums[key]
        total[0] += count
        total[1] += value or 0
        total[2] += 1
    values = [
        dict(zip(("day", "network", "account", "kind", "campaign", "currency"), key, strict=True))
        | {"count": c, "value_e4": v, "events": n}
        for key, (c, v, n) in sums.items()
    ]
    for start in range(0, len(values), 10_000):
        op.bulk_insert(table, values[start : start + 10_000])


def downgrade() -> None:
    op.drop_table("rollup_engagement_hourly")
    op.drop_table("rollup_outcome_daily")
