"""The example simulator: a token-protected newline-delimited JSON stream with scripted faults.

It is the smallest complete use of `simulators.base` (a streamed body, faults by request and by
line, a call log) and what the runtime's HTTP client is tested against. Vendor simulators follow
the same pattern with their own endpoints.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from socialstream.simulators.base import (
    Fault,
    FaultPlan,
    Simulator,
    SimulatorServer,
    status_response,
    stream_lines,
)

__all__ = ["LineStreamSimulator", "corpus"]


def corpus(seed: int, count: int) -> Iterator[bytes]:
    """`count` deterministic JSON lines for `seed`: {"seq", "id", "text"}."""
    rng = random.Random(seed)
    words = ["cats", "dogs", "kafka", "stream", "avro", "news", "blog", "tweet", "sun", "rain"]
    for seq in range(count):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        yield json.dumps({"seq": seq, "id": f"{seed}-{seq}", "text": text}).encode()


class LineStreamSimulator(Simulator):
    """GET /stream?count=N&seed=S streams N lines; GET /ping answers JSON. Both need the token."""

    def __init__(
        self,
        token: str = "sim-token",  # noqa: S107 - a simulator's fixed test token
        plan: FaultPlan | None = None,
        corpus: Callable[[int, int], Iterator[bytes]] = corpus,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.plan = plan or FaultPlan()
        self.corpus = corpus
        app = Starlette(routes=[Route("/stream", self._stream), Route("/ping", self._ping)])
        self.server = SimulatorServer(app, host=host, port=port)

    def _admit(self, request: Request) -> tuple[Response | None, list[Fault]]:
        """Scripted status faults first, then the token: an error response, or None."""
        _, faults = self.plan.begin(request.url.path)
        fault = self.plan.status_fault(faults)
        if fault is not None:
            return status_response(fault), faults
        if request.query_params.get("access_token") != self.token:
            return JSONResponse(
                {"status_code": "7", "status_message": "invalid token"}, 401
            ), faults
        return None, faults

    async def _ping(self, request: Request) -> Response:
        denied, _ = self._admit(request)
        return denied or JSONResponse({"status_code": "0", "status_message": "OK"})

    async def _stream(self, request: Request) -> Response:
        denied, faults = self._admit(request)
        if denied is not None:
            return denied
        count = int(request.query_params.get("count", "10"))
        seed = int(request.query_params.get("seed", "1"))
        return StreamingResponse(
            stream_lines(self.corpus(seed, count), faults), media_type="application/x-ndjson"
        )
