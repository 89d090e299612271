"""A faithful `GET /sentiment/history` on loopback: buckets, cursors, credits and its errors.

As the vendor documents it: dates are RFC 3339 UTC; the start is aligned down to its bucket and
included, the bucket holding the end is never included; without a start, the last hour; never
more than 15 days back (older starts are clamped, not refused); `interval` in minutes or as
`<n><m|h|d|w|M|y>`, 1 minute to 10 years; `limit` 1 to 1000 (default 10); an opaque `cursor`
pages through the rest; every successful call costs 5 credits (`status.cost`). Errors have the
documented body (`error` + `status`), 500 only a `requestId`.

Buckets are aligned on multiples of the interval since the Unix epoch (a month is 30 days and a
year 365, as the documented maximum of 5,256,000 minutes for 10 years implies). Values are a pure
function of (seed, query, interval, bucket, revision), so a test can compute what a range holds;
`revise(since)` makes late data change every bucket that ends after `since`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialstream.runtime.lenient import epoch_ms
from socialstream.simulators.base import (
    CallWindow,
    FaultPlan,
    Simulator,
    SimulatorServer,
    status_response,
)
from socialstream.simulators.sentiment_history.series import (
    MINUTE_MS,
    SentimentSeries,
    query_key,
)

LOOKBACK_MS = 15 * 24 * 60 * MINUTE_MS
COST = 5
UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10_080, "M": 43_200, "y": 525_600}
MAX_INTERVAL = 10 * UNIT_MINUTES["y"]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)$")
DOMAIN = re.compile(r"^[a-z][0-9a-z.-]{0,100}\.[a-z]{2,4}$")
INTERVAL = re.compile(r"^(\d+)([mhdwMy]?)$")
_LANG_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu "
    "hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb "
    "lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om "
    "or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw "
    "ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)
LANGS = frozenset(re.findall(r"[a-z]{2}", _LANG_CODES))


class BadRequest(ValueError):
    pass


def parse_date(value: str, name: str) -> int:
    if not DATE.match(value):
        raise BadRequest(f"{name} must be an RFC 3339 UTC date-time, e.g. 1977-04-22T07:00:00.000Z")
    return epoch_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))


def parse_interval(value: str | None) -> int:
    """Minutes in an `interval` parameter (`90`, `15m`, `1h`, `1d`, `1w`, `1M`, `10y`)."""
    if value is None:
        return 60
    match = INTERVAL.match(value.strip())
    if match is None:
        raise BadRequest("interval must be minutes or <number><m|h|d|w|M|y>")
    minutes = int(match.group(1)) * UNIT_MINUTES[match.group(2) or "m"]
    if not 1 <= minutes <= MAX_INTERVAL:
        raise BadRequest("interval must be between 1 minute and 10 years")
    return minutes


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(state, dict) or not {"s", "e", "i", "q", "o"} <= state.keys():
            raise ValueError
        return state
    except (ValueError, TypeError):
        raise BadRequest("cursor is not valid") from None


@dataclass
class Deprecation:
    message: str = (
        "The version 1 of the API is deprecated and will be shut down the 2027-06-01 at "
        "00:00:00 UTC."
    )
    shutdown_date: str = "2027-06-01T00:00:00.000Z"


@dataclass
class Account:
    """What a test reads back and scripts: credits and the calls that spent them."""

    credits: int | None = None  # None: unlimited
    spent: int = 0
    pages: list[tuple[str, int, int]] = field(default_factory=list)  # query, offset, items


class SentimentHistorySimulator(Simulator):
    """One account of the sentiment-history API."""

    def __init__(
        self,
        series: SentimentSeries | None = None,
        token: str = "sh-sim-token",  # noqa: S107 - the simulator's own token
        credits: int | None = None,
        calls_per_minute: int = 600,
        window_s: float = 60.0,
        deprecation: Deprecation | None = None,
        clock: Callable[[], float] = time.time,
        plan: FaultPlan | None = None,
        delay_s: float = 0.0,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.series = series or SentimentSeries()
        self.token = token
        self.account = Account(credits=credits)
        self.calls_per_minute = calls_per_minute
        self.window_s = window_s
        self.deprecation = deprecation
        self.clock = clock
        self.plan = plan or FaultPlan()
        self.delay_s = delay_s  # answer every request this much later (a slow upstream)
        self.lock = threading.Lock()
        self.rate = CallWindow(calls_per_minute, window_s)
        routes = [Route("/sentiment/history", self.history)]
        self.server = SimulatorServer(Starlette(routes=routes), host=host, port=port)

    def bucket(self, params: dict[str, Any], start_ms: int) -> dict[str, Any]:
        """The item this API returns for the bucket at `start_ms` of the query `params` (the
        vendor's parameter names, as a client sends them): what a test compares with Kafka."""
        query = QueryParams(
            [
                (k, str(v))
                for k, value in params.items()
                for v in (value if isinstance(value, list) else [value])
            ]
        )
        filters = self._filters(query)
        return self.series.item(query_key(filters), parse_interval(query.get("interval")), start_ms)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _status(self, cost: int) -> dict[str, Any]:
        status: dict[str, Any] = {"cost": cost}
        if self.deprecation is not None:
            status["apiDeprecationNotice"] = {
                "message": self.deprecation.message,
                "shutdownDate": self.deprecation.shutdown_date,
            }
        return status

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        body = {
            "error": {
                "message": message,
                "code": status,
                "userId": "123e4567-e89b-12d3-a456-426655440000",
                "requestId": str(uuid.uuid4()),
            },
            "status": self._status(0),
        }
        return JSONResponse(body, status, headers=headers)

    async def history(self, request: Request) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        _, faults = self.plan.begin("/sentiment/history")
        fault = self.plan.status_fault(faults)
        if fault is not None:
            if fault.status == 500:
                return JSONResponse({"requestId": str(uuid.uuid4())}, 500)
            return status_response(fault)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(401, "Missing or invalid bearer token")
        version = request.headers.get("x-api-version", "v1")
        if version != "v1":
            return self._error(400, f"Unknown API version {version!r}; the only one is v1")
        wait = self.rate.over_limit()
        if wait is not None:
            return self._error(429, "Too many requests", {"Retry-After": str(round(wait + 0.5))})
        with self.lock:
            if self.account.credits is not None and self.account.credits < COST:
                return self._error(403, "Not enough credits left for this request")
        try:
            body = self._page(request)
        except BadRequest as exc:
            return self._error(400, str(exc))
        with self.lock:
            if self.account.credits is not None:
                self.account.credits -= COST
            self.account.spent += COST
        return JSONResponse(body)

    def _page(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        filters = self._filters(query)
        qkey = query_key(filters)
        limit_text = query.get("limit", "10")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise BadRequest("limit must be between 1 and 1000")
        limit = int(limit_text)
        cursor = query.get("cursor")
        if cursor:
            state = decode_cursor(cursor)
            if state["q"] != qkey:
                raise BadRequest("cursor does not belong to this query")
            start, end, interval, offset = state["s"], state["e"], state["i"], state["o"]
        else:
            interval = parse_interval(query.get("interval"))
            now = self.now_ms()
            start = parse_date(query["startDate"], "startDate") if "startDate" in query else None
            end = parse_date(query["endDate"], "endDate") if "endDate" in query else now
            if start is None:
                start = end - 60 * MINUTE_MS
            if end <= start:
                raise BadRequest("endDate must be greater than startDate")
            start = max(start, now - LOOKBACK_MS)  # the API never goes further back
            step = interval * MINUTE_MS
            start -= start % step  # the bucket holding the start is included
            end -= end % step  # the bucket holding the end is not
            end = min(end, now - now % step)  # nor is the bucket still being filled
            offset = 0
        step = interval * MINUTE_MS
        total = max(0, (end - start) // step)
        count = max(0, min(limit, total - offset))
        items = [
            self.series.item(qkey, interval, start + (offset + n) * step) for n in range(count)
        ]
        state = {"s": start, "e": end, "i": interval, "q": qkey}
        pagination = {"self": encode_cursor({**state, "o": offset})}
        if offset > 0:
            pagination["prev"] = encode_cursor({**state, "o": max(0, offset - limit)})
        if offset + count < total:
            pagination["next"] = encode_cursor({**state, "o": offset + count})
        with self.lock:
            self.account.pages.append((qkey, offset, count))
        return {
            "items": items,
            "requestedInterval": interval,
            "pagination": pagination,
            "status": self._status(COST),
        }

    @staticmethod
    def _filters(query: Any) -> dict[str, Any]:
        """The parameters that choose the series, validated as documented."""
        filters: dict[str, Any] = {}
        for name in ("categoryId", "topicId"):
            if name in query:
                value = query[name]
                if not value.isdigit() or not 1 <= int(value) <= 2_147_483_647:
                    raise BadRequest(f"{name} must be between 1 and 2147483647")
                filters[name] = int(value)
        if "sourceType" in query:
            if query["sourceType"] not in ("news", "social"):
                raise BadRequest("sourceType must be news or social")
            filters["sourceType"] = query["sourceType"]
        if "domain" in query:
            if not DOMAIN.match(query["domain"]):
                raise BadRequest("domain is not a domain name")
            filters["domain"] = query["domain"]
        if "lang" in query:
            if query["lang"] not in LANGS:
                raise BadRequest("lang must be an ISO 639-1 language tag")
            filters["lang"] = query["lang"]
        keywords = [k for value in query.getlist("keywords") for k in value.split(",") if k]
        if keywords:
            if len(keywords) > 5:
                raise BadRequest("keywords takes 1 to 5 keywords")
            filters["keywords"] = sorted(k.lower() for k in keywords)
            condition = query.get("keywordsCondition", "and")
            if condition not in ("and", "or"):
                raise BadRequest("keywordsCondition must be and or or")
            filters["keywordsCondition"] = condition
        if "interval" in query:
            filters["interval"] = parse_interval(query["interval"])
        return filters
