"""Dependency audit for `make lint`: pip-audit against PyPI's advisories, with a fallback.

pip-audit asks PyPI for each installed version (`/pypi/<name>/<version>/json`). Where that
endpoint is not served (this build machine's PyPI mirror answers 404), the package's project
document (`/pypi/<name>/json`) still lists the advisories that affect its *latest* release: a
package pinned at its latest release is audited from there; an older pin is reported as not
audited. Known findings are recorded, with a reason, in audit-allowlist.toml.

Exit status: 1 for a vulnerability not recorded there; 0 otherwise, including when PyPI cannot
be reached at all (said loudly; AUDIT_STRICT=1 turns that into a failure).
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "audit-allowlist.toml"
PYPI = "https://pypi.org/pypi"


def canonical(name: str) -> str:
    """PEP 503 name: `Typing_Extensions` and `typing-extensions` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_audit() -> list[dict[str, Any]]:
    """pip-audit's per-dependency results: {"name", "version", "vulns"} or {"skip_reason"}."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip_audit", "--vulnerability-service", "pypi"),
            *("--skip-editable", "--progress-spinner", "off", "--format", "json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        dependencies: list[dict[str, Any]] = json.loads(result.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        raise SystemExit(f"pip-audit failed:\n{result.stderr.strip()}") from None
    return dependencies


def latest_release_advisories(name: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(latest version, its advisories) from the project document; None if unreachable."""
    try:
        response = httpx.get(f"{PYPI}/{name}/json", timeout=20)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, json.JSONDecodeError):
        return None
    return document["info"]["version"], document.get("vulnerabilities") or []


def main() -> int:
    allowed: dict[str, str] = tomllib.loads(ALLOWLIST.read_text()).get("allowed", {})
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
    }
    # Rapport itself is installed editable: it is this repository, not a PyPI package.
    dependencies = [d for d in pip_audit() if "editable" not in d.get("skip_reason", "")]
    findings: list[tuple[str, str, str]] = []  # (package, version, advisory id)
    skipped = {d["name"] for d in dependencies if "skip_reason" in d}
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            findings.append((dep["name"], dep["version"], vuln["id"]))

    unaudited: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = dict(zip(skipped, pool.map(latest_release_advisories, skipped), strict=True))
    if skipped and all(answer is None for answer in answers.values()):
        print("AUDIT NOT RUN: PyPI is unreachable from here.", file=sys.stderr)
        return 1 if os.environ.get("AUDIT_STRICT") == "1" else 0
    for name in sorted(skipped):
        version = installed.get(canonical(name), "?")
        answer = answers[name]
        if answer is None or answer[0] != version:
            latest = answer[0] if answer else "unknown"
            unaudited.append(f"{name} {version} (latest {latest})")
            continue
        findings += [(name, version, vuln["id"]) for vuln in answer[1]]

    audited = len(dependencies) - len(unaudited)
    print(f"audited {audited} of {len(dependencies)} dependencies against PyPI's advisories")
    if unaudited:
        print("not audited (installed version is not PyPI's latest): " + ", ".join(unaudited))
    failed = False
    for name, version, advisory in findings:
        reason = allowed.get(advisory)
        if reason:
            print(f"recorded: {name} {version} {advisory}: {reason}")
        else:
            print(
                f"VULNERABLE: {name} {version} {advisory} (fix, or record it in {ALLOWLIST.name})"
            )
            failed = True
    if not findings:
        print("no known vulnerabilities")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
