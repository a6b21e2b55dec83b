"""The local journal that keeps acknowledged records when the broker keeps them only in memory.

The embedded broker (`rapport up` without KAFKA_BOOTSTRAP_SERVERS) holds records in memory: if it
dies, whatever the consumer had not yet written to the database would be gone although ingest had
answered 202. So in that set-up ingest appends every acknowledged record to an append-only file
here, fsynced before the client is answered (one fsync for all the requests waiting at that
moment: a group commit). The consumer commits its offsets to Kafka only once the database holds
the records; a segment whose records are all committed is deleted. When the broker comes back
(with a new cluster id: `rapport up` starts each broker with its own), every record of a segment
from the earlier broker is published again, and in the same broker only those not yet committed.
Replays are harmless: events are written by event id (the newer ingest time wins).

Layout: `<seq>.<cluster id>.journal` files of frames
`crc32 | length | topic length | topic | partition | offset | events | value` (big-endian); a torn
frame at the end of a file (a crash mid-write, never fsynced, so never answered) ends the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

_FRAME = struct.Struct(">II")  # crc32 of the body, body length
_BODY = struct.Struct(">iqI")  # partition, offset, events (after the topic)
_NAME = re.compile(r"^(\d{12})\.(.+)\.journal$")
ROLL_BYTES = 64 * 1024 * 1024
ROLL_SECONDS = 5.0  # a new segment this often, so committed ones can go soon


@dataclass(frozen=True)
class Entry:
    """One record Kafka acknowledged: where it landed, how many events it holds, its bytes."""

    topic: str
    partition: int
    offset: int
    events: int
    value: bytes


def encode(entry: Entry) -> bytes:
    topic = entry.topic.encode()
    body = (
        bytes([len(topic)])
        + topic
        + _BODY.pack(entry.partition, entry.offset, entry.events)
        + entry.value
    )
    return _FRAME.pack(zlib.crc32(body), len(body)) + body


def read_entries(path: Path) -> Iterator[Entry]:
    """Every whole frame of a segment; stops at the first torn or damaged one."""
    with path.open("rb") as file:
        while True:
            head = file.read(_FRAME.size)
            if len(head) < _FRAME.size:
                return
            crc, length = _FRAME.unpack(head)
            body = file.read(length)
            if len(body) < length or zlib.crc32(body) != crc:
                log.warning("journal %s: a torn frame at the end (never acknowledged)", path.name)
                return
            size = body[0]
            topic = body[1 : 1 + size].decode()
            partition, offset, events = _BODY.unpack_from(body, 1 + size)
            yield Entry(topic, partition, offset, events, body[1 + size + _BODY.size :])


class BrokerReplaced(Exception):
    """Records sent to one broker were acknowledged after the journal had moved on to its
    successor: they may be held only by a broker that is gone, and a segment of the new broker
    is never published again, so they are not journaled, nor acknowledged to the client."""


@dataclass
class Segment:
    path: Path
    seq: int
    cluster_id: str
    last: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> offset
    records: int = 0
    opened: float = field(default_factory=time.monotonic)

    def note(self, entry: Entry) -> None:
        tp = (entry.topic, entry.partition)
        self.last[tp] = max(self.last.get(tp, -1), entry.offset)
        self.records += 1

    def committed(self, cluster_id: str, committed: Mapping[tuple[str, int], int]) -> bool:
        """True when the broker that holds these records has them all committed."""
        if safe_id(cluster_id) != self.cluster_id:
            return False
        return all(committed.get(tp, 0) > offset for tp, offset in self.last.items())


class Journal:
    """Segments in a directory, one writer thread doing group commits."""

    def __init__(self, directory: Path, cluster_id: str) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # guards the segment list and the open file
        self.segments = load_segments(directory)
        self._file = self._open(cluster_id)
        self._queue: queue.SimpleQueue[tuple[list[Entry], Future[None], str | None] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="rapport-journal", daemon=True)
        self._thread.start()

    @property
    def current(self) -> Segment:
        return self.segments[-1]

    def _open(self, cluster_id: str) -> int:
        seq = self.segments[-1].seq + 1 if self.segments else 1
        safe = safe_id(cluster_id)
        segment = Segment(self.directory / f"{seq:012d}.{safe}.journal", seq, safe)
        fd = os.open(segment.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.segments.append(segment)
        _fsync_dir(self.directory)
        return fd

    def append(self, entries: Sequence[Entry], *, sent_to: str | None = None) -> Future[None]:
        """Resolves once the entries are on disk (fsynced). `sent_to`: the cluster id the
        current segment had when the records were sent; if the journal has since rolled to
        another broker, the future fails with BrokerReplaced and nothing is written."""
        done: Future[None] = Future()
        if not entries:
            done.set_result(None)
        else:
            self._queue.put((list(entries), done, sent_to))
        return done

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            waiting = [item]
            with contextlib.suppress(queue.Empty):
                while len(waiting) < 10_000:
                    more = self._queue.get_nowait()
                    if more is None:
                        self._queue.put(None)
                        break
                    waiting.append(more)
            try:
                kept = self._write(waiting)
            except OSError as exc:  # disk full, say: those requests are not acknowledged
                log.error("journal write failed: %s", exc)
                for _, done, _sent_to in waiting:
                    done.set_exception(exc)
                continue
            for index, (_, done, sent_to) in enumerate(waiting):
                if index in kept:
                    done.set_result(None)
                else:
                    done.set_exception(
                        BrokerReplaced(f"sent to broker {sent_to}, now {self.current.cluster_id}")
                    )

    def _write(self, waiting: list[tuple[list[Entry], Future[None], str | None]]) -> set[int]:
        """Write the groups sent to the current segment's broker; the indexes of those kept."""
        with self._lock:
            cluster = self.current.cluster_id
            kept = {i for i, (_, _, to) in enumerate(waiting) if to is None or to == cluster}
            entries = [e for i in sorted(kept) for e in waiting[i][0]]
            data = memoryview(b"".join(map(encode, entries)))
            written = 0
            try:
                # A filling disk writes part of what was asked and says how much: go on until
                # all is written or the system refuses (ENOSPC).
                while written < len(data):
                    written += os.write(self._file, data[written:])
                if data:
                    os.fdatasync(self._file)
            except OSError:
                if written:
                    self._take_back(written)
                raise
            for entry in entries:
                self.current.note(entry)
            return kept

    def _take_back(self, written: int) -> None:
        """Remove the part of a refused group: a torn frame mid-file would hide every later
        frame on replay. If even that fails, later groups go to a new segment."""
        try:
            os.ftruncate(self._file, os.fstat(self._file).st_size - written)
        except OSError as exc:
            log.error("journal: cannot take back a part-written group (%s): new segment", exc)
            os.close(self._file)
            self._file = self._open(self.current.cluster_id)

    def roll(self, cluster_id: str) -> None:
        """Start a new segment (for this broker): when the current one is large or old enough,
        or at once when the broker changed."""
        with self._lock:
            current = self.current
            changed = safe_id(cluster_id) != current.cluster_id
            due = current.records and (
                os.fstat(self._file).st_size >= ROLL_BYTES
                or time.monotonic() - current.opened >= ROLL_SECONDS
            )
            if not (changed or due):
                return
            os.close(self._file)
            self._file = self._open(cluster_id)

    def older(self) -> list[Segment]:
        with self._lock:
            return self.segments[:-1]

    def trim(self, cluster_id: str, committed: Mapping[tuple[str, int], int]) -> int:
        """Delete the closed segments the consumer has committed in full; how many went."""
        gone = 0
        for segment in self.older():
            if segment.committed(cluster_id, committed) or segment.records == 0:
                self.drop(segment)
                gone += 1
        return gone

    def drop(self, segment: Segment) -> None:
        with self._lock:
            if segment in self.segments[:-1]:
                self.segments.remove(segment)
                segment.path.unlink(missing_ok=True)

    def pending_records(self) -> int:
        with self._lock:
            return sum(s.records for s in self.segments)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        with self._lock:
            os.close(self._file)
            if self.current.records == 0:
                self.segments.pop().path.unlink(missing_ok=True)


