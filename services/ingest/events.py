"""The interaction event contract: validation with field-named errors, and protobuf conversion."""

from __future__ import annotations

import datetime as dt
import decimal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NewType, Required, cast

from pydantic import (
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from rapport.ingest.v1 import ingest_pb2
from typing_extensions import TypedDict

from services.domain.vocabulary import (
    CONVERSATION_KIND_NAMES,
    KIND_NAMES,
    NETWORK_NAMES,
    RATING_SCALE,
    VALUE_KIND_NAMES,
)

EARLIEST_OCCURRED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# The field rules run inside pydantic-core (Rust): types, lengths and patterns, no Python
# callbacks; those cost more than all the rest of the validation (7.9 -> 0.9 us an event,
# measured). What needs Python (the timestamp, the rule across fields) runs once afterwards.
# PostgreSQL cannot store NUL in text, so no text field may hold one.
NO_NUL = r"^[^\x00]*$"
NETWORK_PATTERN = r"(?i)^\s*(" + "|".join(NETWORK_NAMES) + r")\s*$"
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00]*$"  # no (?i): JSON Schema regexes lack it
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# Money is exact: at most 4 fraction digits, below 10^14, so ten-thousandths fit a BIGINT.
VALUE_PLACES = 4
VALUE_LIMIT = decimal.Decimal(10) ** 14
VALUE_STEP = decimal.Decimal(1).scaleb(-VALUE_PLACES)


Text = Annotated[StrictStr, Field(pattern=NO_NUL)]


class EventFields(TypedDict, total=False):
    """One interaction as a client sends it (REST JSON, or a gRPC message converted to a dict)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    event_id: Required[Annotated[Text, Field(min_length=1, max_length=128)]]
    occurred_at: Required[
        Annotated[StrictStr, WithJsonSchema({"type": "string", "format": "date-time"})]
    ]
    network: Required[
        Annotated[
            StrictStr,
            Field(pattern=NETWORK_PATTERN),
            WithJsonSchema({"type": "string", "enum": sorted(NETWORK_NAMES)}),
        ]
    ]
    kind: Required[Literal[KIND_NAMES]]  # type: ignore[valid-type]  # plain str: Enum hashes slowly
    count: Annotated[StrictInt, Field(ge=0, le=2**62)]
    account: Annotated[Text, Field(min_length=1, max_length=200)]
    actor: Annotated[Text, Field(max_length=500)] | None
    conversation_id: Annotated[Text, Field(max_length=200)] | None
    post_id: Annotated[Text, Field(max_length=200)] | None
    url: Annotated[StrictStr, Field(max_length=2048, pattern=URL_PATTERN)] | None
    attributes: Annotated[
        dict[Annotated[Text, Field(max_length=100)], Annotated[Text, Field(max_length=1000)]],
        Field(max_length=50),
    ]
    # Any here, checked once in Python: a JSON number or a decimal string, kept exact.
    value: Annotated[
        Any,
        WithJsonSchema(
            {"type": ["string", "number"], "description": "decimal >= 0, <= 4 fraction digits"}
        ),
    ]
    currency: Annotated[StrictStr, Field(pattern=CURRENCY_PATTERN)]


EVENT = TypeAdapter(EventFields)
EVENTS = TypeAdapter(list[EventFields])
# Readable words where pydantic's own would print a regular expression or say too little.
MESSAGES = {
    ("network", "string_pattern_mismatch"): "Input should be one of "
    + ", ".join(map(repr, sorted(NETWORK_NAMES))),
    ("url", "string_pattern_mismatch"): "must be an http(s) URL",
    ("currency", "string_pattern_mismatch"): "must be three upper-case letters (ISO 4217), "
    "e.g. USD",
    ("occurred_at", "string_type"): "must be an RFC 3339 timestamp string, "
    "e.g. 2026-03-01T09:30:00Z",
}
NUL_MESSAGE = "must not contain NUL (\\x00) characters"  # the one other pattern: NO_NUL

# An accepted event: the keyword arguments of an ingest_pb2.Interaction.
Valid = NewType("Valid", dict[str, Any])


@dataclass(frozen=True, slots=True)
class Cutoff:
    """The retention cut-off (`rapport retention apply`): raw events before it were deleted, so
    an event before it could no longer replace an earlier version exactly: it is refused."""

    at: float  # seconds since the epoch: the local midnight that begins `day`
    day: dt.date

    @classmethod
    def of(cls, day: dt.date, tz: dt.tzinfo) -> Cutoff:
        return cls(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp(), day)


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
        top = str(err["loc"][0]) if err["loc"] else "event"
        default = NUL_MESSAGE if err["type"] == "string_pattern_mismatch" else err["msg"]
        msg = MESSAGES.get((top, err["type"]), default)
        label = top
        if not err["loc"]:  # not even an object
            msg, label = "must be a JSON object", "not_an_object"
        elif err["type"] == "extra_forbidden":
            msg, label = "unknown field", "unknown_field"
        reason = reason or label
        parts.append(f"{loc}: {msg}")
    return Rejection("; ".join(parts), reason or "invalid")


def validate(item: object, *, cutoff: Cutoff | None = None) -> Valid | Rejection:
    """The accepted event (Interaction keyword arguments), or a Rejection naming the field.

    The field rules are checked together, so one answer names every field at fault; the
    timestamp and the rule across fields are checked once those pass; with a retention
    `cutoff`, an event before it is refused, naming it.
    """
    try:
        fields = cast(dict[str, Any], EVENT.validate_python(item))
    except ValidationError as exc:
        return rejection_from(exc)
    return _complete(fields, cutoff)


def validate_all(
    items: Sequence[object], *, cutoff: Cutoff | None = None
) -> list[Valid | Rejection]:
    """`validate` of each item, in order. The field rules of the whole request are checked in
    one call into pydantic-core first (1.7 -> 1.2 us an event, measured: one call instead of one
    per event); when any item breaks one, each item is checked alone, so the answers are exactly
    `validate`'s."""
    try:
        checked = cast(list[dict[str, Any]], EVENTS.validate_python(items))
    except ValidationError:
        return [validate(item, cutoff=cutoff) for item in items]
    return [_complete(fields, cutoff) for fields in checked]


