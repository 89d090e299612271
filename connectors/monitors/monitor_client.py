"""The Crimson Hexagon Monitor API client: hexpy's calls, with limits, retries and redaction.

The token travels as the `auth` query parameter (as hexpy sends it), so it is registered for
redaction before the first request. Calls pass a strict sliding window of `calls_per_minute`
(120 by default, hexpy's limit); a 429 or 5xx is retried after Retry-After or a backoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from types import TracebackType
from typing import Any, Self, TypeGuard

import httpx

from socialstream.connectors.monitors.endpoints import ENDPOINTS, Endpoint
from socialstream.connectors.monitors.monitor_models import Envelope
from socialstream.runtime.httpclient import RetryPolicy, UpstreamError, make_client
from socialstream.runtime.lenient import LenientParseError, loads
from socialstream.runtime.ratelimit import SlidingWindowLimiter
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import MonitorJob, MonitorsSettings

AGGREGATE_METRICS = (
    "volume",
    "word_cloud",
    "top_sources",
    "interest_affinities",
    "sentiment_and_categories",
)
TRAIN_BATCH = 1000


def _is_pair(
    dates: tuple[str, str] | Sequence[tuple[str, str]],
) -> TypeGuard[tuple[str, str]]:
    return len(dates) == 2 and all(isinstance(d, str) for d in dates)


class MonitorAPIError(UpstreamError):
    """The API refused a call; `permanent` when asking again cannot help."""

    def __init__(self, message: str, status: int, permanent: bool) -> None:
        super().__init__(message, status=status)
        self.permanent = permanent


class MonitorAuthError(MonitorAPIError):
    """The token was refused: nothing will work until it is fixed."""


class MonitorClient:
    """One session against the Monitor API."""

    def __init__(
        self,
        settings: MonitorsSettings,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if settings.token is None:
            raise ValueError("the Monitor API needs a token (SOCIALSTREAM_MONITORS__TOKEN)")
        self._token = settings.token.get_secret_value()
        self.calls = 0
        self.limiter = SlidingWindowLimiter(settings.calls_per_minute, 60.0)
        self._http = make_client(
            settings.base_url.rstrip("/") + "/",
            rate_limit=self.limiter,
            retry=retry or RetryPolicy(max_attempts=6, backoff_max_s=60.0),
            secret_values=[self._token],
            ca_file=settings.ca_file,
            inner=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, params: dict[str, Any], json: Any = None
    ) -> dict[str, Any]:
        """One call; the body as a dict, or `MonitorAPIError` with the vendor's message."""
        self.calls += 1
        query = {k: v for k, v in params.items() if v is not None}
        query["auth"] = self._token
        response = self._http.request(method, path, params=query, json=json)
        try:
            body, _ = loads(response.content) if response.content else ({}, False)
        except LenientParseError:
            body = {}
        message = self._message(body) or response.reason_phrase
        where = f"{method} {path}"
        if response.status_code == 401:
            raise MonitorAuthError(
                f"{where}: token refused (HTTP 401): {message}", 401, permanent=True
            )
        if not response.is_success:
            permanent = response.status_code < 500 and response.status_code != 429
            raise MonitorAPIError(
                f"{where}: HTTP {response.status_code}: {message}",
                response.status_code,
                permanent,
            )
        if not isinstance(body, dict):
            raise MonitorAPIError(f"{where}: the body is not a JSON object", 200, permanent=True)
        if str(body.get("status", "")).lower() == "error":
            raise MonitorAPIError(f"{where}: the API said error: {message}", 200, permanent=True)
        return body

    @staticmethod
    def _message(body: Any) -> str:
        if isinstance(body, dict):
            envelope = Envelope.model_validate(body)
            return redact_text(envelope.message or "")[:300]
        return ""

    # --- metrics ------------------------------------------------------------------------------

    def fetch(
        self,
        endpoint: Endpoint,
        monitor_id: int,
        start: date | None = None,
        end: date | None = None,
        job: MonitorJob | None = None,
    ) -> dict[str, Any]:
        """One metric of one monitor for [start, end) (no dates for a snapshot endpoint)."""
        params: dict[str, Any] = {"id": monitor_id}
        if endpoint.shape.value != "snapshot":
            assert start is not None and end is not None
            params.update(start=start.isoformat(), end=end.isoformat())
        if endpoint.metric == "volume" and job is not None:
            params["groupBy"] = job.group_by
        if endpoint.country and job is not None:
            params["country"] = job.country
        return self.request("GET", endpoint.path, params)

    def details(self, monitor_id: int) -> dict[str, Any]:
        return self.fetch(ENDPOINTS["details"], monitor_id)

    def aggregate(
        self,
        monitor_ids: int | Sequence[int],
        dates: tuple[str, str] | Sequence[tuple[str, str]],
        metrics: str | Sequence[str],
    ) -> list[dict[str, Any]]:
        """hexpy's `aggregate`: several metrics for several monitors and date pairs, composed."""
        ids = [monitor_ids] if isinstance(monitor_ids, int) else list(monitor_ids)
        pairs = [dates] if _is_pair(dates) else list(dates)
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in names if m not in AGGREGATE_METRICS]
        if unknown:
            raise ValueError(f"valid metrics are {', '.join(AGGREGATE_METRICS)}; not {unknown}")
        return [
            {
                "monitor_id": monitor_id,
                "results": [
                    {
                        "resultsStart": start,
                        "resultsEnd": end,
                        "results": {
                            name: self.fetch(
                                ENDPOINTS[name],
                                monitor_id,
                                date.fromisoformat(start),
                                date.fromisoformat(end),
                            )
                            for name in names
                        },
                    }
                    for start, end in pairs
                ],
            }
            for monitor_id in ids
        ]

    # --- training -----------------------------------------------------------------------------

    def train(self, monitor_id: int, category_id: int, items: list[dict[str, Any]]) -> str:
        """Upload up to 1000 training posts of one category."""
        if len(items) > TRAIN_BATCH:
            raise ValueError(f"at most {TRAIN_BATCH} posts a call; use batch_train")
        body = self.request(
            "POST",
            "monitor/train",
            {},
            json={"monitorID": monitor_id, "categoryID": category_id, "items": items},
        )
        return str(body.get("message", ""))

    def batch_train(
        self, monitor_id: int, category_id: int, items: Iterable[dict[str, Any]]
    ) -> list[str]:
        """Upload any number of training posts, 1000 a call."""
        batch: list[dict[str, Any]] = []
        results = []
        for item in items:
            batch.append(item)
            if len(batch) == TRAIN_BATCH:
                results.append(self.train(monitor_id, category_id, batch))
                batch = []
        if batch:
            results.append(self.train(monitor_id, category_id, batch))
        return results
