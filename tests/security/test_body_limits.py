"""Request bodies are capped per route before anyone reads them: a real `rapport moments`
process answers 413 to a big declared body at once, cuts a chunked one at the cap and keeps its
memory, and refuses forms with too many fields."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common import processes
from services.moments.app import BODY_LIMITS

MB = 1024 * 1024


class Moments:
    def __init__(self, pid: int, port: int) -> None:
        self.pid, self.port = pid, port

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert match, status
        return int(match.group(1)) / 1024

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@pytest.fixture(scope="module")
def moments(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moments]:
    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "MOMENTS_HTTP_PORT": str(port),
        "MOMENTS_GRPC_PORT": str(processes.free_port()),
        "SHEETS_SYNC_IN_SERVICE": "false",
    }
    log = tmp_path_factory.mktemp("moments") / "moments.log"
    server = processes.spawn(processes.rapport_command("moments"), env=env, log=log)
    try:
        processes.wait_for_port(port, timeout_s=60)
        yield Moments(server.pid, port)
    finally:
        processes.stop(server)


def status_line(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/api/v1/moments", "application/json", id="api-300MB"),
        pytest.param("/login", "application/x-www-form-urlencoded", id="login-300-fields-of-1MB"),
        pytest.param("/moments", "application/x-www-form-urlencoded", id="form-300MB"),
    ],
)
def test_a_big_declared_body_is_refused_before_a_byte_is_read(
    moments: Moments, path: str, content_type: str
) -> None:
    with moments.connect() as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {300 * MB}\r\n\r\n".encode()
        )
        started = time.monotonic()
        assert status_line(sock).startswith(b"HTTP/1.1 413 "), "refused without the body"
        assert time.monotonic() - started < 5


def send_chunked(sock: socket.socket, path: str, total: int, chunk: int = MB) -> int:
    """Send `total` bytes of a chunked JSON body (no Content-Length); how much went out before
    the server closed the connection."""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    piece = f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total:
            sock.sendall(piece)
            sent += chunk
        sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed: what it had not read it never will
    return sent


def test_a_chunked_body_is_cut_at_the_cap_and_memory_stays_flat(moments: Moments) -> None:
    cap = BODY_LIMITS.for_path("/api/v1/moments")
    with moments.connect() as sock:  # twice the cap, in pieces smaller than the cap
        send_chunked(sock, "/api/v1/moments", 2 * cap, chunk=cap // 8)
        assert status_line(sock).startswith(b"HTTP/1.1 413 ")
    before = moments.rss_mb()
    with moments.connect() as sock:
        sent = send_chunked(sock, "/api/v1/moments", 300 * MB)
    time.sleep(0.5)
    after = moments.rss_mb()
    print(f"moments RSS {before:.0f} MB -> {after:.0f} MB over a {sent / MB:.0f} MB send")
    assert after - before < 20, f"RSS grew {before:.0f} -> {after:.0f} MB"
    assert httpx.get(f"http://127.0.0.1:{moments.port}/healthz").status_code == 200


def test_a_form_of_many_fields_is_refused(moments: Moments) -> None:
    fields = {f"field{number}": "x" for number in range(300)}  # 3 KB: under the size cap
    response = httpx.post(f"http://127.0.0.1:{moments.port}/login", data=fields)
    assert response.status_code == 400
    assert "Too many fields" in response.json()["detail"]
