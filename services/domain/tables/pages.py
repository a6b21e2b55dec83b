"""The tables the pages write: moments, their audit trail and the Google Sheets and survey
outboxes (moments); staff accounts, sessions and failed logins (every page); yearly goals, the
value model and report deliveries (reports); API tokens (every service's APIs)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

# -- moments: moments, their audit trail, the Google Sheets outbox; staff accounts


class Moment(SQLModel, table=True):
    """A stored moment; people and tags are JSON arrays; deleted moments keep their row."""

    __tablename__ = "moment"
    __table_args__ = (
        Index("ix_moment_occurred_on", "occurred_on"),
        Index("ix_moment_link", "link"),
    )

    id: str = Field(primary_key=True, max_length=36)
    occurred_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    network: str = Field(max_length=16)
    link: str = Field(max_length=2048)
    people: str = Field(sa_column=Column(Text, nullable=False))
    customer_status: str = Field(max_length=32)
    change: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str | None = Field(default=None, max_length=32)
    initiated_by: str | None = Field(default=None, max_length=16)
    notes: str | None = Field(default=None, sa_column=Column(Text))
    tags: str = Field(sa_column=Column(Text, nullable=False))
    logged_by: str = Field(max_length=100)
    created_at: dt.datetime = Field(sa_type=DateTime)
    updated_at: dt.datetime = Field(sa_type=DateTime)
    deleted_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    # Bumped on every change; the sheet row is rewritten when its synced version is older.
    version: int = 1

    @staticmethod
    def encode_list(values: Sequence[str]) -> str:
        """People and tags as stored: a JSON array, unescaped so a search matches as typed."""
        return json.dumps(list(values), ensure_ascii=False)

    @staticmethod
    def decode_list(stored: str | None) -> list[str]:
        return list(json.loads(stored or "[]"))


class MomentAudit(SQLModel, table=True):
    """Who created, edited, deleted or restored a moment, and when."""

    __tablename__ = "moment_audit"

    id: int | None = Field(default=None, primary_key=True)
    moment_id: str = Field(index=True, max_length=36)
    action: str = Field(max_length=16)
    actor: str = Field(max_length=100)
    at: dt.datetime = Field(sa_type=DateTime)
    changes: str | None = Field(default=None, sa_column=Column(Text))  # JSON {field: [old, new]}


class SheetOutbox(SQLModel, table=True):
    """One row per moment still to write to the sheet; written in the moment's transaction."""

    __tablename__ = "sheet_outbox"

    moment_id: str = Field(primary_key=True, max_length=36)
    version: int
    enqueued_at: dt.datetime = Field(sa_type=DateTime)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=DateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # The saving request's W3C context when tracing is on: the Sheets write links to it (0015).
    traceparent: str | None = Field(default=None, max_length=55)


class SurveyOutbox(SQLModel, table=True):
    """A customer's survey answer not yet in `interaction_event`, one row per conversation
    (answering again replaces it): written in the transaction that accepts the answer, drained
    to Kafka by the moments service's relay, deleted once the consumer wrote it (0027)."""

    __tablename__ = "survey_outbox"

    event_id: str = Field(primary_key=True, max_length=128)
    # The Kafka record as published: a serialized InteractionBatch holding the `rating` event,
    # its ingested_at_us the moment the page accepted it (accepted_at_us), so a republished
    # copy is the same version and replaces nothing but itself.
    record: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    accepted_at_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    enqueued_at: dt.datetime = Field(sa_type=DateTime)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=DateTime)
    # When Kafka last acknowledged it; None: not yet (or accepted again since).
    sent_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class User(SQLModel, table=True):
    """A staff account: admin, manager or viewer; the password is stored as an argon2 hash."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=100)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    created_at: dt.datetime = Field(sa_type=DateTime)
    disabled: bool = False
    # Set with a one-time password (first run, create, reset): the first login with it leads to
    # choosing a new one, and the one-time password stops working there and then (0014).
    must_change_password: bool = False
    # The language the account reads the pages in; None: the browser's, else RAPPORT_LANGUAGE
    # (0020).
    language: str | None = Field(default=None, max_length=8)


class UserSession(SQLModel, table=True):
    """A login: `id` is the SHA-256 (hex) of the session id the cookie holds, never the id
    itself (0017); the form token guards every POST (CSRF)."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_type=DateTime)
    expires_at: dt.datetime = Field(sa_type=DateTime)


class LoginFailure(SQLModel, table=True):
    """One login attempt for a key (`user:NAME ip:ADDRESS`, `ip:ADDRESS`), written before its
    password is checked and deleted when it was right: what stays are failures. Rows expire
    with the window."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_key", "key", "failed_at"),
        Index("ix_login_failure_failed_at", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    failed_at: dt.datetime = Field(sa_type=DateTime)


# -- reports: yearly goals


class Goal(SQLModel, table=True):
    __tablename__ = "goal"

    year: int = Field(primary_key=True)
    metric: str = Field(primary_key=True, max_length=40)
    target: float
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = Field(sa_type=DateTime)


class ValueModelRow(SQLModel, table=True):
    """The year's value model: the assumptions that turn the figures into money."""

    __tablename__ = "value_model"

    year: int = Field(primary_key=True)
    currency: str = Field(max_length=3)  # ISO 4217
    cost_per_email_contact: float = 0.0
    cost_per_social_contact: float = 0.0
    cpm: float = 0.0
    cpc: float = 0.0
    value_per_moment: float = 0.0
    program_cost: float = 0.0
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = Field(sa_type=DateTime)


class ReportDelivery(SQLModel, table=True):
    """A monthly report the SMTP server accepted, for these recipients: never sent again."""

    __tablename__ = "report_delivery"

    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    recipients: str = Field(primary_key=True, max_length=2000)  # sorted, comma-separated
    message_id: str = Field(max_length=200)
    sent_at: dt.datetime = Field(sa_type=DateTime)


# -- API tokens (every service's APIs)


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST/gRPC APIs; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: dt.datetime = Field(sa_type=DateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=DateTime)