def _complete(fields: dict[str, Any], cutoff: Cutoff | None) -> Valid | Rejection:
    """The rules past the field rules, on fields that passed them; the Interaction's arguments."""
    try:
        at, seconds, nanos, offset = _instant(fields["occurred_at"])
    except ValueError as exc:
        return Rejection(f"occurred_at: {exc}", "occurred_at")
    if cutoff is not None and at < cutoff.at:
        return Rejection(
            f"occurred_at: {fields['occurred_at'][:40]!r} is before {cutoff.day}, the retention "
            "cut-off: raw events before it were deleted, so it could no longer replace an "
            "earlier version exactly (docs/stewardship.md#retention)",
            "retention",
        )
    kind = fields["kind"]
    if kind in CONVERSATION_KIND_NAMES and not fields.get("conversation_id"):
        return Rejection(f"conversation_id is required for kind {kind}", "conversation_id")
    if kind == "rating" and not RATING_SCALE[0] <= fields.get("count", 0) <= RATING_SCALE[1]:
        low, high = RATING_SCALE
        return Rejection(f"count: a rating is {low} to {high}", "count")
    if "value" in fields or "currency" in fields:
        money = _money(fields)
        if isinstance(money, Rejection):
            return money
    fields["occurred_at"] = {"seconds": seconds, "nanos": nanos}
    fields["utc_offset_minutes"] = offset
    network = fields["network"]
    fields["network"] = NETWORK_NAMES.get(network) or NETWORK_NAMES[network.strip().lower()]
    fields.setdefault("count", 1)
    fields.setdefault("account", "default")
    return Valid(fields)


