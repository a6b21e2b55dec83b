"""How every process logs: text for people (the default) or, with LOG_FORMAT=json, one JSON
object per line for a log pipeline: time (UTC, ISO 8601), level, logger, message, the
exception when there is one, trace_id and span_id when logged inside a traced span
(services.common.tracing), and the fields a record carries (uvicorn's access log: client,
method, path, http_version, status). LOG_LEVEL sets the level; secrets are never logged at
any level in either format (tests/security/test_secrets.py runs both): the values of secret-like
query parameters (`hub.verify_token`, `access_token`, ...) in the access log are `***`."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

import orjson

from services.common import tracing
from services.common.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else on a record is a field of its own (logging's extra=).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
# Query parameters whose values are secrets or stand for one: verify tokens (Meta's
# hub.verify_token), access tokens, keys, signatures, passwords, one-time codes.
SECRET_PARAMETER = re.compile(r"token|secret|passw|signature|key|auth|code", re.IGNORECASE)
REDACTED = "***"


def redact_query(target: str) -> str:
    """A request target with the value of each secret-like query parameter replaced."""
    path, question, query = target.partition("?")
    if not question:
        return target
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        secret = equals and SECRET_PARAMETER.search(unquote_plus(name))
        pairs.append(f"{name}={REDACTED}" if secret else pair)
    return f"{path}?{'&'.join(pairs)}"


class RedactQuery(logging.Filter):
    """uvicorn's access records carry the request target (with its query) as their third
    argument; both formats (text and JSON) are made from those arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # uvicorn's access line: '%s - "%s %s HTTP/%s" %d' with these five values.
            out.update(zip(ACCESS_FIELDS, record.args, strict=False))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if tracing.ON and (found := tracing.ids()) is not None:  # logged inside a span
            out["trace_id"], out["span_id"] = found
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure(settings: Settings) -> None:
    """The root logger's one handler, by LOG_FORMAT and LOG_LEVEL; uvicorn's loggers (run with
    log_config=None) hand their records to it, so the access log takes the same form."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host (pytest) that set up its own keeps it
        handler = logging.StreamHandler()
        json = settings.log_format == "json"
        handler.setFormatter(JsonFormatter() if json else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(settings.log_level)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())
    # Client libraries narrate every connection and request at INFO; keep their warnings.
    for noisy in ("kafka", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
