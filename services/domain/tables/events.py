"""The tables ingest's consumer writes and the reports read: events as last accepted, rollups,
support conversations and their schedules, dead letters, the consumer's progress, retention and
erasures, competitors."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel

# -- ingest: events as last accepted, rollups, support conversations

# Comparisons joined by OR, not an IN list: SQLite builds a temporary table for an IN list of
# more than two values on every row it inserts, to test a partial index's predicate (migration
# 0025). Queries repeat this text, so SQLite sees they imply the index's predicate.
OUTCOME_WHERE = "(kind = 'followers' OR kind = 'visit' OR kind = 'lead' OR kind = 'conversion')"
OUTCOME_COLUMNS = (
    "kind", "occurred_at", "network", "account", "campaign", "count", "currency", "value_e4",
)  # fmt: skip
CONVERTED_WHERE = "kind = 'conversion' AND actor IS NOT NULL"
CONVERTED_COLUMNS = ("kind", "actor", "occurred_at", "count", "currency", "value_e4")
# By person first: PostgreSQL cannot seek on a leading `kind` its partial predicate fixes (0028).
CONVERTED_BY_PERSON = ("actor", "occurred_at", "count", "currency", "value_e4")
# Conversions whose actor an exact lookup may miss: any character beyond printable ASCII
# (spaces and other letters included) or an upper-case letter. Explicit letters: a range in a
# PostgreSQL bracket may follow the collation.
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
UNUSUAL_ACTOR = {
    "sqlite": f"{CONVERTED_WHERE} AND (actor GLOB '*[^!-~]*' OR actor GLOB '*[{UPPER}]*')",
    "postgresql": f"{CONVERTED_WHERE} AND actor ~ '[^!-~]|[{UPPER}]'",
}
CAMPAIGN_LENGTH = 200


class InteractionEvent(SQLModel, table=True):
    """One interaction as last accepted for its event_id (a newer version replaces it)."""

    __tablename__ = "interaction_event"
    __table_args__ = (
        # Only events of a conversation (message kinds) are indexed by it (migration 0006).
        Index(
            "ix_event_conversation",
            "network",
            "conversation_id",
            sqlite_where=text("conversation_id IS NOT NULL"),
            postgresql_where=text("conversation_id IS NOT NULL"),
        ),
        # Outcome events (follower snapshots, visits, leads, conversions) by time, with every
        # column their figures read, so a year is one index range and never the table (0019).
        Index(
            "ix_event_outcome",
            *OUTCOME_COLUMNS,
            sqlite_where=text(OUTCOME_WHERE),
            postgresql_where=text(OUTCOME_WHERE),
        ),
        # Conversions that name a person, looked up by each of the moments' people and a window
        # of time (0019, by person first since 0028). Apart: an actor (500 characters) beside
        # account and campaign could outgrow a PostgreSQL entry.
        Index(
            "ix_event_converted",
            *CONVERTED_BY_PERSON,
            sqlite_where=text(CONVERTED_WHERE),
            postgresql_where=text(CONVERTED_WHERE),
        ),
        # ... and the few an exact lookup could miss, read whole (0019).
        Index(
            "ix_event_converted_unusual",
            *CONVERTED_COLUMNS,
            sqlite_where=text(UNUSUAL_ACTOR["sqlite"]),
            postgresql_where=text(UNUSUAL_ACTOR["postgresql"]),
        ),
    )

    event_id: str = Field(primary_key=True, max_length=128)
    occurred_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC
    utc_offset_minutes: int = 0
    network: str = Field(max_length=16)
    kind: str = Field(max_length=32)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    account: str = Field(max_length=200)
    actor: str | None = Field(default=None, sa_column=Column(Text))
    conversation_id: str | None = Field(default=None, max_length=200)
    post_id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2048)
    attributes: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    # Microseconds since the epoch when ingest accepted this version; the newest version wins.
    ingested_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Hash of the event's content: a redelivery with the same hash is a no-op.
    content_hash: str = Field(max_length=32)
    # Leads and conversions: the value in ten-thousandths (exact integer sums on every
    # database) and its ISO 4217 currency.
    value_e4: int | None = Field(default=None, sa_column=Column(BigInteger))
    currency: str | None = Field(default=None, max_length=3)
    # Visits, leads and conversions: attributes.utm_campaign (its first 200 characters).
    campaign: str | None = Field(default=None, max_length=CAMPAIGN_LENGTH)


class EventRetention(SQLModel, table=True):
    """The retention cut-off (one row, id 1): raw events before it were deleted, the rollups and
    conversation facts hold them; ingest refuses events before it (they could no longer replace
    an earlier version exactly)."""

    __tablename__ = "event_retention"

    id: int | None = Field(default=None, primary_key=True)
    before_day: dt.date = Field(sa_column=Column(Date, nullable=False))  # as asked, local day
    before_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC: before_day's local midnight
    timezone: str = Field(max_length=64)  # RAPPORT_TIMEZONE when it was applied
    applied_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC, the last run
    deleted: int = Field(sa_column=Column(BigInteger, nullable=False))  # by the last run


class PersonErasure(SQLModel, table=True):
    """The receipt of one `rapport people forget`: when, by whom, the rows changed per place
    (JSON), and the sha256 of the lower-cased identifier, never the identifier itself."""

    __tablename__ = "person_erasure"

    id: int | None = Field(default=None, primary_key=True)
    erased_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC
    erased_by: str = Field(max_length=100)
    person_sha256: str = Field(max_length=64)
    rows: str = Field(sa_column=Column(Text, nullable=False))  # JSON {place: rows changed}


class RollupHourly(SQLModel, table=True):
    """Sum of `count` and number of events per UTC hour and (network, account, kind)."""

    __tablename__ = "rollup_hourly"

    hour: dt.datetime = Field(primary_key=True, sa_type=DateTime)  # naive UTC, whole hour
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupEngagementHourly(SQLModel, table=True):
    """Engagement (like, comment, reply, share, mention, save, click: `count` summed) per UTC
    hour and (network, account): the heatmap's hours, whose rows the hourly rollup multiplies
    by the kinds that happened in them, more of them as events grow (0026)."""

    __tablename__ = "rollup_engagement_hourly"

    hour: dt.datetime = Field(primary_key=True, sa_type=DateTime)  # naive UTC, whole hour
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupDaily(SQLModel, table=True):
    """Sum of `count` and number of events per local day (RAPPORT_TIMEZONE) and key."""

    __tablename__ = "rollup_daily"

    day: dt.date = Field(primary_key=True)
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupOutcomeMonthly(SQLModel, table=True):
    """Visits, leads and conversions per local month, key, campaign and currency: sum of
    `count`, of `value_e4` (ten-thousandths) and number of events. The figures read whole months
    here and the as-of month's days from rollup_outcome_daily (0019, 0026). `campaign` and
    `currency` are '' when the events carry none (a currency without a value counts as none: no
    revenue to sum)."""

    __tablename__ = "rollup_outcome_monthly"

    month: dt.date = Field(primary_key=True)  # its first day
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    campaign: str = Field(primary_key=True, max_length=CAMPAIGN_LENGTH)
    currency: str = Field(primary_key=True, max_length=3)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    value_e4: int = Field(sa_column=Column(BigInteger, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupOutcomeDaily(SQLModel, table=True):
    """The same sums per local day: the figures read the as-of month's days here, so a funnel
    reads rollups only, however many orders the month holds (0026)."""

    __tablename__ = "rollup_outcome_daily"

    day: dt.date = Field(primary_key=True)
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    campaign: str = Field(primary_key=True, max_length=CAMPAIGN_LENGTH)
    currency: str = Field(primary_key=True, max_length=3)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    value_e4: int = Field(sa_column=Column(BigInteger, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class SupportConversation(SQLModel, table=True):
    """Facts of one support conversation, recomputed from its message events on every change."""

    __tablename__ = "support_conversation"
    __table_args__ = (
        Index("ix_conversation_first_inbound", "first_inbound_at"),
        Index("ix_conversation_url", "url"),  # moments look their link up here
        # Every column the support figures count, so a year is one index range scan (0013).
        Index(
            "ix_conversation_report",
            "first_inbound_at",
            "network",
            "account",
            "first_response_at",
            "first_response_s",
            "resolved_at",
            "resolution_s",
            "agent",
            "first_response_business_s",
            "sla_target_s",
        ),
        # Walked in value order to read a percentile at its rank without sorting (0005, 0013).
        Index(
            "ix_conversation_by_response",
            "first_response_s",
            "first_inbound_at",
            "network",
            "account",
            "first_response_at",
        ),
        Index(
            "ix_conversation_by_resolution",
            "resolution_s",
            "first_inbound_at",
            "network",
            "account",
            "resolved_at",
        ),
        Index(
            "ix_conversation_by_response_business",
            "first_response_business_s",
            "first_inbound_at",
            "network",
            "account",
            "first_response_at",
        ),
        Index(
            "ix_conversation_by_resolution_business",
            "resolution_business_s",
            "first_inbound_at",
            "network",
            "account",
            "resolved_at",
        ),
        # Each agent's answers in value order, for the agents' medians (0013).
        Index(
            "ix_conversation_agent_response",
            "agent",
            "first_response_s",
            "first_inbound_at",
            "first_response_at",
            "network",
            "account",
        ),
        Index(
            "ix_conversation_agent_response_business",
            "agent",
            "first_response_business_s",
            "first_inbound_at",
            "first_response_at",
            "network",
            "account",
        ),
    )

    network: str = Field(primary_key=True, max_length=16)
    conversation_id: str = Field(primary_key=True, max_length=200)
    account: str = Field(default="default", max_length=200)
    url: str | None = Field(default=None, max_length=2048)
    # Naive UTC; None while only brand messages exist.
    first_inbound_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    first_response_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    resolved_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    messages_received: int = 0
    messages_sent: int = 0
    # Seconds from the first inbound message, kept so reports aggregate without date arithmetic.
    first_response_s: float | None = None
    resolution_s: float | None = None
    # Who gave the first response (its message_sent's actor); None when it named nobody.
    agent: str | None = Field(default=None, sa_column=Column(Text))
    # Its service levels under its schedule, rewritten whenever a schedule changes (0013).
    first_response_business_s: float | None = None
    resolution_business_s: float | None = None
    sla_target_s: float | None = None
    # The first inbound message after its resolution: the customer came back (0021).
    reopened_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    # Its latest `rating` event (greatest occurred_at): 1..5, when, and the comment (0021).
    rating: int | None = None
    rated_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    rating_comment: str | None = Field(default=None, sa_column=Column(Text))


class DeadLetter(SQLModel, table=True):
    """A record of the dead-letter topic, as the consumer stored it (once per letter: the
    SHA-256 of its bytes, so a replay at new offsets adds nothing and a new broker's reused
    offsets lose nothing): the count behind each report's completeness line, and what an
    on-call engineer lists. Partition and offset: where it was first read."""

    __tablename__ = "dead_letter"
    __table_args__ = (Index("ix_dead_letter_rejected_at", "rejected_at"),)

    letter_id: str = Field(primary_key=True, max_length=64)
    kafka_partition: int
    kafka_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(max_length=64)
    reason: str = Field(max_length=64)
    error: str = Field(max_length=500)
    rejected_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC


class ConsumerProgress(SQLModel, table=True):
    """How far the consumer's writes reach in each partition: the next offset to write, the end
    of the partition when last looked, and the broker time of the last record written."""

    __tablename__ = "consumer_progress"

    group_id: str = Field(primary_key=True, max_length=200)
    kafka_partition: int = Field(primary_key=True)
    next_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    high_water: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_record_at: dt.datetime | None = Field(default=None, sa_type=DateTime)  # naive UTC
    reported_at: dt.datetime = Field(sa_type=DateTime)  # naive UTC


class SupportSchedule(SQLModel, table=True):
    """When support works, for one brand account ('' = the default): business hours."""

    __tablename__ = "support_schedule"

    account: str = Field(primary_key=True, max_length=200)
    timezone: str = Field(max_length=64)
    hours: str = Field(sa_column=Column(Text, nullable=False))  # "mon-fri 09:00-17:00; ..."
    holidays: str = Field(sa_column=Column(Text, nullable=False))  # "2026-12-25,2026-12-26"
    first_response_target_s: int
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = Field(sa_type=DateTime)


class Competitor(SQLModel, table=True):
    """A competitor's account on a network: its events count only in `listening` (0022)."""

    __tablename__ = "competitor"

    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=100)
    added_by: str = Field(max_length=100)
    added_at: dt.datetime = Field(sa_type=DateTime)
