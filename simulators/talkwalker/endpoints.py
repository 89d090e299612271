"""The Talkwalker simulator's REST endpoints beside the stream: documents and stream management.

Documents: `POST /api/v2/docs/p/<project>/<operation>` (one document) and
`POST /api/v2/docs/p/<project>` (bulk: a JSON array of `{operation: document}`), answering HTTP
200 with a result an operation and status code 49 when some failed; a body over 5120 kB is
refused with 413 (and counted: the simulator's promise that no client ever sent one). The vendor
documents no call limit for it; `docs_calls_per_window` sets one (HTTP 401, code 8, past it).

Management: streams (`PUT/GET/DELETE /api/v2/stream/s/<id>`, `GET /api/v2/stream/info`), rules
(`/s/<id>/r/<rule>`), quotas (`/s/<id>/quota`, `POST .../quota/reset`), `POST /s/<id>/enable`
and `/disable`, and a project's resources (`GET /api/v2/talkwalker/p/<project>/resources`),
each limited to 20 calls a minute as the vendor documents (HTTP 401, code 8, past it).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialstream.simulators.base import CallWindow, FaultPlan, status_response
from socialstream.simulators.talkwalker.documents import DocumentStore, bulk_operations
from socialstream.simulators.talkwalker.management import (
    ManagementError,
    Resource,
    StreamRegistry,
    parse_quota,
)

MAX_REQUEST_BYTES = 5120 * 1024
DOCS_PATH = "/api/v2/docs/p"
STREAM_PATH = "/api/v2/stream"
DEFAULT_RESOURCES = (
    Resource("search|1", "Brand", "search"),
    Resource("search|1|1", "Brand mentions", "search"),
    Resource("search|1|2", "Competitors", "search"),
    Resource("filter|1", "English only", "filter"),
    Resource("page|1", "Brand pages", "page"),
    Resource("panel|1", "News sources", "panel"),
    Resource("savedobject|1", "Dashboard", "savedobject", "myapp"),
)


class Account(Protocol):
    """What the endpoints need from the simulator they belong to."""

    token: str
    project_id: str
    lock: threading.Lock
    plan: FaultPlan
    registry: StreamRegistry
    documents: DocumentStore


def body(request: Request, code: str = "0", message: str = "OK", **extra: Any) -> dict[str, Any]:
    return {
        "status_code": code,
        "status_message": message,
        "request": f"{request.method} {request.url.path}",
        **extra,
    }


def _error(request: Request, error: ManagementError) -> JSONResponse:
    return JSONResponse(body(request, error.code, error.message, **error.details), error.http)


def _denied(account: Account, request: Request, window: CallWindow | None) -> Response | None:
    if request.query_params.get("access_token") != account.token:
        return _error(
            request, ManagementError(401, "7", "Invalid, missing or inactive access token")
        )
    if window is not None and window.over_limit() is not None:
        return _error(request, ManagementError(401, "8", "Call limit exceeded for this endpoint"))
    return None


@dataclass
class DocumentsEndpoint:
    """Single and bulk document operations on the account's project."""

    account: Account
    max_request_bytes: int = MAX_REQUEST_BYTES
    calls_per_window: int | None = None
    window_s: float = 60.0
    delay_s: float = 0.0  # every request takes this long (a slow API, for backpressure)
    requests: int = 0
    largest_request: int = 0
    oversize_requests: int = 0
    request_sizes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._window = (
            CallWindow(self.calls_per_window, self.window_s) if self.calls_per_window else None
        )

    def routes(self) -> list[Route]:
        return [
            Route(DOCS_PATH + "/{project}", self.bulk, methods=["POST"]),
            Route(DOCS_PATH + "/{project}/{operation}", self.single, methods=["POST"]),
        ]

    async def _admit(self, request: Request) -> tuple[Any, Response | None]:
        """(the parsed JSON body, None) or (None, the error response)."""
        account = self.account
        denied = _denied(account, request, self._window)
        if denied is not None:
            return None, denied
        _, faults = account.plan.begin(request.url.path)
        fault = account.plan.status_fault(faults)
        if fault is not None:
            return None, status_response(fault)
        if request.path_params["project"] != account.project_id:
            return None, _error(
                request, ManagementError(404, "38", "Cannot find a project with this id")
            )
        raw = await request.body()
        with account.lock:
            self.requests += 1
            self.request_sizes.append(len(raw))
            self.largest_request = max(self.largest_request, len(raw))
            if len(raw) > self.max_request_bytes:
                self.oversize_requests += 1
        if len(raw) > self.max_request_bytes:
            return None, _error(
                request,
                ManagementError(
                    413,
                    "39",
                    "Request entity too large",
                    details=f"{len(raw)} bytes; the maximum is 5120kb",
                ),
            )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        try:
            return json.loads(raw), None
        except (ValueError, UnicodeDecodeError):
            return None, _error(request, ManagementError(400, "17", "Could not parse json"))

    async def single(self, request: Request) -> Response:
        payload, denied = await self._admit(request)
        if denied is not None:
            return denied
        result = self.account.documents.apply(request.path_params["operation"], payload)
        if result.code == "0":
            return JSONResponse(body(request, result_docs={"data": [result.as_json()]}))
        http = 400 if result.code in ("3", "16", "17") else 500
        return JSONResponse(
            body(request, result.code, "Invalid operation on document", reason=result.reason),
            http,
        )

    async def bulk(self, request: Request) -> Response:
        payload, denied = await self._admit(request)
        if denied is not None:
            return denied
        operations = bulk_operations(payload)
        if isinstance(operations, str):
            return _error(
                request, ManagementError(400, "17", "Could not parse json", details=operations)
            )
        results = [self.account.documents.apply(op, doc) for op, doc in operations]
        data: dict[str, Any] = {"result_bulk": {"data": [r.as_json() for r in results]}}
        if any(r.code != "0" for r in results):
            return JSONResponse(
                body(request, "49", "Some or all requests of this bulk request failed", **data)
            )
        return JSONResponse(body(request, **data))


