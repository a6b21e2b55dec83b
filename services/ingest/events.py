"""The interaction event contract: validation with field-named errors, and protobuf conversion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from rapport.ingest.v1 import ingest_pb2


class Network(StrEnum):
    twitter = "twitter"
    facebook = "facebook"
    instagram = "instagram"
    linkedin = "linkedin"
    tiktok = "tiktok"
    youtube = "youtube"
    reddit = "reddit"
    email = "email"
    chat = "chat"
    other = "other"


NETWORK_ALIASES = {"x": "twitter"}


class Kind(StrEnum):
    impression = "impression"
    reach = "reach"
    like = "like"
    comment = "comment"
    reply = "reply"
    share = "share"
    mention = "mention"
    save = "save"
    click = "click"
    follow = "follow"
    profile_visit = "profile_visit"
    message_received = "message_received"
    message_sent = "message_sent"
    conversation_resolved = "conversation_resolved"


MESSAGE_KINDS = frozenset({Kind.message_received, Kind.message_sent, Kind.conversation_resolved})
ENGAGEMENT_KINDS = frozenset(
    {Kind.like, Kind.comment, Kind.reply, Kind.share, Kind.mention, Kind.save, Kind.click}
)


def _network_alias(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        return NETWORK_ALIASES.get(lowered, lowered)
    return value


EARLIEST_OCCURRED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _rfc3339(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string, e.g. 2026-03-01T09:30:00Z")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not an RFC 3339 timestamp (e.g. 2026-03-01T09:30:00+01:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("needs a UTC offset (Z or +hh:mm)")
    # Social networks began in the 2000s; a day ahead allows for clock skew, not typos.
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    if not EARLIEST_OCCURRED_AT <= parsed <= latest:
        raise ValueError(f"{value[:40]!r} is outside 2000-01-01 .. tomorrow")
    return parsed


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refused here, it never reaches the consumer.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


NoNul = AfterValidator(_no_nul)
Text = Annotated[StrictStr, Field(max_length=200), NoNul]


class EventIn(BaseModel):
    """One interaction as a client sends it (REST JSON, or a gRPC message converted to a dict)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[StrictStr, Field(min_length=1, max_length=128), NoNul]
    occurred_at: Annotated[dt.datetime, BeforeValidator(_rfc3339)]
    network: Annotated[Network, BeforeValidator(_network_alias)]
    kind: Kind
    count: Annotated[StrictInt, Field(ge=0, le=2**62)] = 1
    account: Annotated[StrictStr, Field(min_length=1, max_length=200), NoNul] = "default"
    actor: Annotated[StrictStr, Field(max_length=500), NoNul] | None = None
    conversation_id: Text | None = None
    post_id: Text | None = None
    url: Annotated[StrictStr, Field(max_length=2048), NoNul, AfterValidator(_http_url)] | None = (
        None
    )
    attributes: dict[
        Annotated[StrictStr, Field(max_length=100), NoNul],
        Annotated[StrictStr, Field(max_length=1000), NoNul],
    ] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _conversation_for_messages(self) -> EventIn:
        if self.kind in MESSAGE_KINDS and not self.conversation_id:
            raise ValueError(f"conversation_id is required for kind {self.kind.value}")
        return self


FIELDS = frozenset(EventIn.model_fields)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an event was refused: `error` for people, `reason` a bounded label for metrics."""

    error: str
    reason: str


def rejection_from(exc: ValidationError) -> Rejection:
    """One readable line naming each offending field, e.g. `network: Input should be ...`."""
    parts = []
    reason = ""
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        top = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            msg, label = "unknown field", "unknown_field"
        elif top in FIELDS:
            label = top
        else:  # a rule across fields, e.g. conversation_id for message kinds
            label, loc = "conversation_id", loc or "conversation_id"
        reason = reason or label
        parts.append(f"{loc}: {msg}" if not msg.startswith(loc) else msg)
    return Rejection("; ".join(parts), reason or "invalid")


def validate(item: object) -> EventIn | Rejection:
    """The validated event, or a Rejection naming the field."""
    if not isinstance(item, Mapping):
        return Rejection("event: must be a JSON object", "not_an_object")
    try:
        return EventIn.model_validate(item)
    except ValidationError as exc:
        return rejection_from(exc)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_proto(event: EventIn) -> ingest_pb2.Interaction:
    offset = event.occurred_at.utcoffset() or dt.timedelta(0)
    # Integer arithmetic on the timedelta: exact, and several times faster than FromDatetime.
    since = event.occurred_at - _EPOCH
    seconds = since.days * 86_400 + since.seconds
    msg = ingest_pb2.Interaction(
        event_id=event.event_id,
        occurred_at=Timestamp(seconds=seconds, nanos=since.microseconds * 1000),
        utc_offset_minutes=int(offset.total_seconds() // 60),
        network=event.network.value,
        kind=event.kind.value,
        count=event.count,
        account=event.account,
        actor=event.actor or "",
        conversation_id=event.conversation_id or "",
        post_id=event.post_id or "",
        url=event.url or "",
    )
    msg.attributes.update(event.attributes)
    return msg


def proto_to_dict(msg: ingest_pb2.Interaction) -> dict[str, Any]:
    """A gRPC message as the dict a REST client would send, so both share one validator."""
    data: dict[str, Any] = {"event_id": msg.event_id, "network": msg.network, "kind": msg.kind}
    if msg.HasField("occurred_at"):
        tz = dt.timezone(dt.timedelta(minutes=msg.utc_offset_minutes))
        data["occurred_at"] = msg.occurred_at.ToDatetime(tzinfo=dt.UTC).astimezone(tz).isoformat()
    if msg.HasField("count"):
        data["count"] = msg.count
    for name in ("account", "actor", "conversation_id", "post_id", "url"):
        value = getattr(msg, name)
        if value:
            data[name] = value
    if msg.attributes:
        data["attributes"] = dict(msg.attributes)
    return data
