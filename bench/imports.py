"""Import of a 1-million-row X tweet-activity export through `rapport import` (parse, validate,
publish to Kafka), against a bare csv.reader pass over the same file; peak memory of the import."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from services.common import processes
from services.common.config import Settings
from services.common.kafka import ensure_topics

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
ORGANIC = [
    "impressions",
    "engagements",
    "engagement rate",
    "retweets",
    "replies",
    "likes",
    "user profile clicks",
    "url clicks",
    "hashtag clicks",
    "detail expands",
    "permalink clicks",
    "app opens",
    "app installs",
    "follows",
    "email tweet",
    "dial phone",
    "media views",
    "media engagements",
]
HEADER = [
    "Tweet id",
    "Tweet permalink",
    "Tweet text",
    "time",
    *ORGANIC,
    *(f"promoted {name}" for name in ORGANIC),
]


def write_export(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(HEADER)
        for i in range(rows):
            tweet = 1090000000000000000 + i
            day = 1 + i % 28
            text = (
                f'Post {i}, with "quotes", commas\nand a newline'
                if i % 50 == 0
                else f"Post number {i}"
            )
            writer.writerow(
                [
                    tweet,
                    f"https://twitter.com/rapport/status/{tweet}",
                    text,
                    f"2026-02-{day:02d} 10:{i % 60:02d} +0000",
                    f"{1000 + i % 5000}.0",
                    "40.0",
                    "0.04",
                    "3.0",
                    "2.0",
                    f"{i % 90}.0",
                    "4.0",
                    "6.0",
                    "1.0",
                    "9.0",
                    "2.0",
                    "0.0",
                    "0.0",
                    "1.0",
                    "0",
                    "0",
                    "0",
                    "0",
                ]
                + ["-"] * 18
            )


PEAK_RSS_OF_CHILD = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as log:
    code = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run(_argv: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "tweet_activity_metrics_rapport_20260101_20261231_en.csv"
        write_export(export, ROWS)
        size_mb = round(export.stat().st_size / 1e6)
        started = time.perf_counter()
        with export.open(newline="") as handle:
            baseline_rows = sum(1 for _ in csv.reader(handle)) - 1
        baseline_s = time.perf_counter() - started
        port = processes.free_port()
        broker = processes.spawn(processes.broker_command(port), log=work / "tansu.log")
        try:
            processes.wait_for_port(port)
            settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{port}", _env_file=None)  # type: ignore[call-arg]
            ensure_topics(settings.kafka)
            env = {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                "DATABASE_URL": f"sqlite:///{work / 'unused.db'}",
            }
            started = time.perf_counter()
            # A wrapper process whose only child is the import, so ru_maxrss is the import's own
            # peak (this process's RUSAGE_CHILDREN also counts every earlier benchmark's child).
            command = processes.rapport_command(
                "import", "--source", "x_tweet_activity", str(export)
            )
            measured = subprocess.run(
                [sys.executable, "-c", PEAK_RSS_OF_CHILD, str(work / "import.log"), *command],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            import_s = time.perf_counter() - started
            code_text, peak_text = measured.stdout.split()
            code, peak_mb = int(code_text), int(peak_text) / 1024
        finally:
            processes.stop(broker)
        tail = (work / "import.log").read_text().strip().splitlines()[-1:]
    return {
        "benchmark": "import_x_tweet_activity",
        "rows": ROWS,
        "file_mb": size_mb,
        "exit_code": code,
        "report": tail,
        "import_seconds": round(import_s, 1),
        "import_rows_per_s": round(ROWS / import_s),
        "events_per_s": round(ROWS * 7 / import_s),
        "baseline_csv_reader_rows_per_s": round(baseline_rows / baseline_s),
        "peak_rss_mb": round(peak_mb),
        "summary": {
            "rows_per_s": round(ROWS / import_s),
            "peak_rss_mb": round(peak_mb),
            "share_of_csv_reader_speed": round((ROWS / import_s) / (baseline_rows / baseline_s), 3),
        },
    }
