"""The base of every fake upstream: a real HTTP server on loopback with a scripted fault plan.

A simulator is a Starlette app served by uvicorn in a background thread on a free 127.0.0.1
port. Tests script faults at exact points (the Nth request to a path, the Nth line of a streamed
body): an error status with Retry-After, a line split across reads, a malformed line, a stall, a
dropped connection. Every request is recorded in `calls`, which is what rate-limit tests read.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response


class FaultKind(StrEnum):
    STATUS = "status"  # answer the request with `status` (and Retry-After) instead
    SPLIT = "split"  # send line `at_line` in two writes, split at byte `split_at`
    MALFORMED = "malformed"  # send `body` as line `at_line` before the real one
    STALL = "stall"  # send nothing for `seconds` before line `at_line`
    DISCONNECT = "disconnect"  # drop the connection before line `at_line`


@dataclass
class Fault:
    """One scripted fault. `request` is the 1-based number of the matching request it hits."""

    kind: FaultKind
    path: str = "/"
    request: int = 1
    at_line: int = 0
    status: int = 503
    retry_after: str | None = None
    split_at: int = 1
    body: bytes = b"{not json"  # MALFORMED: the line sent
    status_body: bytes | None = None  # STATUS: a raw body instead of the vendor's error JSON
    seconds: float = 0.0
    fired: bool = False


@dataclass
class Call:
    """One request the simulator received."""

    time: float
    method: str
    path: str
    query: str
    status: int


class DroppedConnection(Exception):
    """Raised inside a streaming body to make the server abort the connection."""


@dataclass
class FaultPlan:
    """Faults to inject, matched by path prefix and request number."""

    faults: list[Fault] = field(default_factory=list)
    _requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *faults: Fault) -> FaultPlan:
        with self._lock:
            self.faults.extend(faults)
        return self

    def begin(self, path: str) -> tuple[int, list[Fault]]:
        """Count a request to `path`; return its number and the faults aimed at it."""
        with self._lock:
            matching = [f for f in self.faults if path.startswith(f.path)]
            key = matching[0].path if matching else path
            number = self._requests.get(key, 0) + 1
            self._requests[key] = number
            return number, [f for f in matching if f.request == number and not f.fired]

    @staticmethod
    def status_fault(faults: Iterable[Fault]) -> Fault | None:
        for fault in faults:
            if fault.kind is FaultKind.STATUS:
                fault.fired = True
                return fault
        return None


async def stream_lines(
    lines: AsyncIterator[bytes] | Iterable[bytes],
    faults: list[Fault],
    separator: bytes = b"\r\n",
) -> AsyncIterator[bytes]:
    """Yield each line plus separator, applying the line-level faults of this request."""
    by_line: dict[int, list[Fault]] = {}
    for fault in faults:
        if fault.kind is not FaultKind.STATUS:
            by_line.setdefault(fault.at_line, []).append(fault)

    async def iterate() -> AsyncIterator[bytes]:
        if isinstance(lines, Iterable):
            for line in lines:
                yield line
        else:
            async for line in lines:
                yield line

    index = 0
    async for line in iterate():
        data = line + separator
        for fault in by_line.get(index, []):
            fault.fired = True
            if fault.kind is FaultKind.STALL:
                await asyncio.sleep(fault.seconds)
            elif fault.kind is FaultKind.DISCONNECT:
                raise DroppedConnection(f"scripted disconnect before line {index}")
            elif fault.kind is FaultKind.MALFORMED:
                yield fault.body + separator
            elif fault.kind is FaultKind.SPLIT:
                cut = max(1, min(fault.split_at, len(data) - 1))
                yield data[:cut]
                await asyncio.sleep(0.02)  # make the two halves arrive in separate reads
                data = data[cut:]
        yield data
        index += 1


def status_response(fault: Fault) -> Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.status_body is not None:
        return Response(fault.status_body, status_code=fault.status, headers=headers)
    return JSONResponse(
        {"status_code": str(fault.status), "status_message": "scripted fault"},
        status_code=fault.status,
        headers=headers,
    )


class CallWindow:
    """A vendor's rate limit as its server counts it: at most `calls` in any `window_s`."""

    def __init__(self, calls: int, window_s: float) -> None:
        self.calls = calls
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def over_limit(self) -> float | None:
        """Seconds until a slot frees if this call is over the limit, else None (it counts)."""
        with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] >= self.window_s:
                self._times.popleft()
            if len(self._times) >= self.calls:
                return self._times[0] + self.window_s - now
            self._times.append(now)
            return None


class SimulatorServer:
    """Serve a Starlette app on a free loopback port in a background thread."""

    def __init__(
        self,
        app: Starlette,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        """`tls`: (certificate chain, private key) PEM files to serve HTTPS with."""
        self.app = app
        self.calls: list[Call] = []
        self._calls_lock = threading.Lock()
        app.add_middleware(_CallRecorder, server=self)
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every response waited ~40 ms for the client's delayed ACK (Nagle).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.scheme = "https" if tls else "http"
        certfile, keyfile = tls or (None, None)
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def record(self, call: Call) -> None:
        with self._calls_lock:
            self.calls.append(call)

    def start(self, timeout_s: float = 10.0) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for `socialstream simulate`)."""
        self._run()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Simulator:
    """What every simulator is to a test: a `url`, and a context that runs its server."""

    server: SimulatorServer

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


class _CallRecorder:
    """ASGI middleware: record method, path, query and status of every request."""

    def __init__(self, app: Any, server: SimulatorServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.time()
        try:
            await self.app(scope, receive, capture)
        finally:
            self.server.record(
                Call(
                    started,
                    scope["method"],
                    scope["path"],
                    scope.get("query_string", b"").decode(),
                    status,
                )
            )
