"""Small rooms (run by `make lint`): no module of services/ or tools/ is over 450 lines, so each
can be read in one sitting; a module that grows past it is split by what its parts are about.
Exit status 1 naming each module over the limit, with its length; 0 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 450
FOLDERS = ("services", "tools")


def too_long(root: Path = ROOT, limit: int = LIMIT) -> list[tuple[str, int]]:
    """(path, lines) of every Python module over `limit` lines, longest first."""
    found = []
    for folder in FOLDERS:
        for path in (root / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append((str(path.relative_to(root)), lines))
    return sorted(found, key=lambda item: -item[1])


def main() -> int:
    found = too_long()
    for path, lines in found:
        print(f"{path}: {lines} lines (the limit is {LIMIT}): split it by what its parts are about")
    if found:
        return 1
    print(f"module sizes: ok (none over {LIMIT} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
