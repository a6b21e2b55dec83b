"""The lock files agree with pyproject.toml (run by `make lint`; `make lock` rewrites them).

requirements/dev.lock holds everything `make venv` and CI install (all extras and the dev
tools); requirements/<image>.lock what one image installs (ingest: the core dependencies;
moments and reports: the core and that extra). Checked without the network:
- every dependency pyproject.toml names for a lock is pinned there at the same version;
- nothing is in a lock only because pyproject.toml once asked for it (uv's "via rapport");
- every pin carries hashes (pip installs with --require-hashes);
- an image lock pins each package at dev.lock's version (the images run what CI tested).
Exit status 1, naming each disagreement and the fix, otherwise 0.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "dev.lock": ("moments", "reports", "embedded", "dev"),
    "ingest.lock": (),
    "moments.lock": ("moments",),
    "reports.lock": ("reports",),
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wanted(pyproject: dict, extras: tuple[str, ...]) -> dict[str, str]:
    """name -> version of what pyproject.toml asks for, for the core and these extras."""
    project = pyproject["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    out = {}
    for requirement in requirements:
        match = _PIN.match(requirement)
        if match is None:
            if requirement.startswith("rapport["):  # an extra made of other extras
                continue
            raise SystemExit(f"pyproject.toml: {requirement!r} is not pinned with ==")
        out[normalize(match.group(1))] = match.group(2)
    return out


def parse_lock(text: str) -> tuple[dict[str, str], set[str], set[str]]:
    """(name -> version, names without a hash, names there only "via rapport")."""
    pins: dict[str, str] = {}
    hashed: set[str] = set()
    via: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            current = normalize(match.group(1))
            pins[current] = match.group(2)
            via[current] = []
        elif current and "--hash=sha256:" in line:
            hashed.add(current)
        elif current and line.strip().startswith("#"):
            # uv's "# via a" or "# via" then "#   a" lines; "-c dev.lock" is no reason.
            reason = line.strip().lstrip("#").strip().removeprefix("via").strip()
            if reason and not reason.startswith("-c "):
                via[current].append(reason)
    only_ours = {name for name, by in via.items() if by and all("rapport" in b for b in by)}
    return pins, set(pins) - hashed, only_ours


def problems(root: Path = ROOT) -> list[str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    out = []
    locked: dict[str, dict[str, str]] = {}
    for name, extras in LOCKS.items():
        path = root / "requirements" / name
        if not path.exists():
            out.append(f"requirements/{name} is missing")
            continue
        pins, unhashed, only_ours = parse_lock(path.read_text())
        locked[name] = pins
        asked = wanted(pyproject, extras)
        for package, version in sorted(asked.items()):
            if package not in pins:
                out.append(f"requirements/{name}: {package}=={version} is not locked")
            elif pins[package] != version:
                out.append(
                    f"requirements/{name}: {package} is {pins[package]}, "
                    f"pyproject.toml asks for {version}"
                )
        for package in sorted(only_ours - set(asked)):
            out.append(f"requirements/{name}: {package} is locked but pyproject.toml dropped it")
        out += [f"requirements/{name}: {package} has no hash" for package in sorted(unhashed)]
    dev = locked.get("dev.lock", {})
    for name, pins in locked.items():
        for package, version in sorted(pins.items()):
            if name != "dev.lock" and dev.get(package, version) != version:
                out.append(
                    f"requirements/{name}: {package} {version} differs from dev.lock's "
                    f"{dev[package]}"
                )
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if found:
        print("The lock files disagree with pyproject.toml: run 'make lock' and commit them.")
        return 1
    print(f"lock files: ok ({', '.join(LOCKS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
