"""The ingest verb shared by REST, gRPC and imports: validate, publish, dead-letter, count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ingest import dead_letters
from services.ingest.dead_letters import Unparsable
from services.ingest.events import Rejection, Valid, validate_all
from services.ingest.metrics import EVENTS_ACCEPTED, EVENTS_REJECTED, REQUEST_EVENTS
from services.ingest.publisher import Publisher


@dataclass
class Outcome:
    """What the client is told: how many went on, and which were refused and why."""

    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


@dataclass
class Submission:
    """A validated request handed to Kafka: what to answer, and the acknowledgements to await."""

    outcome: Outcome
    futures: list[Any]


def submit(
    publisher: Publisher,
    items: Sequence[object],
    *,
    transport: str,
    source: str,
    index_offset: int = 0,
) -> Submission:
    """Validate every item and hand accepted events and dead letters to the producer.

    Raises BrokerUnavailable before anything is acknowledged; the caller then waits on the
    returned futures and only answers the client once every one resolved.
    """
    outcome = Outcome()
    accepted = []
    letters = []
    cutoff = publisher.cutoff.current()
    checked = iter(validate_all([i for i in items if not isinstance(i, Unparsable)], cutoff=cutoff))
    for index, item in enumerate(items, start=index_offset):
        result: Valid | Rejection
        if isinstance(item, Unparsable):
            result = Rejection(item.error, "malformed_json")
            raw: bytes | None = item.raw
        else:
            result, raw = next(checked), None
        if isinstance(result, Rejection):
            outcome.rejected.append({"index": index, "error": result.error})
            EVENTS_REJECTED.labels(transport, result.reason).inc()
            letters.append(
                dead_letters.letter(
                    source=source,
                    reason=result.reason,
                    error=result.error,
                    item=item,
                    raw=raw,
                    index=index,
                )
            )
        else:
            accepted.append(result)
    outcome.accepted = len(accepted)
    REQUEST_EVENTS.observe(len(items))
    futures = publisher.send_events(accepted, source=source) if accepted else []
    if letters:
        futures += publisher.send_dead_letters(letters)
    return Submission(outcome, futures)


def count_accepted(outcome: Outcome, transport: str) -> None:
    """Count events only once Kafka acknowledged them."""
    EVENTS_ACCEPTED.labels(transport).inc(outcome.accepted)
