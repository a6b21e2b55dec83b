"""Survey links (docs/using.md#customer-satisfaction-surveys): signed tokens that carry a
conversation and an expiry, the key they are signed with, how often a link may be answered, and
the answer: kept in the survey outbox when accepted, then relayed to Kafka as a `rating` event
like every interaction."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from services.common.config import Settings, get_settings
from services.domain.tables import InteractionEvent, SupportConversation, SurveyOutbox
from services.domain.vocabulary import NETWORK_NAMES

SECRET_FILE = Path("var") / "survey-secret"
COMMENT_LIMIT = 1_000
EVENT_ID_LIMIT = 128  # interaction_event.event_id
PREFIX = "survey"
CONVERSATIONS = SupportConversation.__table__  # type: ignore[attr-defined]
OUTBOX = SurveyOutbox.__table__  # type: ignore[attr-defined]
EVENTS = InteractionEvent.__table__  # type: ignore[attr-defined]
log = logging.getLogger(__name__)


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
    return _b64(hmac.digest(key, body.encode(), "sha256"))  # one call into OpenSSL


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


# --- `rapport surveys link` -----------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("surveys", help="customer satisfaction surveys: signed links")
    verbs = p.add_subparsers(dest="surveys_action", required=True, metavar="ACTION")
    link = verbs.add_parser("link", help="print the survey link of one conversation")
    link.add_argument("--network", required=True)
    link.add_argument("--conversation", required=True, help="its conversation_id")
    link.set_defaults(func=cmd_link)
    relay = verbs.add_parser(
        "relay", help="send the accepted survey answers on to Kafka until stopped (Ctrl-C)"
    )
    relay.set_defaults(func=cmd_relay)


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


# --- `rapport surveys relay` ----------------------------------------------------------------

RELAY_POLL_S = 0.2  # no page nudges a relay of its own: it looks this often


def cmd_relay(_args: Any) -> int:
    """The survey relay as a process of its own (SURVEYS_RELAY_IN_SERVICE=false in the moments
    service), its metrics on SURVEY_RELAY_METRICS_PORT: the backlog alert reads them there."""
    import signal
    from types import FrameType

    from services.common.db import get_engine
    from services.common.metrics import serve_metrics
    from services.domain.migrate import migrate
    from services.moments.survey_outbox import Relay

    settings = get_settings()
    migrate()
    relay = Relay(get_engine(), settings)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        relay.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve_metrics(settings.survey_relay_metrics_port, host=settings.metrics_host)
    print(
        "Relaying survey answers to Kafka until stopped (Ctrl-C); metrics on "
        f"http://{settings.metrics_host}:{settings.survey_relay_metrics_port}/metrics",
        flush=True,
    )
    relay.run(idle_s=RELAY_POLL_S)
    return 0
