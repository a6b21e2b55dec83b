"""Survey links (docs/using.md#customer-satisfaction-surveys): signed tokens that carry a
conversation and an expiry, the key they are signed with, how often a link may be answered, and
the answer published to Kafka as a `rating` event like every interaction."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rapport.ingest.v1 import ingest_pb2
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.config import Settings, get_settings
from services.domain.tables import SupportConversation
from services.domain.vocabulary import NETWORK_NAMES, RATING_SCALE

SECRET_FILE = Path("var") / "survey-secret"
COMMENT_LIMIT = 1_000
EVENT_ID_LIMIT = 128  # interaction_event.event_id
PREFIX = "survey"
CONVERSATIONS = SupportConversation.__table__  # type: ignore[attr-defined]

if TYPE_CHECKING:  # the Kafka client is loaded on the first answer: `rapport` starts faster
    from kafka import KafkaProducer


class BadLink(ValueError):
    """What a survey link cannot be made for, naming the field."""


@dataclass(frozen=True)
class Survey:
    network: str
    conversation_id: str
    expires_at: int  # Unix seconds

    @property
    def event_id(self) -> str:
        return f"{PREFIX}:{self.network}:{self.conversation_id}"


def signing_key(settings: Settings) -> bytes:
    """RAPPORT_SURVEY_SECRET, else the key kept in var/survey-secret (made on first use, owner
    only): links minted by the CLI and checked by the moments service must agree."""
    if settings.rapport_survey_secret:
        return settings.rapport_survey_secret.encode()
    try:
        return SECRET_FILE.read_bytes().strip()
    except FileNotFoundError:
        SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(32).encode()
        try:
            fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return SECRET_FILE.read_bytes().strip()
        with os.fdopen(fd, "wb") as out:
            out.write(made)
        return made


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def mint(key: bytes, *, network: str, conversation_id: str, days: int, now: float) -> Survey:
    """The survey of a conversation, valid for `days`; BadLink names what is wrong."""
    name = NETWORK_NAMES.get(network.strip().lower())
    if name is None:
        raise BadLink(f"network: one of {', '.join(sorted(NETWORK_NAMES))}")
    room = EVENT_ID_LIMIT - len(f"{PREFIX}:{name}:")
    if not conversation_id or "\x00" in conversation_id or len(conversation_id) > room:
        raise BadLink(f"conversation_id: 1 to {room} characters, no NUL")
    return Survey(name, conversation_id, int(now) + days * 86_400)


def token_of(key: bytes, survey: Survey) -> str:
    body = _b64(orjson.dumps([survey.network, survey.conversation_id, survey.expires_at]))
    return f"{body}.{_sign(key, body)}"


def read(key: bytes, token: str, *, now: float) -> Survey | None:
    """The survey a token carries, or None when it is forged, altered or expired."""
    body, _, signature = token.partition(".")
    if not body or not hmac.compare_digest(signature.encode(), _sign(key, body).encode()):
        return None
    try:
        network, conversation_id, expires_at = orjson.loads(_unb64(body))
    except (binascii.Error, ValueError, TypeError):
        return None  # signed by us, so never: but a key shared with another tool might
    if not isinstance(expires_at, int) or expires_at <= now:
        return None
    return Survey(str(network), str(conversation_id), expires_at)


def url_of(settings: Settings, token: str) -> str:
    return f"{settings.moments_url}/s/{token}"


class Limiter:
    """At most `limit` hits per key within `window_s`, in this process (a survey is answered
    once or twice; the limits stop a script, not a customer). Old keys are forgotten as new
    ones come, so memory stays bounded."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        at = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._hits.pop(next(iter(self._hits)))  # the oldest key first
                hits = self._hits[key] = deque()
            while hits and hits[0] <= at - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(at)
            return True


class Unavailable(Exception):
    """Kafka did not acknowledge the answer."""


class Publisher:
    """One producer for the moments process, made on first use, remade after a failure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def publish(self, event: ingest_pb2.Interaction, timeout_s: float = 10.0) -> None:
        from kafka.errors import KafkaError

        from services.common.kafka import make_producer

        batch = ingest_pb2.InteractionBatch(
            events=[event], ingested_at_us=time.time_ns() // 1000, source=PREFIX
        )
        try:
            with self._lock:
                if self._producer is None:
                    self._producer = make_producer(self.settings, linger_ms=0)
                producer = self._producer
            producer.send(self.settings.kafka_topic, value=batch.SerializeToString()).get(
                timeout=timeout_s
            )
        except (KafkaError, ValueError, OSError) as exc:
            self.close()
            raise Unavailable(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)


def rating_event(
    engine: Engine, survey: Survey, stars: int, comment: str, *, at: dt.datetime
) -> ingest_pb2.Interaction:
    """The answer as the event ingest would have accepted: on the conversation's own account
    (a rating alone would otherwise add an account named "default" to the reports' filters)."""
    low, high = RATING_SCALE
    if not low <= stars <= high:
        raise ValueError(f"rating: {low} to {high}")
    c = CONVERSATIONS.c
    with engine.connect() as conn:
        account = conn.execute(
            select(c.account).where(
                c.network == survey.network, c.conversation_id == survey.conversation_id
            )
        ).scalar()
    event = ingest_pb2.Interaction(
        event_id=survey.event_id,
        network=survey.network,
        kind="rating",
        count=stars,
        account=account or "default",
        conversation_id=survey.conversation_id,
    )
    event.occurred_at.FromDatetime(at.astimezone(dt.UTC).replace(tzinfo=None))
    if comment:
        event.attributes["comment"] = comment
    return event


# --- `rapport surveys link` -----------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("surveys", help="customer satisfaction surveys: signed links")
    verbs = p.add_subparsers(dest="surveys_action", required=True, metavar="ACTION")
    link = verbs.add_parser("link", help="print the survey link of one conversation")
    link.add_argument("--network", required=True)
    link.add_argument("--conversation", required=True, help="its conversation_id")
    link.set_defaults(func=cmd_link)


def cmd_link(args: Any) -> int:
    settings = get_settings()
    key = signing_key(settings)
    try:
        survey = mint(
            key,
            network=args.network,
            conversation_id=args.conversation,
            days=settings.rapport_survey_days,
            now=time.time(),
        )
    except BadLink as exc:
        print(f"rapport surveys link: {exc}")
        return 2
    expires = dt.datetime.fromtimestamp(survey.expires_at, dt.UTC).isoformat()
    print(url_of(settings, token_of(key, survey)))
    print(f"expires {expires}")
    return 0
