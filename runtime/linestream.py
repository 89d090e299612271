"""Complete lines from a long-lived streaming HTTP response, read on a background thread.

Only a line ended by `\\n` (or `\\r\\n`) is complete; bytes left when the connection ends are a
truncated line and are reported as such, never parsed, because a repaired half-line would pass
for a whole record. Lines queue up to a bound, so a slow consumer slows the socket instead of
filling memory, and the consumer can wait on the queue with a timeout (for commit deadlines).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import httpx

from socialstream.runtime.httpclient import UpstreamError
from socialstream.runtime.redaction import redact_text


class EventKind(StrEnum):
    LINES = "lines"  # complete lines (without terminators; empty ones are keep-alives)
    OVERSIZE = "oversize"  # a line longer than the limit; `data` holds its first bytes
    END = "end"  # the server ended the response; `data` holds a truncated tail, if any
    ERROR = "error"  # the connection failed or stalled; `error` says how


@dataclass(frozen=True)
class StreamEvent:
    kind: EventKind
    data: bytes = b""
    error: str = ""
    stalled: bool = False
    lines: tuple[bytes, ...] = ()


class LineReader:
    """Reads `response` on a thread; `get(timeout)` returns the next event or None."""

    def __init__(
        self,
        response: httpx.Response,
        max_line_bytes: int = 16 * 1024 * 1024,
        queue_size: int = 256,
    ) -> None:
        self._response = response
        self._max = max_line_bytes
        self._queue: queue.Queue[StreamEvent] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self.last_byte_at = time.monotonic()
        self.bytes_read = 0
        self._thread = threading.Thread(target=self._run, name="line-reader", daemon=True)
        self._thread.start()

    def _put(self, event: StreamEvent) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(event, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        pending = b""
        skipping = False
        try:
            for chunk in self._response.iter_bytes():
                if self._stop.is_set():
                    return
                self.last_byte_at = time.monotonic()
                self.bytes_read += len(chunk)
                pending += chunk
                if b"\n" in chunk:
                    *lines, pending = pending.split(b"\n")
                    if skipping:  # the first one is the tail of an oversize line
                        skipping = False
                        lines = lines[1:]
                    # One queue item a read, not a line: the queue's locking stays off the hot path.
                    batch: list[bytes] = []
                    for line in lines:
                        if len(line) > self._max:
                            if batch and not self._put(self._lines(batch)):
                                return
                            batch = []
                            if not self._put(StreamEvent(EventKind.OVERSIZE, line[:1024])):
                                return
                            continue
                        batch.append(line[:-1] if line.endswith(b"\r") else line)
                    if batch and not self._put(self._lines(batch)):
                        return
                if len(pending) > self._max and not skipping:
                    if not self._put(StreamEvent(EventKind.OVERSIZE, pending[:1024])):
                        return
                    skipping = True
                if skipping:
                    pending = b""
            self._put(StreamEvent(EventKind.END, b"" if skipping else pending))
        except httpx.ReadTimeout:
            stalled = "stalled: no byte within the read timeout"
            self._put(StreamEvent(EventKind.ERROR, pending, stalled, stalled=True))
        except (httpx.HTTPError, OSError, UpstreamError) as exc:
            if not self._stop.is_set():
                message = redact_text(f"{type(exc).__name__}: {exc}")
                self._put(StreamEvent(EventKind.ERROR, pending, message))

    @staticmethod
    def _lines(batch: list[bytes]) -> StreamEvent:
        return StreamEvent(EventKind.LINES, lines=tuple(batch))

    def get(self, timeout: float | None) -> StreamEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._stop.set()
        self._response.close()
        self._thread.join(5)
