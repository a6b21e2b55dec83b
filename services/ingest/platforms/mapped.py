"""What every platform mapper returns, the one guard that turns a part it cannot map into a dead
letter, and the readings of times, names and lists the platforms share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from services.ingest.events import EventFields

Event = EventFields
# What reading a payload of an unexpected shape raises: a missing key, a wrong type, a value
# that does not parse, an attribute of something that is not an object.
MAPPING_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


@dataclass
class Mapped:
    events: list[Event] = field(default_factory=list)
    unmappable: list[tuple[str, Any]] = field(default_factory=list)  # (reason, the part)
    skipped: int = 0

    @contextmanager
    def guard(self, where: str | None, part: Any) -> Iterator[None]:
        """Map one part of a delivery: what it raises makes that part a dead letter with the
        reason ("where: what was wrong"), never the whole delivery a failure."""
        try:
            yield
        except MAPPING_ERRORS as exc:
            self.unmappable.append((f"{where}: {exc}" if where else str(exc), part))


def iso(value: Any) -> str:
    """A platform's time as RFC 3339: Unix seconds or milliseconds, ISO 8601, or X's
    "Wed Oct 10 20:19:24 +0000 2018"."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        seconds = number / 1000 if number > 10**11 else number  # milliseconds
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"no time in {value!r}: out of range") from None
    if isinstance(value, str):
        for layout in _iso_8601, _x_created_at:
            try:
                parsed = layout(value)
            except ValueError:
                continue
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).isoformat()
    raise ValueError(f"no time in {value!r}")


def _iso_8601(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _x_created_at(value: str) -> dt.datetime:  # "Wed Oct 10 20:19:24 +0000 2018"
    return dt.datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y")


def person_name(person: Any) -> str | None:
    if not isinstance(person, dict):
        return None
    value = person.get("username") or person.get("name") or person.get("screen_name")
    value = value or person.get("id")
    return str(value) if value else None


def as_list(parent: dict[str, Any], key: str) -> list[Any]:
    """`parent[key]` as a list (absent: empty); any other shape is refused naming the field."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {type(value).__name__}")
    return value
