"""A faithful Crimson Hexagon Monitor API on loopback, as the hexpy client calls it.

`GET /api/monitor/<endpoint>?auth=<token>&id=<monitor>&start=YYYY-MM-DD&end=YYYY-MM-DD`: start
inclusive, end exclusive, at most `max_range_days` a request. Daily endpoints return one entry a
day; the others aggregate over the range. Errors are `{"status": "error", "message": ...}`, with
HTTP 400 (bad parameters), 401 (bad token), 404 (no such monitor), 429 past `calls_per_minute`
(with Retry-After), and now and then a 200 whose body says error (hexpy checks for it too).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialstream.simulators.base import (
    CallWindow,
    FaultPlan,
    Simulator,
    SimulatorServer,
    status_response,
)
from socialstream.simulators.crimson_hexagon.data import (
    AGGREGATE,
    DAILY,
    MonitorData,
    aggregate,
    daily_list_field,
    days,
    iso,
    volume,
)

GROUPS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY")
SNAPSHOT = frozenset({"detail", "audit", "trainingposts"})


@dataclass
class Monitor:
    id: int
    name: str
    type: str = "BUZZ"  # or OPINION: only opinion monitors have training posts


@dataclass
class CallLog:
    """What a test reads back."""

    calls: list[tuple[float, str, int]] = field(default_factory=list)  # time, endpoint, status
    trained: list[dict[str, Any]] = field(default_factory=list)


def error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status, headers=headers)


class CrimsonHexagonSimulator(Simulator):
    """The monitors of one account."""

    def __init__(
        self,
        data: MonitorData | None = None,
        monitors: list[Monitor] | None = None,
        token: str = "ch-sim-token",  # noqa: S107 - the simulator's own token
        calls_per_minute: int = 120,
        window_s: float = 60.0,
        max_range_days: int = 31,
        plan: FaultPlan | None = None,
        delay_s: float = 0.0,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.data = data or MonitorData()
        self.monitors = {
            m.id: m
            for m in monitors or [Monitor(101, "Acme brand", "OPINION"), Monitor(102, "Rivals")]
        }
        self.token = token
        self.calls_per_minute = calls_per_minute
        self.window_s = window_s
        self.max_range_days = max_range_days
        self.plan = plan or FaultPlan()
        self.delay_s = delay_s  # answer every request this much later (a slow upstream)
        self.log = CallLog()
        self.lock = threading.Lock()
        self.rate = CallWindow(calls_per_minute, window_s)
        routes = [Route("/api/monitor/{endpoint:path}", self.handle, methods=["GET", "POST"])]
        self.server = SimulatorServer(Starlette(routes=routes), host=host, port=port)

    # --- what a window must contain (for tests) -------------------------------------------

    def expected(
        self,
        monitor: int,
        endpoint: str,
        start: date,
        end: date,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The body a successful call returns (without `status`)."""
        return self._body(monitor, endpoint, start, end, params or {})

    # --- the API ----------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"].strip("/")
        response = await self._handle(request, endpoint)
        with self.lock:
            self.log.calls.append((time.time(), endpoint, response.status_code))
        return response

    async def _handle(self, request: Request, endpoint: str) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        params = dict(request.query_params)
        if params.get("auth") != self.token:
            return error("Authentication failed: invalid or expired token", 401)
        wait = self.rate.over_limit()
        if wait is not None:
            return error(
                f"Rate limit of {self.calls_per_minute} calls a minute exceeded",
                429,
                {"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        _, faults = self.plan.begin(f"/api/monitor/{endpoint}")
        fault = self.plan.status_fault(faults)
        if fault is not None:
            return status_response(fault)
        if endpoint == "train":
            return await self._train(request)
        try:
            monitor_id = int(params.get("id", ""))
        except ValueError:
            return error("Parameter 'id' is required and must be a number", 400)
        monitor = self.monitors.get(monitor_id)
        if monitor is None:
            return error(f"Monitor {monitor_id} not found or not accessible", 404)
        if endpoint in SNAPSHOT:
            return self._snapshot(monitor, endpoint, params)
        if endpoint != "volume" and endpoint not in DAILY and endpoint not in AGGREGATE:
            return error(f"Unknown endpoint monitor/{endpoint}", 404)
        try:
            start = date.fromisoformat(params["start"])
            end = date.fromisoformat(params["end"])
        except (KeyError, ValueError):
            return error("Parameters 'start' and 'end' are required, as YYYY-MM-DD", 400)
        if end <= start:
            return error("The end date must be after the start date", 400)
        if (end - start).days > self.max_range_days:
            return error(f"The date range cannot exceed {self.max_range_days} days", 400)
        if endpoint == "volume" and params.get("groupBy", "DAILY").upper() not in GROUPS:
            return error("groupBy must be one of HOURLY, DAILY, WEEKLY, MONTHLY", 400)
        if endpoint == "geography/states" and not params.get("country"):
            return error("Parameter 'country' is required", 400)
        body = self._body(monitor_id, endpoint, start, end, params)
        return JSONResponse({**body, "status": "success"})

    def _body(
        self, monitor: int, endpoint: str, start: date, end: date, params: dict[str, str]
    ) -> dict[str, Any]:
        data = self.data
        # Only days the monitor has results for; the rest of the range is simply empty.
        first, last = max(start, data.results_start), min(end, data.results_end)
        if endpoint == "volume":
            if last <= first:
                return volume(data, monitor, first, first, params.get("groupBy", "DAILY").upper())
            return volume(data, monitor, first, last, params.get("groupBy", "DAILY").upper())
        if endpoint in DAILY:
            entries = [data.daily_entry(monitor, endpoint, d) for d in days(first, last)]
            return {daily_list_field(endpoint): entries}
        return aggregate(data, monitor, endpoint, start, end, params)

    def _snapshot(self, monitor: Monitor, endpoint: str, params: dict[str, str]) -> Response:
        data = self.data
        if endpoint == "detail":
            return JSONResponse(
                {
                    "id": monitor.id,
                    "name": monitor.name,
                    "description": f"{monitor.name} (simulated)",
                    "type": monitor.type,
                    "enabled": True,
                    "resultsStart": iso(data.results_start),
                    "resultsEnd": iso(data.results_end),
                    "keywords": 'acme OR "acme coffee"',
                    "languages": ["en", "fr"],
                    "sources": ["Twitter", "Blogs", "News"],
                    "timezone": "UTC",
                    "teamName": "Insights",
                    "tags": [],
                    "subfilters": [],
                    "categories": [
                        {"id": cid, "name": name, "hidden": False}
                        for cid, name in (
                            (1, "Basic Positive"),
                            (2, "Basic Neutral"),
                            (3, "Basic Negative"),
                        )
                    ],
                    "status": "success",
                }
            )
        if endpoint == "audit":
            events = [
                {
                    "event": "Monitor created",
                    "user": "analyst@example.com",
                    "eventDate": iso(data.results_start),
                },
                {
                    "event": "Keywords changed",
                    "user": "analyst@example.com",
                    "eventDate": iso(data.today - timedelta(30)),
                },
            ]
            return JSONResponse({"auditInfo": events[::-1], "status": "success"})
        if monitor.type != "OPINION":
            # hexpy checks the body too: the API answers 200 with an error status here.
            return JSONResponse(
                {"status": "error", "message": "Training posts exist only for opinion monitors"}
            )
        category = params.get("category")
        posts = [
            {
                "categoryId": cid,
                "categoryName": name,
                "url": f"https://example.com/t/{cid}/{n}",
                "date": iso(data.results_start),
                "author": "trainer",
                "contents": f"{name} sample {n}",
                "title": "",
                "type": "Blogs",
            }
            for cid, name in ((1, "Basic Positive"), (2, "Basic Neutral"), (3, "Basic Negative"))
            for n in range(2)
            if category is None or str(cid) == category
        ]
        return JSONResponse({"trainingPosts": posts, "status": "success"})

    async def _train(self, request: Request) -> Response:
        """Training upload: `{monitorID, categoryID, items: [...]}`, 1000 items at most."""
        try:
            body = await request.json()
            monitor = int(body["monitorID"])
            category = int(body["categoryID"])
            items = list(body["items"])
        except (ValueError, KeyError, TypeError):
            return error("Body must be {monitorID, categoryID, items}", 400)
        if len(items) > 1000:
            return error("At most 1000 training posts a request; use batches", 400)
        if monitor not in self.monitors or self.monitors[monitor].type != "OPINION":
            return error("Only opinion monitors can be trained", 400)
        with self.lock:
            self.log.trained.extend({"monitor": monitor, "category": category, **i} for i in items)
        return JSONResponse(
            {"message": f"{len(items)} training posts uploaded", "status": "success"}
        )
