"""Import boundaries (run by `make lint`): the three services stand side by side on one floor.

- services/ingest, services/moments and services/reports import only themselves,
  services.common, services.domain and the generated `rapport` stubs, never one another;
- services/domain (the shared domain: vocabulary, schema, periods, service levels, accounts)
  imports none of the three;
- services/common (plumbing: config, database engine, Kafka, logs, metrics...) imports none of
  the three and never the domain: a business rule found there is in the wrong room;
- only the composing modules (services/cli.py, services/up.py, services/demo.py with
  demo_listening.py and demo_settings.py, services/people.py) import several.

And each image carries what its processes import (the extras of pyproject.toml, locked in
requirements/<image>.lock): a module-level import of a third-party package in services/common,
services/ingest and the composing modules must be in ingest.lock (the core), in services/moments
in moments.lock, in services/reports in reports.lock. What only some commands need (Streamlit
for `rapport reports`, the embedded broker for `rapport up`) is imported inside the function.
Exit status 1, with every offending line, when a boundary is crossed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import check_lock  # beside this file: tools/ is on the path when it runs (and in its tests)

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "moments", "reports")
COMPOSERS = {
    "cli.py",
    "up.py",
    "demo.py",
    "demo_listening.py",
    "demo_settings.py",
    "people.py",
    "__init__.py",
}


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
    """The service a file belongs to, "common", "domain", or None for a composing module."""
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
                out.append(f"{where}:{line}: {home} imports {module} (only common and domain)")
            elif home == "common" and target == "domain":
                where = path.relative_to(root)
                out.append(f"{where}:{line}: plumbing imports the domain {module}")
            elif target in ("cli", "up", "demo", "people"):
                out.append(f"{path.relative_to(root)}:{line}: imports the composer {module}")
    return out


IMAGE_OF = {"moments": "moments", "reports": "reports"}  # the rest: the ingest image (core)


def _distributions() -> dict[str, str]:
    """Import path ("kafka", "google/protobuf") -> the distribution that installs it."""
    import importlib.metadata

    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = check_lock.normalize(dist.metadata["Name"])
        for file in dist.files or ():
            parts = file.parts
            if len(parts) > 1 and not parts[0].endswith((".dist-info", ".data")):
                out.setdefault(parts[0], name)
                if len(parts) > 2:  # namespace packages (google.protobuf, google.auth)
                    out.setdefault(f"{parts[0]}/{parts[1]}", name)
            elif len(parts) == 1 and parts[0].endswith(".py"):
                out.setdefault(parts[0][:-3], name)
    return out


def _top_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports that run when the module is imported (not those inside functions)."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def image_violations(root: Path = ROOT) -> list[str]:
    locked = {
        image: set(check_lock.parse_lock((ROOT / "requirements" / f"{image}.lock").read_text())[0])
        for image in ("ingest", "moments", "reports")
    }
    where = _distributions()
    ours = {"services", "rapport", "__future__"}
    out = []
    for path in sorted((root / "services").rglob("*.py")):
        image = IMAGE_OF.get(owner(path, root) or "", "ingest")
        for line, module in _top_level_imports(ast.parse(path.read_text(), str(path))):
            parts = module.split(".")
            if parts[0] in sys.stdlib_module_names or parts[0] in ours:
                continue
            dist = where.get("/".join(parts[:2])) or where.get(parts[0])
            if dist is None or dist not in locked[image]:
                from_dist = dist or "not installed"
                out.append(
                    f"{path.relative_to(root)}:{line}: imports {module} ({from_dist}),"
                    f" which the {image} image does not install: add it to that image's extra in"
                    " pyproject.toml, or import it inside the function that needs it"
                )
    return out


def main() -> int:
    found = violations() + image_violations()
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} import(s) cross a boundary: what the services share goes to "
            "services/domain (a business rule) or services/common (plumbing)."
        )
        return 1
    print("import boundaries: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
