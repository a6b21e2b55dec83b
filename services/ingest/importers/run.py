"""Running an import: parse, validate, publish in chunks, and report rows that could not be read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.ingest.events import Rejection, Valid, validate
from services.ingest.importers.base import Context, FileProblem, Opener, RowError
from services.ingest.importers.sources import SOURCES
from services.ingest.metrics import EVENTS_ACCEPTED, EVENTS_REJECTED
from services.ingest.publisher import Publisher

CHUNK_EVENTS = 2_000
# Wait for acknowledgements every few chunks so memory stays flat on million-row files.
CHUNKS_IN_FLIGHT = 8
MAX_LISTED_ERRORS = 1_000


class UnknownSource(ValueError):
    def __init__(self, source: str) -> None:
        super().__init__(
            f"unknown import source {source!r}; use one of: {', '.join(sorted(SOURCES))}"
        )


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    accepted: int = 0
    rows_rejected: int = 0
    rejected: list[RowError] = field(default_factory=list)
    file_error: str | None = None
    rows_skipped: int = 0  # read, and not ours to count (GA4 traffic not from social)

    def reject(self, error: RowError) -> None:
        self.rows_rejected += 1
        if len(self.rejected) < MAX_LISTED_ERRORS:
            self.rejected.append(error)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "accepted": self.accepted,
            "rows_rejected": self.rows_rejected,
            "rejected": [e.as_json() for e in self.rejected],
            "file_error": self.file_error,
            "rows_skipped": self.rows_skipped,
        }


def run_import(
    publisher: Publisher,
    *,
    source: str,
    opener: Opener,
    context: Context,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import one export; a file-level problem stops it and is reported, with what went before."""
    parser = SOURCES.get(source)
    if parser is None:
        raise UnknownSource(source)
    report = ImportReport(source)
    chunk: list[Valid] = []
    pending: list[Any] = []
    label = f"import:{source}"
    cutoff = publisher.cutoff.current()

    def flush() -> None:
        if chunk:
            pending.extend(publisher.send_events(chunk, source=label))
            report.accepted += len(chunk)
            EVENTS_ACCEPTED.labels("import").inc(len(chunk))
            chunk.clear()  # send_events has serialised them already

    try:
        for parsed in parser(opener, context):
            report.rows += 1
            if parsed.skipped:
                report.rows_skipped += 1
                continue
            if parsed.error is not None:
                EVENTS_REJECTED.labels("import", "row").inc()
                report.reject(parsed.error)
                continue
            valid: list[Valid] = []
            for event in parsed.events:
                result = validate(event, cutoff=cutoff)
                if isinstance(result, Rejection):
                    valid = []
                    EVENTS_REJECTED.labels("import", result.reason).inc()
                    report.reject(RowError(parsed.row, result.reason, result.error))
                    break
                valid.append(result)
            chunk.extend(valid)
            if len(chunk) >= CHUNK_EVENTS:
                flush()
                if len(pending) >= CHUNKS_IN_FLIGHT:
                    publisher.wait(pending)
                    pending.clear()
                    if progress:
                        progress(report)
    except FileProblem as problem:
        report.file_error = str(problem)
    flush()
    publisher.wait(pending)
    if progress:
        progress(report)
    return report
