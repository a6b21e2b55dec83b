"""`make bench`: run every benchmark, write var/bench/<name>.json, print a short table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import imports, ingest, moments, reports, webhooks

OUT = Path("var/bench")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:] or ["ingest", "moments", "reports", "imports", "webhooks"]
    runners = {
        "ingest": ingest.run,
        "reports": reports.run,
        "moments": moments.run,
        "imports": imports.run,
        "webhooks": webhooks.run,
    }
    results = {}
    for name in wanted:  # each result is written as soon as it exists
        results[name] = runners[name]([])
        (OUT / f"{name}.json").write_text(json.dumps(results[name], indent=2))
        print(json.dumps(results[name], indent=2), flush=True)
    rows = [
        (f"{name}.{key}", value)
        for name, r in results.items()
        for key, value in r["summary"].items()
    ]
    width = max((len(label) for label, _ in rows), default=9) + 2
    print(f"\n{'benchmark':<{width}}value")
    for label, value in rows:
        print(f"{label:<{width}}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
