"""Tables the consumer writes: events, hourly/daily rollups, per-conversation support facts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel


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


class RollupHourly(SQLModel, table=True):
    """Sum of `count` and number of events per UTC hour and (network, account, kind)."""

    __tablename__ = "rollup_hourly"

    hour: dt.datetime = Field(primary_key=True, sa_type=DateTime)  # naive UTC, whole hour
    network: str = Field(primary_key=True, max_length=16)
    account: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
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


class SupportConversation(SQLModel, table=True):
    """Facts of one support conversation, recomputed from its message events on every change."""

    __tablename__ = "support_conversation"
    __table_args__ = (
        Index("ix_conversation_first_inbound", "first_inbound_at"),
        Index("ix_conversation_url", "url"),  # moments look their link up here
        # Every column the support figures read, so a year is one index range scan (0004).
        Index(
            "ix_conversation_report",
            "first_inbound_at",
            "network",
            "account",
            "first_response_at",
            "first_response_s",
            "resolved_at",
            "resolution_s",
        ),
        # Walked in value order to read a percentile at its rank without sorting (0005).
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
