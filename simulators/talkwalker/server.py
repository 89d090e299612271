"""A faithful Talkwalker streaming API v2 on loopback, following the vendor document.

`GET /api/v2/stream/s/<ids>/results` (and `/s/<ids>/p/<project>/results`): `\\r\\n`-separated
chunks, a CT_CONTROL chunk before each timeframe (with per-stream quota), the timeframe's results
unsorted (a different order on every replay), `stream_resume`, `stream_stop`, `max_hits`,
multi-stream selectors (`a,b`, `prefix*`, `*`, `-excluded`), gzip, a newline every second when
there is nothing to send, credits billed per completed timeframe, 5 calls a minute and one
connection per account, and the vendor's error codes. Faults come from a `FaultPlan`.
Disabled streams and streams over their quota get no results until enabled or reset.

The same account also serves the documents API and stream management (`endpoints.py`), so a
test reads back in `documents` and `registry` what a client wrote.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from socialstream.simulators.base import (
    FaultPlan,
    Simulator,
    SimulatorServer,
    status_response,
    stream_lines,
)
from socialstream.simulators.talkwalker.corpus import Corpus, select_streams
from socialstream.simulators.talkwalker.documents import DocumentStore
from socialstream.simulators.talkwalker.endpoints import (
    DEFAULT_RESOURCES,
    MAX_REQUEST_BYTES,
    DocumentsEndpoint,
    ManagementEndpoints,
)
from socialstream.simulators.talkwalker.management import StreamDefinition, StreamRegistry

STREAM_PATH = "/api/v2/stream"


def error_body(status_code: str, message: str, request: Request) -> dict[str, str]:
    return {
        "status_code": status_code,
        "status_message": message,
        "request": f"{request.method} {request.url.path}",
    }


def error_chunk(code: str, message: str) -> bytes:
    return json.dumps(
        {
            "chunk_type": "CT_ERROR",
            "chunk_error": {
                "status_code": code,
                "status_message": message,
                "data": [{"key": "errdetail", "value": [message]}],
            },
        }
    ).encode()


@dataclass
class Connection:
    number: int
    superseded: bool = False


@dataclass
class SimulatorState:
    """What a test can read back or change while the simulator runs."""

    credits: int | None = None
    results_sent: int = 0
    connections: int = 0
    replays: dict[int, int] = field(default_factory=dict)
    call_times: deque[float] = field(default_factory=deque)
    rejected_rate_limited: int = 0
    superseded: int = 0  # connections cut because a newer one opened (error 24)
    open: Connection | None = None


class TalkwalkerSimulator(Simulator):
    """The streaming endpoint of one Talkwalker account (one access token)."""

    def __init__(
        self,
        corpus: Corpus,
        token: str = "tw-sim-token",  # noqa: S107 - the simulator's own token
        plan: FaultPlan | None = None,
        calls_per_window: int = 5,
        window_s: float = 60.0,
        keepalive_s: float = 1.0,
        gzip: bool = True,
        credits: int | None = None,
        close_at_end: bool = False,
        port: int = 0,
        host: str = "127.0.0.1",
        tls: tuple[str, str] | None = None,
        project_id: str = "project-1",
        max_request_bytes: int = MAX_REQUEST_BYTES,
        docs_calls_per_window: int | None = None,
        docs_window_s: float = 60.0,
        management_calls_per_window: int = 20,
        management_window_s: float = 60.0,
    ) -> None:
        self.corpus = corpus
        self.token = token
        self.plan = plan or FaultPlan()
        self.calls_per_window = calls_per_window
        self.window_s = window_s
        self.keepalive_s = keepalive_s
        self.gzip = gzip
        self.close_at_end = close_at_end
        self.state = SimulatorState(credits=credits)
        self.lock = threading.Lock()
        self.registry = StreamRegistry(
            {
                s: StreamDefinition(s, {r: f"{s} {r}" for r in corpus.rules_of(s)})
                for s in corpus.streams
            },
            resources=list(DEFAULT_RESOURCES),
        )
        self.project_id = project_id
        self.documents = DocumentStore()
        self.docs = DocumentsEndpoint(self, max_request_bytes, docs_calls_per_window, docs_window_s)
        self.management = ManagementEndpoints(
            self, management_calls_per_window, management_window_s
        )
        routes = [
            Route(STREAM_PATH + "/s/{ids}/results", self.results),
            Route(STREAM_PATH + "/s/{ids}/p/{project}/results", self.results),
            *self.management.routes(),
            *self.docs.routes(),
        ]
        self.server = SimulatorServer(Starlette(routes=routes), host=host, port=port, tls=tls)

    # --- the endpoint --------------------------------------------------------------------

    def _admit(self, request: Request) -> Response | None:
        """Authentication, rate limit, credits: an error response, or None to go ahead."""
        if request.query_params.get("access_token") != self.token:
            return JSONResponse(
                error_body("7", "Invalid, missing or inactive access token", request), 401
            )
        now = time.monotonic()
        with self.lock:
            calls = self.state.call_times
            while calls and now - calls[0] >= self.window_s:
                calls.popleft()
            if len(calls) >= self.calls_per_window:
                self.state.rejected_rate_limited += 1
                return JSONResponse(
                    error_body("8", "Call limit exceeded for this endpoint", request), 401
                )
            calls.append(now)
            if self.state.credits is not None and self.state.credits <= 0:
                return JSONResponse(error_body("9", "No credits left.", request), 401)
        return None

    async def results(self, request: Request) -> Response:
        denied = self._admit(request)
        if denied is not None:
            return denied
        _, faults = self.plan.begin(STREAM_PATH)
        fault = self.plan.status_fault(faults)
        if fault is not None:
            return status_response(fault)
        with self.lock:  # the management endpoints change the registry from other requests
            defined = list(self.registry.streams)
        selected = select_streams(request.path_params["ids"], defined)
        if not selected:
            return JSONResponse(
                error_body("15", "Wrong stream id. No such stream defined.", request), 404
            )
        try:
            resume = _int_param(request, "stream_resume")
            stop = _int_param(request, "stream_stop")
            max_hits = _int_param(request, "max_hits")
        except ValueError as exc:
            return JSONResponse(error_body("5", f"Invalid parameter value: {exc}", request), 400)
        with self.lock:
            self.state.connections += 1
            if self.state.open is not None:
                self.state.open.superseded = True  # one connection per account
                self.state.superseded += 1
            connection = Connection(self.state.connections)
            self.state.open = connection
        chunks = self._chunks(request, connection, selected, resume, stop, max_hits)
        lines = stream_lines(chunks, faults)
        if not faults:  # faults need their own writes (a split line must stay split)
            lines = _coalesced(lines)
        headers = {}
        if self.gzip and "gzip" in request.headers.get("accept-encoding", ""):
            lines = _gzipped(lines)
            headers["Content-Encoding"] = "gzip"
        return StreamingResponse(lines, media_type="application/json", headers=headers)

    def _control(self, tf: int, selected: list[str]) -> bytes:
        streams = []
        for stream_id in selected:
            stream = self.registry.streams.get(stream_id)
            if stream is None:
                continue
            entry: dict[str, object] = {"id": stream_id, "status": _status(stream)}
            if stream.quota is not None:
                entry.update({"allowance": stream.quota.allowance, "usage": stream.quota.usage})
            streams.append(entry)
        return json.dumps(
            {
                "chunk_type": "CT_CONTROL",
                "chunk_control": {
                    "timeframe_start": self.corpus.timeframe_start(tf),
                    "timeframe_end": self.corpus.timeframe_end(tf),
                    "stream": streams,
                },
            }
        ).encode()

    async def _chunks(
        self,
        request: Request,
        connection: Connection,
        selected: list[str],
        resume: int | None,
        stop: int | None,
        max_hits: int | None,
    ) -> AsyncIterator[bytes]:
        corpus = self.corpus
        tf = corpus.index_for(resume)
        first = tf
        hits = 0
        try:
            while tf < corpus.timeframes:
                start = corpus.timeframe_start(tf)
                if stop is not None and start >= stop:
                    yield self._control(tf, selected)  # where to resume
                    return
                with self.lock:
                    out_of_credits = self.state.credits is not None and self.state.credits <= 0
                    attempt = self.state.replays.get(tf, 0)
                    self.state.replays[tf] = attempt + 1
                if out_of_credits:
                    yield self._control(tf, selected)  # the stream stops; resume from here
                    return
                yield self._control(tf, selected)
                with self.lock:  # disabled or over-quota streams get nothing this timeframe
                    active = [
                        s
                        for s in selected
                        if s in self.registry.streams
                        and _status(self.registry.streams[s]) == "active"
                    ]
                sent = 0
                for n, i in enumerate(corpus.order(tf, attempt if tf == first else 0)):
                    if n % 256 == 0:
                        await asyncio.sleep(0)
                        if await request.is_disconnected():
                            return
                        if connection.superseded:
                            yield error_chunk(
                                "24", "Stream got disconnected because newer stream running"
                            )
                            return
                    line = corpus.result_chunk(tf, i, active) if active else None
                    if line is not None:
                        yield line
                        sent += 1
                with self.lock:
                    self.state.results_sent += sent
                    for stream_id in active:
                        quota = self.registry.streams[stream_id].quota
                        if quota is not None:
                            quota.usage += sent
                    if self.state.credits is not None:
                        billed = sent if max_hits is None else min(sent, max(0, max_hits - hits))
                        self.state.credits -= billed
                hits += sent
                tf += 1
                if max_hits is not None and hits >= max_hits:
                    yield self._control(tf, selected)
                    return
            if self.close_at_end:
                return
            while not connection.superseded:  # live: a newline every second
                await asyncio.sleep(self.keepalive_s)
                if await request.is_disconnected():
                    return
                yield b""
            yield error_chunk("24", "Stream got disconnected because newer stream running")
        finally:
            with self.lock:
                if self.state.open is connection:
                    self.state.open = None


def _status(stream: StreamDefinition) -> str:
    if not stream.enabled:
        return "disabled"
    if stream.quota is not None and stream.quota.usage >= stream.quota.allowance:
        return "inactive"
    return "active"


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of milliseconds") from None


async def _coalesced(chunks: AsyncIterator[bytes], limit: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Join lines into writes of about `limit` bytes; a keep-alive flushes at once."""
    buffer: list[bytes] = []
    size = 0
    async for data in chunks:
        buffer.append(data)
        size += len(data)
        if size >= limit or data == b"\r\n":
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


async def _gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for data in chunks:
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if out:
            yield out
    yield compressor.flush()