def load_segments(directory: Path) -> list[Segment]:
    """The segments in a journal directory, oldest first, with what each holds."""
    segments = []
    for path in sorted(directory.glob("*.journal")):
        if match := _NAME.match(path.name):
            segment = Segment(path, int(match[1]), match[2])
            for entry in read_entries(path):
                segment.note(entry)
            segments.append(segment)
    return segments


def trim_directory(
    directory: Path, cluster_id: str, committed: Mapping[tuple[str, int], int]
) -> tuple[int, int]:
    """With ingest stopped (`rapport up` once the consumer drained): delete what is committed.
    The segments kept and the records they hold."""
    kept = []
    for segment in load_segments(directory):
        if segment.records == 0 or segment.committed(cluster_id, committed):
            segment.path.unlink(missing_ok=True)
        else:
            kept.append(segment)
    return len(kept), sum(s.records for s in kept)


def rewrite_segments(
    directory: Path, change: Callable[[Entry], bytes | None], *, settled_s: float = 2 * ROLL_SECONDS
) -> tuple[int, int]:
    """Every record of every segment through `change` (its new value, or None: as it is); a
    segment with a changed record is written anew and put in place of the old one. The newest
    segment only once nothing has been appended to it for `settled_s` (a running ingest appends
    there). The records changed, and the segments left for later because they were busy."""
    paths = sorted(p for p in directory.glob("*.journal") if _NAME.match(p.name))
    changed = busy = 0
    for path in paths:
        entries = list(read_entries(path))
        values = [change(entry) for entry in entries]
        if all(value is None for value in values):
            continue
        if path == paths[-1] and time.time() - path.stat().st_mtime < settled_s:
            busy += 1
            continue
        fresh = path.with_suffix(".rewrite")
        with fresh.open("wb") as file:
            for entry, value in zip(entries, values, strict=True):
                file.write(encode(entry if value is None else replace(entry, value=value)))
            file.flush()
            os.fsync(file.fileno())
        os.replace(fresh, path)
        _fsync_dir(directory)
        changed += sum(value is not None for value in values)
    return changed, busy


UNKNOWN_CLUSTER = "unknown"  # the broker's id was not known when the segment was opened


def safe_id(cluster_id: str) -> str:
    """The cluster id as it appears in a file name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", cluster_id) or UNKNOWN_CLUSTER


def _fsync_dir(directory: Path) -> None:
    """A new file survives a crash only once its directory entry is on disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
