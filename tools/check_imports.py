"""Import boundaries (run by `make lint`): the three services stand side by side on one floor.

- services/ingest, services/moments and services/reports import only themselves,
  services.common and the generated `rapport` stubs, never one another;
- services/common imports none of the three (it is what they share: no business logic);
- only the composing modules (services/cli.py, services/up.py, services/demo.py) import several.
Exit status 1, with every offending line, when a boundary is crossed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "moments", "reports")
COMPOSERS = {"cli.py", "up.py", "demo.py", "__init__.py"}


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from services import ingest` names the service in the alias
            if node.module == "services":
                found += [(node.lineno, f"services.{alias.name}") for alias in node.names]
    return found


def owner(path: Path, root: Path) -> str | None:
    """The service a file belongs to, "common", or None for a composing module."""
    parts = path.relative_to(root / "services").parts
    if len(parts) == 1:
        return None if parts[0] in COMPOSERS else "common"
    return parts[0]


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / "services").rglob("*.py")):
        home = owner(path, root)
        if home is None:
            continue
        for line, module in imported(ast.parse(path.read_text(), str(path))):
            parts = module.split(".")
            if parts[0] != "services" or len(parts) < 2:
                continue
            target = parts[1]
            if target in SERVICES and target != home:
                where = path.relative_to(root)
                out.append(f"{where}:{line}: {home} imports {module} (only services.common)")
            elif target in ("cli", "up", "demo"):
                out.append(f"{path.relative_to(root)}:{line}: imports the composer {module}")
    return out


def main() -> int:
    found = violations()
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} import(s) cross a service boundary: move what they share to "
            "services/common."
        )
        return 1
    print("import boundaries: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
