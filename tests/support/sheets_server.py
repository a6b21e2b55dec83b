"""A local HTTP server speaking the Google Sheets v4 subset Rapport uses, plus the OAuth token
endpoint, with a write quota and injectable 429 / 500 / slow answers / dropped connections."""

from __future__ import annotations

import collections
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_CELL = re.compile(r"^([A-Z]+)?(\d+)?$")


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def parse_range(a1: str) -> tuple[str | None, int, int | None, int, int | None]:
    """'Sheet!A2:C5' -> (sheet, first_row, last_row, first_col, last_col), 0-based, inclusive."""
    if "!" not in a1 and not _CELL.match(a1.split(":")[0]):
        return a1.strip("'"), 0, None, 0, None  # a whole sheet by its title
    sheet, _, cells = a1.rpartition("!")
    sheet = sheet.strip("'") or None
    if not cells:
        return sheet, 0, None, 0, None
    start, _, end = cells.partition(":")
    m1, m2 = _CELL.match(start), _CELL.match(end or start)
    assert m1 and m2, a1
    c1 = _column_index(m1.group(1)) if m1.group(1) else 0
    r1 = int(m1.group(2)) - 1 if m1.group(2) else 0
    c2 = _column_index(m2.group(1)) if m2.group(1) else None
    r2 = int(m2.group(2)) - 1 if m2.group(2) else None
    return sheet, r1, r2, c1, c2


@dataclass
class Faults:
    """What the next requests should suffer; counts go down as they are used."""

    status_429: int = 0
    status_500: int = 0
    slow: int = 0
    slow_s: float = 3.0
    drop: int = 0
    random_rate: float = 0.0  # chance of a random fault on any request


@dataclass
class SheetState:
    title: str = "Moments"
    rows: list[list[str]] = field(default_factory=list)
    input_options: list[str] = field(default_factory=list)
    writes: int = 0
    reads: int = 0
    appended_rows: int = 0