@dataclass
class ManagementEndpoints:
    """Streams, rules, quotas, enable/disable and resources, 20 calls a minute each."""

    account: Account
    calls_per_window: int = 20
    window_s: float = 60.0
    calls: int = 0
    rate_limited: int = 0  # calls refused with code 8

    def __post_init__(self) -> None:
        self._windows: dict[str, CallWindow] = {}

    def routes(self) -> list[Route]:
        s = STREAM_PATH + "/s/{stream}"
        return [
            Route(STREAM_PATH + "/info", self._handler("info", self.info), methods=["GET"]),
            Route(s, self._handler("stream", self.stream), methods=["GET", "PUT", "DELETE"]),
            Route(
                s + "/r/{rule}", self._handler("rule", self.rule), methods=["GET", "PUT", "DELETE"]
            ),
            Route(
                s + "/quota", self._handler("quota", self.quota), methods=["GET", "PUT", "DELETE"]
            ),
            Route(s + "/quota/reset", self._handler("quota", self.quota_reset), methods=["POST"]),
            Route(s + "/enable", self._handler("enable", self.enable), methods=["POST"]),
            Route(s + "/disable", self._handler("enable", self.enable), methods=["POST"]),
            Route(
                "/api/v2/talkwalker/p/{project}/resources",
                self._handler("resources", self.resources),
                methods=["GET"],
            ),
        ]

    def _handler(self, endpoint: str, handle: Any) -> Any:
        window = self._windows.setdefault(
            endpoint, CallWindow(self.calls_per_window, self.window_s)
        )

        async def serve(request: Request) -> Response:
            denied = _denied(self.account, request, None)
            if denied is not None:
                return denied
            if window.over_limit() is not None:
                self.rate_limited += 1
                return _error(
                    request, ManagementError(401, "8", "Call limit exceeded for this endpoint")
                )
            _, faults = self.account.plan.begin(request.url.path)
            fault = self.account.plan.status_fault(faults)
            if fault is not None:
                return status_response(fault)
            payload: Any = None
            if request.method in ("PUT", "POST"):
                raw = await request.body()
                if raw.strip():
                    try:
                        payload = json.loads(raw)
                    except ValueError:
                        return _error(request, ManagementError(400, "17", "Could not parse json"))
            try:
                with self.account.lock:
                    self.calls += 1
                    return JSONResponse(body(request, **handle(request, payload)))
            except ManagementError as exc:
                return _error(request, exc)

        return serve

    @property
    def registry(self) -> StreamRegistry:
        return self.account.registry

    def info(self, request: Request, _payload: Any) -> dict[str, Any]:
        names = [{"name": s} for s in self.registry.streams]
        return {"result_streaminfo": {"data": names}}

    def stream(self, request: Request, payload: Any) -> dict[str, Any]:
        stream_id = request.path_params["stream"]
        if request.method == "PUT":
            stream = self.registry.create(stream_id, payload)
        elif request.method == "DELETE":
            stream = self.registry.get(stream_id)
            del self.registry.streams[stream_id]
        else:
            stream = self.registry.get(stream_id)
        return {"result_stream": {"data": [stream.as_json()]}}

    def rule(self, request: Request, payload: Any) -> dict[str, Any]:
        stream_id, rule_id = request.path_params["stream"], request.path_params["rule"]
        if request.method == "PUT":
            self.registry.put_rule(stream_id, rule_id, payload)
            query = self.registry.rule(stream_id, rule_id)
        elif request.method == "DELETE":
            query = self.registry.delete_rule(stream_id, rule_id)
        else:
            query = self.registry.rule(stream_id, rule_id)
        rules = [{"rule_id": rule_id, "query": query}]
        return {"result_stream": {"data": [{"stream_id": stream_id, "rules": rules}]}}

    def quota(self, request: Request, payload: Any) -> dict[str, Any]:
        stream = self.registry.get(request.path_params["stream"])
        if request.method == "PUT":
            usage = stream.quota.usage if stream.quota is not None else 0
            stream.quota = parse_quota(payload)
            stream.quota.usage = usage
        elif request.method == "DELETE":
            stream.quota = None
        return self._quota_answer(stream.stream_id)

    def quota_reset(self, request: Request, _payload: Any) -> dict[str, Any]:
        stream = self.registry.get(request.path_params["stream"])
        if stream.quota is not None:
            stream.quota.usage = 0
        return self._quota_answer(stream.stream_id)

    def _quota_answer(self, stream_id: str) -> dict[str, Any]:
        quota = self.registry.streams[stream_id].quota
        entry: dict[str, Any] = {"stream_id": stream_id}
        if quota is not None:
            entry["quota"] = quota.as_json(datetime.now(UTC))
        return {"result_stream": {"data": [entry]}}

    def enable(self, request: Request, _payload: Any) -> dict[str, Any]:
        stream = self.registry.get(request.path_params["stream"])
        stream.enabled = request.url.path.endswith("/enable")
        return {"result_stream": {"data": [stream.as_json()]}}

    def resources(self, request: Request, _payload: Any) -> dict[str, Any]:
        if request.path_params["project"] != self.account.project_id:
            raise ManagementError(404, "38", "Cannot find a project with this id")
        kind = request.query_params.get("type") or None
        found = self.registry.resources_of(kind, request.query_params.get("object_type") or None)
        topics = [{"id": r.id, "title": r.title, "type": r.type} for r in found]
        project = {"id": self.account.project_id, "title": "Simulated project", "topics": topics}
        return {"result_resources": {"projects": [project]}}
