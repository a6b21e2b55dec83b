"""How every process logs: text for people (the default) or, with LOG_FORMAT=json, one JSON
object per line for a log pipeline: time (UTC, ISO 8601), level, logger, message, the
exception when there is one, trace_id and span_id when logged inside a traced span
(services.common.tracing), and the fields a record carries (uvicorn's access log: client,
method, path, http_version, status). LOG_LEVEL sets the level; secrets are never logged at
any level in either format (tests/security/test_secrets.py runs both)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import orjson

from services.common import tracing

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else on a record is a field of its own (logging's extra=).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


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


def json_wanted() -> bool:
    return os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"


def configure() -> None:
    """The root logger's one handler, by LOG_FORMAT and LOG_LEVEL; uvicorn's loggers (run with
    log_config=None) hand their records to it, so the access log takes the same form."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host (pytest) that set up its own keeps it
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if json_wanted() else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    # Client libraries narrate every connection and request at INFO; keep their warnings.
    for noisy in ("kafka", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
