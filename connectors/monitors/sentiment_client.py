"""The sentiment-history API client: one page a call, its cost, and its errors made clear.

Every call costs 5 credits (`status.cost` says what it really cost). Errors carry the vendor's
message; 401 and 403 stop the poller (nothing retrying can fix), 400 is a bad query (dead-letter
it and say which), 429 / 500 / 503 are retried with Retry-After or backoff by the transport.
Items are validated one by one, so one bad bucket does not cost the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import ValidationError

from socialstream.connectors.monitors.sentiment_models import (
    DeprecationNotice,
    SentimentErrorBody,
    SentimentItem,
    Status,
)
from socialstream.runtime.httpclient import RetryPolicy, UpstreamError, make_client
from socialstream.runtime.lenient import LenientParseError, loads, to_count
from socialstream.runtime.ratelimit import SlidingWindowLimiter
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import SentimentSettings

log = logging.getLogger(__name__)

COST_A_CALL = 5
PATH = "/sentiment/history"


class SentimentAPIError(UpstreamError):
    """The API refused a call; `code` is the vendor's error code."""

    def __init__(self, message: str, status: int, code: int | None = None) -> None:
        super().__init__(message, status=status)
        self.code = code


class SentimentAccessError(SentimentAPIError):
    """401 or 403: the token is refused, the account may not use the API, or credits are out."""


@dataclass
class Page:
    items: list[SentimentItem]
    invalid: list[tuple[bytes, str]]  # raw item, reason
    interval: int | None
    next_cursor: str | None
    cost: int
    deprecation: DeprecationNotice | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def rfc3339(ms: int) -> str:
    """The date format the API takes: UTC with milliseconds and `Z`."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


class SentimentClient:
    """One session against GET /sentiment/history."""

    def __init__(
        self,
        settings: SentimentSettings,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if settings.token is None:
            raise ValueError("the sentiment API needs a token (SOCIALSTREAM_SENTIMENT__TOKEN)")
        token = settings.token.get_secret_value()
        self.calls = 0
        self._http = make_client(
            settings.base_url.rstrip("/"),
            rate_limit=SlidingWindowLimiter(settings.calls_per_minute, 60.0),
            retry=retry or RetryPolicy(max_attempts=6, backoff_max_s=60.0),
            headers={"Authorization": f"Bearer {token}", "X-Api-Version": settings.api_version},
            secret_values=[token],
            ca_file=settings.ca_file,
            inner=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def page(
        self,
        query: dict[str, Any],
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        params: dict[str, Any] = {**query, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        else:
            if start_ms is not None:
                params["startDate"] = rfc3339(start_ms)
            if end_ms is not None:
                params["endDate"] = rfc3339(end_ms)
        self.calls += 1
        response = self._http.get(PATH, params=params)
        try:
            body, _ = loads(response.content) if response.content else ({}, False)
        except LenientParseError:
            body = {}
        if not response.is_success:
            raise self._error(response, body)
        if not isinstance(body, dict):
            raise SentimentAPIError("the response is not a JSON object", response.status_code)
        return self._parse(body)

    @staticmethod
    def _error(response: httpx.Response, body: Any) -> SentimentAPIError:
        status = response.status_code
        message, code = response.reason_phrase, None
        if isinstance(body, dict):
            parsed = SentimentErrorBody.model_validate(body)
            if parsed.error is not None:
                message = parsed.error.message or message
                code = parsed.error.code
            elif parsed.request_id:
                message = f"{message} (requestId {parsed.request_id})"
        text = f"GET {PATH}: HTTP {status}: {redact_text(message or '')[:300]}"
        if status in (401, 403):
            return SentimentAccessError(text, status, code)
        return SentimentAPIError(text, status, code)

    @staticmethod
    def _parse(body: dict[str, Any]) -> Page:
        items: list[SentimentItem] = []
        invalid: list[tuple[bytes, str]] = []
        raw_items = body.get("items")
        for raw in raw_items if isinstance(raw_items, list) else []:
            try:
                items.append(SentimentItem.model_validate(raw))
            except (ValidationError, ValueError, TypeError) as exc:
                reason = f"invalid bucket: {str(exc).splitlines()[0][:300]}"
                invalid.append((str(raw).encode(), reason))
        try:
            status = Status.model_validate(body.get("status") or {})
        except ValidationError as exc:  # a broken status must not cost the page's buckets
            log.warning("unreadable status in a sentiment page, ignored: %s", _first_line(exc))
            status = Status()
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        assert isinstance(pagination, dict)
        next_cursor = pagination.get("next") or None
        return Page(
            items=items,
            invalid=invalid,
            interval=to_count(body.get("requestedInterval")),
            next_cursor=str(next_cursor) if next_cursor else None,
            cost=status.cost if status.cost is not None else COST_A_CALL,
            deprecation=status.api_deprecation_notice,
            raw=body,
        )


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
