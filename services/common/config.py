"""Typed settings read from the environment (12-factor); see .env.example for every variable."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class KafkaLink:
    """The part of the settings a Kafka client needs: where the brokers are, Rapport's topics and
    its consumer group (services/common/kafka.py makes every client from it)."""

    bootstrap_servers: str
    topic: str
    dlq_topic: str
    partitions: int
    group: str
    session_timeout_ms: int


class Settings(BaseSettings):
    """Every setting Rapport reads, each from the environment variable `.env.example` lists."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/rapport.db"
    # Unset means "start and use the embedded broker" (rapport up) on EMBEDDED_BROKER_PORT.
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = "rapport.interactions.v1"
    kafka_dlq_topic: str = "rapport.interactions.dlq.v1"
    kafka_partitions: int = Field(default=3, ge=1)
    kafka_consumer_group: str = "rapport-consumer"
    embedded_broker_port: int = 9092
    # rapport up: a dead child is restarted after this, doubling at each death.
    rapport_restart_delay_s: float = Field(default=1.0, gt=0, le=60)

    # Where the gRPC and stand-alone metrics servers listen (0.0.0.0 in containers).
    grpc_host: str = "127.0.0.1"
    metrics_host: str = "127.0.0.1"

    rapport_admin_token: str | None = None
    rapport_timezone: str = "UTC"
    # How every process logs: `text` for people or `json` (one object a line), from LOG_LEVEL up.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # The language of pages for whoever has not chosen one and whose browser names none Rapport
    # speaks (en, tr, ar, fa, fi); the monthly report's, by e-mail, is REPORT_LANGUAGE's.
    rapport_language: Literal["en", "tr", "ar", "fa", "fi"] = "en"
    # The reverse proxies in front of the HTTP services (addresses or networks, comma-separated):
    # only a request from one of them may name its client in X-Forwarded-For / -Proto. Empty:
    # the client is whoever connects (what the login limits count).
    rapport_trusted_proxies: str = ""

    ingest_http_host: str = "127.0.0.1"
    ingest_http_port: int = 8001
    ingest_grpc_port: int = 50051
    ingest_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    ingest_max_events_per_request: int = Field(default=50_000, ge=1)
    # A request body must keep arriving: one chunk at least every this many seconds (slow-loris).
    ingest_body_timeout_s: float = Field(default=30.0, gt=0)
    # Past this many acknowledged events not yet in the database, ingest answers 503.
    ingest_max_backlog_events: int = Field(default=1_000_000, ge=1)
    # Where ingest journals acknowledged records (journal.py); `rapport up` sets var/journal for
    # the embedded broker, which keeps records only in memory. Empty: no journal.
    ingest_journal_dir: str | None = None
    consumer_metrics_port: int = 9102
    consumer_batch_max_events: int = Field(default=20_000, ge=1)
    consumer_batch_max_seconds: float = Field(default=0.5, gt=0)
    # How fast a dead consumer's partitions move to the others (Kafka session.timeout.ms).
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)

    moments_http_host: str = "127.0.0.1"
    moments_http_port: int = 8002
    moments_grpc_port: int = 50052
    reports_host: str = "127.0.0.1"
    reports_port: int = 8501
    reports_metrics_port: int = 9103
    # Where people open the two sites (one login serves both: the reports app sends people to
    # the moments site's login, which may send them back only to REPORTS_PUBLIC_URL).
    moments_public_url: str | None = None
    reports_public_url: str | None = None
    # Survey links (docs/using.md#customer-satisfaction-surveys): the HMAC-SHA256 key their
    # tokens are signed with (unset: one made and kept in var/survey-secret) and their life.
    rapport_survey_secret: str | None = None
    rapport_survey_days: int = Field(default=30, ge=1, le=365)
    # The moments service relays the survey answers to Kafka itself; off, `rapport surveys
    # relay` does it as a process of its own (`rapport up` runs one), its metrics on this port.
    surveys_relay_in_service: bool = True
    survey_relay_metrics_port: int = 9106
    # Ingest's /metrics, where the reports' Settings page reads each webhook's state.
    ingest_metrics_url: str | None = None
    sheet_sync_metrics_port: int = 9104  # `rapport sheets sync` as a process of its own

    google_application_credentials: str | None = None
    sheets_spreadsheet_id: str | None = None
    google_sheets_api_url: str = "https://sheets.googleapis.com"
    sheets_timeout_s: float = 30.0  # per Sheets API request; a timed-out write is retried safely
    # The monthly report by email over SMTP, and who receives it on the first day of each month
    # (comma-separated; unset: no scheduled delivery). SMTP_SECURITY: "starttls" (the server
    # must offer it), "tls" (implicit, usually port 465), or "none": clear text, for a relay on
    # this host or network only; nothing, not even the login, is sent before TLS otherwise.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "rapport@localhost"
    smtp_timeout_s: float = 30.0
    report_recipients: str | None = None
    report_language: Literal["en", "tr", "ar", "fa", "fi"] | None = None
    # Platform webhooks (POST /v1/webhooks/...): a source is on only once its secret is set.
    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    x_consumer_secret: str | None = None
    chatwoot_webhook_secret: str | None = None
    shopify_webhook_secret: str | None = None
    # The Graph API poller (`rapport connect meta`): a Page access token and the ids to read.
    meta_page_token: str | None = None
    meta_page_id: str | None = None
    meta_instagram_id: str | None = None
    graph_api_url: str = "https://graph.facebook.com"
    # The moments service drains the sheet outbox itself; with several web replicas turn this off
    # and run one `rapport sheets sync` instead (the worker assumes it is alone).
    sheets_sync_in_service: bool = True

    # Backups (docs/stewardship.md): `rapport up` takes one a day into RAPPORT_BACKUP_DIR and
    # keeps the newest RAPPORT_BACKUP_KEEP, with their metrics on BACKUP_METRICS_PORT.
    # PostgreSQL's client tools: PG_DUMP and PG_RESTORE, else the ones on PATH.
    rapport_backup_dir: str = "var/backups"
    rapport_backup_keep: int = Field(default=7, ge=1)
    backup_metrics_port: int = 9105
    pg_dump: str | None = None
    pg_restore: str | None = None
    # Set: `rapport up` deletes raw events older than this many days once a day (retention).
    rapport_event_retention_days: int | None = Field(default=None, ge=1)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        word = value.strip()
        return word.upper() if info.field_name == "log_level" else word.lower()

    @field_validator("rapport_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises a clear error naming the zone when it does not exist
        return value

    @field_validator("rapport_trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",") if e.strip()):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"RAPPORT_TRUSTED_PROXIES: {entry!r} is not an IP address or network (such "
                    "as 10.0.0.5 or 10.0.0.0/8); name the proxies, not '*': whoever is trusted "
                    "chooses the client address the login limits count"
                ) from None
        return value

    @property
    def trusted_proxies(self) -> list[str]:
        return [e.strip() for e in self.rapport_trusted_proxies.split(",") if e.strip()]

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.embedded_broker_port}"

    @property
    def kafka(self) -> KafkaLink:
        return KafkaLink(
            bootstrap_servers=self.bootstrap_servers,
            topic=self.kafka_topic,
            dlq_topic=self.kafka_dlq_topic,
            partitions=self.kafka_partitions,
            group=self.kafka_consumer_group,
            session_timeout_ms=self.consumer_session_timeout_ms,
        )

    @property
    def ingest_metrics(self) -> str:
        return self.ingest_metrics_url or f"http://127.0.0.1:{self.ingest_http_port}/metrics"

    @property
    def moments_url(self) -> str:
        return (self.moments_public_url or f"http://127.0.0.1:{self.moments_http_port}").rstrip("/")

    @property
    def reports_url(self) -> str:
        return (self.reports_public_url or f"http://127.0.0.1:{self.reports_port}").rstrip(
            "/"
        ) + "/"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.rapport_timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_problem(exc: ValidationError) -> str:
    """What is wrong with the environment, by variable: `LOG_LEVEL: Input should be ...`."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
        for error in exc.errors()
    )
