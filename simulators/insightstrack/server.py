"""A faithful InsightsTrack on loopback: the event stream and the rules API, with faults.

Stream: bearer token, one JSON event a line, a newline keep-alive every `keepalive_s` when idle
(and now and then between events), no resume parameter; a new connection picks up where the
stream is now, resending the last `replay_on_reconnect` events (which a client must not publish
twice). Rules: GET, POST and POST `?_method=delete`, `from:<user id>` rules only, at most 1000 a
request, `rules_per_window` requests a window across the rules API (429 past it), one request at a
time (a concurrent one is rejected), 422 failing the whole batch with a reason per rule.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

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
from socialstream.simulators.insightstrack.events import EventScript, twitter_time

STREAM_PATH = "/stream/insightstrack/accounts/{account}/publishers/twitter/{label}.json"
RULES_PATH = "/rules/insightstrack/accounts/{account}/publishers/twitter/{label}.json"
RULE = re.compile(r"^from:(\d{1,19})$")
MAX_RULES_A_REQUEST = 1000


@dataclass
class StreamState:
    """What a test reads back: what was delivered, and the rules API's view."""

    cursor: int = 0
    connections: int = 0
    delivered: list[str] = field(default_factory=list)  # identities, in delivery order
    rules: set[str] = field(default_factory=set)
    rule_calls: list[tuple[float, str, int, int]] = field(default_factory=list)  # t, op, n, status
    concurrent_rejected: int = 0
    rate_limited: int = 0