class SheetsServer:
    """One spreadsheet, one worksheet; `quota_per_minute` write requests per rolling minute."""

    def __init__(self, spreadsheet_id: str = "test-sheet", quota_per_minute: int = 60) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.quota_per_minute = quota_per_minute
        self.sheet = SheetState()
        self.faults = Faults()
        self.lock = threading.Lock()
        self._writes: deque[float] = deque()
        self._rng = random.Random(42)
        self.injected: collections.Counter[str] = collections.Counter()  # faults served, by kind
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> SheetsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def credentials_file(self, directory: Path) -> Path:
        """A service-account JSON whose token_uri points at this server."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = directory / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "rapport-test",
                    "private_key_id": "test-key",
                    "private_key": pem,
                    "client_email": "rapport@rapport-test.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path

    def ids(self) -> list[str]:
        with self.lock:
            return [row[0] for row in self.sheet.rows[1:] if row]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, state: str) -> None:
                self._reply(
                    status, {"error": {"code": status, "message": message, "status": state}}
                )

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Type", "").startswith("application/json") and raw:
                    return json.loads(raw)  # type: ignore[no-any-return]
                return {"_form": parse_qs(raw.decode())}

            def _fault(self) -> bool:
                f = server.faults
                with server.lock:
                    roll = server._rng.random() < f.random_rate
                    kind = None
                    if f.drop or (roll and server._rng.random() < 0.25):
                        f.drop = max(0, f.drop - 1)
                        kind = "drop"
                    elif f.status_429 or (roll and server._rng.random() < 0.33):
                        f.status_429 = max(0, f.status_429 - 1)
                        kind = "429"
                    elif f.status_500 or (roll and server._rng.random() < 0.5):
                        f.status_500 = max(0, f.status_500 - 1)
                        kind = "500"
                    elif f.slow or roll:
                        f.slow = max(0, f.slow - 1)
                        kind = "slow"
                    if kind:
                        server.injected[kind] += 1
                if kind == "drop":
                    self.connection.close()
                    self.close_connection = True
                    return True
                if kind == "429":
                    self._error(429, "Quota exceeded (injected)", "RESOURCE_EXHAUSTED")
                    return True
                if kind == "500":
                    self._error(500, "Internal error (injected)", "INTERNAL")
                    return True
                if kind == "slow":
                    time.sleep(f.slow_s)
                return False

            def _authorised(self) -> bool:
                if self.headers.get("Authorization", "").startswith("Bearer local-token"):
                    return True
                self._error(
                    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
                )
                return False

            def _quota(self) -> bool:
                with server.lock:
                    horizon = time.monotonic() - 60
                    while server._writes and server._writes[0] <= horizon:
                        server._writes.popleft()
                    if len(server._writes) >= server.quota_per_minute:
                        exceeded = True
                    else:
                        server._writes.append(time.monotonic())
                        exceeded = False
                if exceeded:
                    self._error(
                        429,
                        "Quota exceeded for 'Write requests per minute per user'",
                        "RESOURCE_EXHAUSTED",
                    )
                return not exceeded

            def do_POST(self) -> None:
                path = urlparse(self.path).path
                if path == "/token":
                    self._body()
                    self._reply(
                        200,
                        {"access_token": "local-token", "expires_in": 3600, "token_type": "Bearer"},
                    )
                    return
                body = self._body()
                if self._fault() or not self._authorised():
                    return
                prefix = f"/v4/spreadsheets/{server.spreadsheet_id}"
                query = parse_qs(urlparse(self.path).query)
                if path.startswith(prefix + "/values/") and path.endswith(":append"):
                    if not self._quota():
                        return
                    a1 = unquote(path[len(prefix + "/values/") : -len(":append")])
                    self._append(a1, body, query)
                elif path == prefix + "/values:batchUpdate":
                    if not self._quota():
                        return
                    self._batch_update(body)
                elif path == prefix + ":batchUpdate":
                    if not self._quota():
                        return
                    self._reply(200, {"spreadsheetId": server.spreadsheet_id, "replies": []})
                else:
                    self._error(404, f"unknown endpoint {path}", "NOT_FOUND")

            def do_PUT(self) -> None:
                path = urlparse(self.path).path
                body = self._body()
                if self._fault() or not self._authorised():
                    return
                prefix = f"/v4/spreadsheets/{server.spreadsheet_id}/values/"
                if not path.startswith(prefix):
                    self._error(404, f"unknown endpoint {path}", "NOT_FOUND")
                    return
                if not self._quota():
                    return
                query = parse_qs(urlparse(self.path).query)
                option = (query.get("valueInputOption") or ["RAW"])[0]
                with server.lock:
                    server.sheet.input_options.append(option)
                    server.sheet.writes += 1
                    updated = self._write(unquote(path[len(prefix) :]), body.get("values", []))
                self._reply(200, {"spreadsheetId": server.spreadsheet_id, "updatedRange": updated})

            def do_GET(self) -> None:
                path = urlparse(self.path).path
                if self._fault() or not self._authorised():
                    return
                prefix = f"/v4/spreadsheets/{server.spreadsheet_id}"
                with server.lock:
                    server.sheet.reads += 1
                if path == prefix:
                    self._reply(
                        200,
                        {
                            "spreadsheetId": server.spreadsheet_id,
                            "properties": {
                                "title": "Meaningful relationship moments",
                                "locale": "en_US",
                                "timeZone": "Etc/GMT",
                            },
                            "sheets": [
                                {
                                    "properties": {
                                        "sheetId": 0,
                                        "title": server.sheet.title,
                                        "index": 0,
                                        "sheetType": "GRID",
                                        "gridProperties": {
                                            "rowCount": max(1000, len(server.sheet.rows)),
                                            "columnCount": 26,
                                        },
                                    }
                                }
                            ],
                        },
                    )
                elif path.startswith(prefix + "/values/"):
                    a1 = unquote(path[len(prefix + "/values/") :])
                    _sheet, r1, r2, c1, c2 = parse_range(a1)
                    with server.lock:
                        rows = server.sheet.rows[r1 : None if r2 is None else r2 + 1]
                        values = [row[c1 : None if c2 is None else c2 + 1] for row in rows]
                    while values and not any(values[-1]):
                        values.pop()
                    major = (parse_qs(urlparse(self.path).query).get("majorDimension") or ["ROWS"])[
                        0
                    ]
                    if major == "COLUMNS":
                        width = max((len(r) for r in values), default=0)
                        values = [
                            [r[i] if i < len(r) else "" for r in values] for i in range(width)
                        ]
                    self._reply(200, {"range": a1, "majorDimension": major, "values": values})
                elif path == f"/v4/spreadsheets/{server.spreadsheet_id}":
                    self._reply(200, {})
                else:
                    self._error(404, f"Requested entity was not found: {path}", "NOT_FOUND")

            def _write(self, a1: str, values: list[list[Any]]) -> str:
                _sheet, r1, _r2, c1, _c2 = parse_range(a1)
                rows = server.sheet.rows
                for offset, row_values in enumerate(values):
                    index = r1 + offset
                    while len(rows) <= index:
                        rows.append([])
                    row = rows[index]
                    while len(row) < c1 + len(row_values):
                        row.append("")
                    row[c1 : c1 + len(row_values)] = [str(v) for v in row_values]
                return a1

            def _append(self, a1: str, body: dict[str, Any], query: dict[str, list[str]]) -> None:
                values = body.get("values", [])
                option = (query.get("valueInputOption") or ["RAW"])[0]
                with server.lock:
                    server.sheet.input_options.append(option)
                    server.sheet.writes += 1
                    server.sheet.appended_rows += len(values)
                    start = len(server.sheet.rows)
                    for row in values:
                        server.sheet.rows.append([str(v) for v in row])
                updated = f"{server.sheet.title}!A{start + 1}:O{start + len(values)}"
                self._reply(
                    200,
                    {
                        "spreadsheetId": server.spreadsheet_id,
                        "tableRange": a1,
                        "updates": {"updatedRange": updated, "updatedRows": len(values)},
                    },
                )

            def _batch_update(self, body: dict[str, Any]) -> None:
                with server.lock:
                    server.sheet.input_options.append(body.get("valueInputOption", ""))
                    server.sheet.writes += 1
                    for item in body.get("data", []):
                        self._write(item["range"], item["values"])
                self._reply(
                    200,
                    {
                        "spreadsheetId": server.spreadsheet_id,
                        "totalUpdatedRows": len(body.get("data", [])),
                    },
                )

        return Handler


def main() -> None:
    """Run the local Sheets server for `make run` trials: prints the variables to set."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="A local Google Sheets v4 server for Rapport.")
    parser.add_argument("--quota", type=int, default=60, help="write requests per minute")
    args = parser.parse_args()
    server = SheetsServer(quota_per_minute=args.quota).start()
    credentials = server.credentials_file(Path(tempfile.mkdtemp(prefix="rapport-sheets-")))
    print(
        "Local Sheets server running. Start Rapport with:\n"
        f"  GOOGLE_APPLICATION_CREDENTIALS={credentials} "
        f"SHEETS_SPREADSHEET_ID={server.spreadsheet_id} "
        f"GOOGLE_SHEETS_API_URL={server.url} make run\n"
        f"The sheet's rows: curl -H 'Authorization: Bearer local-token' "
        f"{server.url}/v4/spreadsheets/{server.spreadsheet_id}/values/Moments\n"
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
