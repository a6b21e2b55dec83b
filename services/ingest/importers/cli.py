"""`rapport import --source S FILE`: streams the file with a progress bar on stderr."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from services.common.config import Settings
from services.common.kafka import ensure_topics
from services.ingest.importers.base import Context
from services.ingest.importers.run import ImportReport, UnknownSource, run_import
from services.ingest.publisher import BrokerUnavailable, Publisher


def import_file(
    settings: Settings,
    *,
    source: str,
    path: str,
    account: str | None,
    currency: str | None = None,
) -> int:
    file = Path(path)
    if not file.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    size = max(file.stat().st_size, 1)
    opened: list[IO[bytes]] = []
    started = time.monotonic()

    def opener() -> IO[bytes]:
        handle = file.open("rb")
        opened.append(handle)
        return handle

    def progress(report: ImportReport) -> None:
        if not sys.stderr.isatty() and report.rows % 100_000:
            return
        done = opened[-1].tell() / size if opened and not opened[-1].closed else 1.0
        bar = "#" * int(done * 30)
        rate = report.rows / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(f"\r[{bar:<30}] {done:6.1%}  {report.rows:,} rows  {rate:,.0f} rows/s")
        sys.stderr.flush()

    ensure_topics(settings.kafka)
    publisher = Publisher.of(settings)
    try:
        report = run_import(
            publisher,
            source=source,
            opener=opener,
            context=Context(
                account=account,
                filename=file.name,
                timezone=settings.timezone,
                currency=currency,
            ),
            progress=progress,
        )
    except UnknownSource as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokerUnavailable as exc:
        print(f"\nerror: {exc}. Is Kafka running (make run)?", file=sys.stderr)
        return 3
    finally:
        publisher.close()
        for handle in opened:
            handle.close()
    sys.stderr.write("\n")
    print(
        f"{file.name}: {report.rows:,} rows read, {report.accepted:,} events accepted, "
        f"{report.rows_rejected:,} rows rejected ({time.monotonic() - started:.1f}s)"
        + (
            f", {report.rows_skipped:,} rows skipped (not from social)"
            if report.rows_skipped
            else ""
        )
    )
    for error in report.rejected[:50]:
        where = f"row {error.row}" + (f", column {error.column!r}" if error.column else "")
        print(f"  {where}: {error.error}")
    if report.rows_rejected > 50:
        print(f"  ... and {report.rows_rejected - 50:,} more")
    if report.file_error:
        print(f"error: {report.file_error}", file=sys.stderr)
        return 1
    return 1 if report.rows_rejected else 0