class InsightsTrackSimulator(Simulator):
    """One account and stream label."""

    def __init__(
        self,
        script: EventScript,
        token: str = "it-sim-token",  # noqa: S107 - the simulator's own token
        plan: FaultPlan | None = None,
        keepalive_s: float = 3.0,
        keepalive_every: int = 500,
        replay_on_reconnect: int = 50,
        rules_per_window: int = 60,
        window_s: float = 60.0,
        invalid_user_ids: set[int] | None = None,
        rule_processing_s: float = 0.01,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.script = script
        self.token = token
        self.plan = plan or FaultPlan()
        self.keepalive_s = keepalive_s
        self.keepalive_every = keepalive_every
        self.replay_on_reconnect = replay_on_reconnect
        self.rules_per_window = rules_per_window
        self.window_s = window_s
        self.invalid_user_ids = invalid_user_ids or set()
        self.rule_processing_s = rule_processing_s
        self.state = StreamState(rules={f"from:{u}" for u in script.users})
        self.lock = threading.Lock()
        self._rule_times: deque[float] = deque()
        self._rule_busy = False
        routes = [
            Route(STREAM_PATH, self.stream),
            Route(RULES_PATH, self.rules, methods=["GET", "POST"]),
        ]
        self.server = SimulatorServer(Starlette(routes=routes), host=host, port=port)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    # --- the stream ------------------------------------------------------------------------

    async def stream(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Unauthorized"}}, 401)
        _, faults = self.plan.begin("/stream")
        fault = self.plan.status_fault(faults)
        if fault is not None:
            return status_response(fault)
        with self.lock:
            first = self.state.connections == 0
            self.state.connections += 1
            start = (
                self.state.cursor if first else max(0, self.state.cursor - self.replay_on_reconnect)
            )
        return StreamingResponse(
            stream_lines(self._events(request, start), faults),
            media_type="application/json",
        )

    async def _events(self, request: Request, start: int) -> AsyncIterator[bytes]:
        n = start
        sent = 0
        while n < self.script.count:
            kind, identity, line = self.script.event(n)
            yield line
            with self.lock:
                self.state.delivered.append(identity)
                self.state.cursor = max(self.state.cursor, n + 1)
                if kind == "user_event" and self.script.revoke_user is not None:
                    self.state.rules.discard(f"from:{self.script.revoke_user}")
            n += 1
            sent += 1
            if sent % self.keepalive_every == 0:
                yield b""  # a keep-alive between events
            if sent % 128 == 0:
                await asyncio.sleep(0)
                if await request.is_disconnected():
                    return
        while True:  # idle: a newline every keepalive_s
            await asyncio.sleep(self.keepalive_s)
            if await request.is_disconnected():
                return
            yield b""

    # --- the rules API ---------------------------------------------------------------------

    def _record(self, op: str, n: int, status: int) -> None:
        self.state.rule_calls.append((time.time(), op, n, status))

    async def rules(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Unauthorized"}}, 401)
        op = (
            "GET"
            if request.method == "GET"
            else ("DELETE" if request.query_params.get("_method") == "delete" else "POST")
        )
        now = time.monotonic()
        with self.lock:
            while self._rule_times and now - self._rule_times[0] >= self.window_s:
                self._rule_times.popleft()
            if len(self._rule_times) >= self.rules_per_window:
                self.state.rate_limited += 1
                self._record(op, 0, 429)
                return JSONResponse(
                    {
                        "error": {
                            "message": "Exceeded rate limit",
                            "sent": twitter_time(time.time()),
                        }
                    },
                    429,
                )
            self._rule_times.append(now)
            if self._rule_busy:
                self.state.concurrent_rejected += 1
                self._record(op, 0, 429)
                return JSONResponse(
                    {"error": {"message": "Another rule request is in progress"}}, 429
                )
            self._rule_busy = True
        try:
            _, faults = self.plan.begin("/rules")
            fault = self.plan.status_fault(faults)
            if fault is not None:
                self._record(op, 0, fault.status)
                return status_response(fault)
            await asyncio.sleep(self.rule_processing_s)
            if op == "GET":
                with self.lock:
                    rules = [{"value": v} for v in sorted(self.state.rules)]
                self._record(op, 0, 200)
                return JSONResponse({"rules": rules, "sent": twitter_time(time.time())})
            return await self._change(request, op)
        finally:
            with self.lock:
                self._rule_busy = False

    async def _change(self, request: Request, op: str) -> Response:
        try:
            body = await request.json()
            values = [str(rule["value"]) for rule in body["rules"]]
        except (ValueError, KeyError, TypeError):
            self._record(op, 0, 400)
            return JSONResponse(
                {
                    "error": {
                        "message": "Invalid JSON. The body must be in the format "
                        '{"rules":[{"value":"rule1"}, {"value":"rule2"}]}'
                    }
                },
                400,
            )
        if len(values) > MAX_RULES_A_REQUEST:
            self._record(op, len(values), 400)
            return JSONResponse({"error": {"message": "More than 1000 rules in one request"}}, 400)
        sent = twitter_time(time.time())
        if op == "DELETE":
            with self.lock:
                details = [{"rule": {"value": v}, "deleted": v in self.state.rules} for v in values]
                for v in values:
                    self.state.rules.discard(v)
            deleted = sum(1 for d in details if d["deleted"])
            self._record(op, len(values), 200)
            return JSONResponse(
                {
                    "summary": {"deleted": deleted, "not_deleted": len(values) - deleted},
                    "details": details,
                    "sent": sent,
                }
            )
        invalid = {v: self._invalid_reason(v) for v in values}
        invalid = {v: reason for v, reason in invalid.items() if reason}
        if invalid:  # the whole batch fails; each invalid rule says why
            failed: list[dict[str, Any]] = [
                {
                    "rule": {"value": v},
                    "created": False,
                    **({"message": invalid[v]} if v in invalid else {}),
                }
                for v in values
            ]
            self._record(op, len(values), 422)
            return JSONResponse(
                {
                    "summary": {"created": 0, "not_created": len(values)},
                    "details": failed,
                    "sent": sent,
                },
                422,
            )
        with self.lock:
            self.state.rules.update(values)
        self._record(op, len(values), 201)
        return JSONResponse(
            {
                "summary": {"created": len(values), "not_created": 0},
                "details": [{"rule": {"value": v}, "created": True} for v in values],
                "sent": sent,
            },
            201,
        )

    def _invalid_reason(self, value: str) -> str | None:
        match = RULE.match(value)
        if match is None or int(match.group(1)) >= 2**63:
            return "Rule is not a Twitter User ID"
        if int(match.group(1)) in self.invalid_user_ids:
            return "Rule is not a Twitter User ID"
        return None