def _money(fields: dict[str, Any]) -> Rejection | None:
    """Checks `value` and `currency` and writes `value` as its exact decimal string."""
    kind = fields["kind"]
    for name in ("value", "currency"):
        if name in fields and kind not in VALUE_KIND_NAMES:
            return Rejection(f"{name}: only lead and conversion events carry one", name)
    if "value" not in fields:
        return None
    amount = exact_value(fields["value"])
    if isinstance(amount, str):
        return Rejection(f"value: {amount}", "value")
    if "currency" not in fields:
        return Rejection("currency: required with value (ISO 4217, e.g. USD)", "currency")
    fields["value"] = format(amount, "f")
    return None


def exact_value(raw: object) -> decimal.Decimal | str:
    """`raw` (a JSON number or a decimal string) as an exact Decimal, or what is wrong with it.

    A JSON number arrives as a float; its shortest repr is the decimal the client wrote."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        return "must be a decimal number or a string holding one, e.g. 19.99"
    text = repr(raw) if isinstance(raw, float) else str(raw).strip()
    try:
        amount = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return f"{str(raw)[:40]!r} is not a decimal number, e.g. 19.99"
    if not amount.is_finite():
        return "must be a finite number"
    if amount < 0:
        return "must be 0 or more"
    if amount >= VALUE_LIMIT:
        return "must be below 100,000,000,000,000"
    exact = amount.quantize(VALUE_STEP)
    if exact != amount:  # trailing zeros past the fourth place are no loss
        return f"at most {VALUE_PLACES} decimal places"
    return exact.normalize() + 0  # + 0: "-0" reads "0"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EARLIEST_TIMESTAMP = EARLIEST_OCCURRED_AT.timestamp()


# Timestamps by their text, as parsed: aggregates and imports repeat one across many events (the
# demo's 20,000 events hold 2,663) and parsing cost 0.7 us an event. Only parsed ones are kept
# (a wrong one is answered afresh), at most _INSTANTS_MAX, then forgotten all at once.
_INSTANTS: dict[str, tuple[float, int, int, int]] = {}
_INSTANTS_MAX = 65_536


def _instant(value: str) -> tuple[float, int, int, int]:
    """Epoch seconds, and for the Interaction its whole seconds, nanos and UTC offset in
    minutes, of an RFC 3339 timestamp; ValueError saying what is wrong with it."""
    known = _INSTANTS.get(value)
    if known is None:
        parsed = _rfc3339(value)
        since = parsed - _EPOCH  # integer arithmetic: exact, and faster than FromDatetime
        offset = parsed.utcoffset()
        assert offset is not None  # _rfc3339 refuses a timestamp without one
        known = (
            parsed.timestamp(),
            since.days * 86_400 + since.seconds,
            since.microseconds * 1000,
            offset.days * 1440 + offset.seconds // 60,
        )
        if len(_INSTANTS) >= _INSTANTS_MAX:
            _INSTANTS.clear()
        _INSTANTS[value] = known
    # Social networks began in the 2000s; a day ahead allows for clock skew, not typos.
    if not EARLIEST_TIMESTAMP <= known[0] <= time.time() + 86_400:
        raise ValueError(f"{value[:40]!r} is outside 2000-01-01 .. tomorrow")
    return known


def _rfc3339(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not an RFC 3339 timestamp (e.g. 2026-03-01T09:30:00+01:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("needs a UTC offset (Z or +hh:mm)")
    return parsed


def to_proto(event: Valid) -> ingest_pb2.Interaction:
    return ingest_pb2.Interaction(**event)


def proto_to_dict(msg: ingest_pb2.Interaction) -> dict[str, Any]:
    """A gRPC message as the dict a REST client would send, so both share one validator."""
    data: dict[str, Any] = {"event_id": msg.event_id, "network": msg.network, "kind": msg.kind}
    if msg.HasField("occurred_at"):
        tz = dt.timezone(dt.timedelta(minutes=msg.utc_offset_minutes))
        data["occurred_at"] = msg.occurred_at.ToDatetime(tzinfo=dt.UTC).astimezone(tz).isoformat()
    if msg.HasField("count"):
        data["count"] = msg.count
    for name in ("account", "actor", "conversation_id", "post_id", "url", "value", "currency"):
        value = getattr(msg, name)
        if value:
            data[name] = value
    if msg.attributes:
        data["attributes"] = dict(msg.attributes)
    return data
