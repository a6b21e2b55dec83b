"""What a moment is as people send it and read it: fields, rules, and the API shapes."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    field_validator,
)
from pydantic import Field as Schema

from services.common.i18n import N_
from services.domain.vocabulary import Network


class CustomerStatus(StrEnum):
    existing_customer = "existing_customer"
    prospect = "prospect"
    not_customer = "not_customer"
    unknown = "unknown"


class Outcome(StrEnum):
    retention = "retention"
    expansion = "expansion"
    advocacy = "advocacy"
    product_feedback = "product_feedback"
    issue_resolved = "issue_resolved"
    referral = "referral"
    other = "other"


class InitiatedBy(StrEnum):
    customer = "customer"  # reactive: they wrote first
    brand = "brand"  # proactive: we reached out


# An http(s) address with a host name; the same pattern is declared in the OpenAPI schema.
# Written so Python's and JSON Schema's regex dialects agree (their \\s differ on a few controls).
LINK_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?"
    r"([/?#][^\s\x00-\x1f\x7f\x85\ufeff]*)?$"
)


NETWORK_HOSTS = {
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "linkedin.com": "linkedin",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "reddit.com": "reddit",
    "threads.net": "threads",
    "threads.com": "threads",
    "bsky.app": "bluesky",
    "pinterest.com": "pinterest",
    "pin.it": "pinterest",
    "wa.me": "whatsapp",
    "whatsapp.com": "whatsapp",
}
# Query parameters that say who shared a link or from where, not which conversation it is:
# dropped from a pasted link so the moment matches its conversation's stored url.
TRACKERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|igshid|igsh|si|s|t|ref|ref_src|ref_url|mibextid|rcm|trk|"
    r"trackingId|lipi|share_id|is_from_webapp|sender_device)$",
    re.IGNORECASE,
)


def without_trackers(link: str) -> str:
    """The link with its sharing and campaign parameters removed (`?s=46&t=...`, `utm_*`,
    `fbclid`...), everything else (path, other parameters, fragment) kept as it was."""
    parts = urlsplit(link)
    if not parts.query:
        return link
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKERS.match(name)
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def guess_network(link: str) -> str | None:
    """The network a conversation link belongs to, when its host says so."""
    host = (urlparse(link).hostname or "").lower().removeprefix("www.").removeprefix("m.")
    return NETWORK_HOSTS.get(host)


def _http_url(value: str) -> str:
    if not re.match(LINK_PATTERN, value):
        raise ValueError(N_("must be an http(s) link to the conversation"))
    return without_trackers(value)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso_date(value: object) -> object:
    # Lax parsing would take 0 or "0.0" as 1970-01-01; a date is written YYYY-MM-DD.
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError(N_("must be a date written YYYY-MM-DD"))


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _not_future(value: dt.date) -> dt.date:
    # A day of grace: a manager east of UTC may already live in tomorrow.
    if value > dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1):
        raise ValueError(N_("cannot be in the future"))
    return value


# A character that is not whitespace in either regex dialect (Python's and JSON Schema's \s
# disagree on a few controls and U+FEFF).
VISIBLE = r"[^\s\x00\x1c-\x1f\x85\ufeff]"


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no person types one.
    if "\x00" in value:
        raise ValueError(N_("must not contain NUL (\\x00) characters"))
    return value


def _trimmed(value: str) -> str:
    _no_nul(value)
    if not re.search(VISIBLE, value):
        raise ValueError(N_("must not be blank"))
    return value.strip()


# Length limits apply to the text as sent, as the OpenAPI schema says; then it is trimmed.
NO_NUL = (AfterValidator(_no_nul), Schema(json_schema_extra={"pattern": "^[^\\x00]*$"}))
NOT_BLANK = (
    AfterValidator(_trimmed),
    Schema(json_schema_extra={"pattern": f"^[^\\x00]*{VISIBLE}[^\\x00]*$"}),
)
Handle = Annotated[str, StringConstraints(max_length=200), *NOT_BLANK]
Tag = Annotated[str, StringConstraints(max_length=50), *NOT_BLANK, AfterValidator(str.lower)]
Notes = Annotated[str, StringConstraints(max_length=5000), *NO_NUL]
Link = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_http_url),
    # Declared for API clients; the check itself is _http_url, with a message people can read.
    Schema(json_schema_extra={"pattern": LINK_PATTERN}),
]
Change = Annotated[str, StringConstraints(max_length=5000), *NOT_BLANK]


class MomentRules(BaseModel):
    """The rules a moment's fields obey, on create and on update alike: the `x` alias and
    de-duplicated people (the field types above carry trimming, lengths and patterns)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("network", mode="before", check_fields=False)
    @classmethod
    def _alias(cls, value: object) -> object:
        return "twitter" if isinstance(value, str) and value.strip().lower() == "x" else value

    @field_validator("people", check_fields=False)
    @classmethod
    def _some_people(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(N_("name at least one person or handle"))
        return list(dict.fromkeys(value))  # drop repeats, keep order


OccurredOn = Annotated[IsoDate, AfterValidator(_not_future)]
People = Annotated[list[Handle], Schema(json_schema_extra={"minItems": 1})]


class MomentBase(MomentRules):
    """The fields a person fills in (docs/figures.md#meaningful-relationship-moment)."""

    occurred_on: OccurredOn
    network: Network
    link: Link
    people: People
    customer_status: CustomerStatus = CustomerStatus.unknown
    change: Change
    outcome: Outcome | None = None
    initiated_by: InitiatedBy | None = None
    notes: Notes | None = None
    tags: list[Tag] = []


class MomentCreate(MomentBase):
    """Body of POST /api/v1/moments and of the web form."""


class MomentUpdate(MomentRules):
    """Body of PATCH /api/v1/moments/{id}: any subset of MomentBase's fields, same rules."""

    occurred_on: OccurredOn | None = None
    network: Network | None = None
    link: Link | None = None
    people: People | None = None
    customer_status: CustomerStatus | None = None
    change: Change | None = None
    outcome: Outcome | None = None
    initiated_by: InitiatedBy | None = None
    notes: Notes | None = None
    tags: list[Tag] | None = None


class SheetSync(BaseModel):
    state: str  # synced, pending, failed, off
    attempts: int = 0
    error: str | None = None


class MomentPublic(MomentBase):
    """What the API returns."""

    model_config = ConfigDict(extra="ignore")

    id: str
    logged_by: str
    created_at: Annotated[dt.datetime, AfterValidator(_utc)]
    updated_at: Annotated[dt.datetime, AfterValidator(_utc)]
    deleted_at: Annotated[dt.datetime | None, AfterValidator(_utc)] = None
    sheet_sync: SheetSync | None = None
