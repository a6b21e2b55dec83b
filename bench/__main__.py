"""`make bench`: run every benchmark, write var/bench/<name>.json, print a short table."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from bench import imports, ingest, moments, reports, scale, stewardship, surveys, webhooks

OUT = Path("var/bench")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    runners = {
        "ingest": ingest.run,
        "reports": reports.run,
        "moments": moments.run,
        "imports": imports.run,
        "webhooks": webhooks.run,
        "stewardship": stewardship.run,
        "surveys": surveys.run,
        "scale": scale.run,
    }
    # `python -m bench [name ...] [options]`: options (e.g. `ingest --stack up`) go to each runner.
    wanted = [a for a in sys.argv[1:] if a in runners] or list(runners)
    options = [a for a in sys.argv[1:] if a not in runners]
    # The file name from the options, a path among them (`--before DIR`) made one word.
    suffix = (
        "-" + "-".join(re.sub(r"[^\w.-]", "_", o.lstrip("-")) for o in options) if options else ""
    )
    results = {}
    for name in wanted:  # each result is written as soon as it exists
        results[name] = runners[name](options)
        (OUT / f"{name}{suffix}.json").write_text(json.dumps(results[name], indent=2))
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
