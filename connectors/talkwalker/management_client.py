"""Talkwalker's stream management API: streams, rules, quotas, enable/disable, project resources.

Every endpoint is limited by the vendor to 20 calls a minute; the client keeps a sliding window
per endpoint so it never hits the limit, and if it does anyway (another client on the account)
it waits and tries again. Errors carry the vendor's code and its meaning in words.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from socialstream.connectors.talkwalker.errors import lookup
from socialstream.runtime.httpclient import RetryPolicy, UpstreamError, make_client
from socialstream.runtime.lenient import loads
from socialstream.runtime.ratelimit import SlidingWindowLimiter
from socialstream.runtime.settings import TalkwalkerSettings

log = logging.getLogger(__name__)


class ManagementError(Exception):
    """A management call failed: the vendor's code, its meaning, and the details it gave."""

    def __init__(self, message: str, code: str | None = None, http: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http = http


@dataclass
class StreamState:
    stream_id: str
    rules: dict[str, str]
    enabled: bool | None  # None: the answer did not say


def _stream(data: Any, stream_id: str) -> StreamState:
    entry = data[0] if isinstance(data, list) and data else {}
    rules = {
        str(r.get("rule_id")): str(r.get("query"))
        for r in entry.get("rules") or []
        if isinstance(r, dict) and r.get("rule_id") is not None
    }
    enabled = entry.get("enabled")
    return StreamState(
        str(entry.get("stream_id") or stream_id),
        rules,
        enabled if isinstance(enabled, bool) else None,
    )


class ManagementClient:
    """Rate-limited calls to `/api/v2/stream/...` and `/api/v2/talkwalker/p/<id>/resources`."""

    def __init__(
        self,
        settings: TalkwalkerSettings,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 6,
    ) -> None:
        if settings.access_token is None:
            raise ManagementError("set SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN")
        token = settings.access_token.get_secret_value()
        self._settings = settings
        self._params = {"access_token": token}
        self._client = make_client(
            settings.base_url,
            retry=RetryPolicy(max_attempts=1),  # every attempt must pass the limiter
            secret_values=[token],
            ca_file=settings.ca_file,
            inner=transport,
        )
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._max_attempts = max_attempts
        self.calls = 0

    def close(self) -> None:
        self._client.close()

    def _limiter(self, endpoint: str) -> SlidingWindowLimiter:
        limiter = self._limiters.get(endpoint)
        if limiter is None:
            s = self._settings
            # A margin over the vendor's window: it counts a call when it arrives, a little
            # after we counted it, so a call right at the window's edge would be refused.
            margin = min(1.0, s.management_window_s * 0.05)
            limiter = SlidingWindowLimiter(
                s.management_calls_per_window, s.management_window_s + margin
            )
            self._limiters[endpoint] = limiter
        return limiter

    def _call(
        self, endpoint: str, method: str, path: str, body: Any = None, **params: str
    ) -> dict[str, Any]:
        limiter = self._limiter(endpoint)
        backoff = 1.0
        for attempt in range(1, self._max_attempts + 1):
            limiter.acquire()
            self.calls += 1
            try:
                response = self._client.request(
                    method, path, params={**self._params, **params}, json=body
                )
            except (UpstreamError, httpx.HTTPError) as exc:
                if attempt == self._max_attempts:
                    raise ManagementError(f"{method} {path}: no answer: {exc}") from None
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            try:
                payload, _ = loads(response.content)
            except ValueError:  # LenientParseError: not JSON, even repaired
                payload = {}
            payload = payload if isinstance(payload, dict) else {}
            code = str(payload.get("status_code", "0" if response.is_success else ""))
            if response.is_success and code == "0":
                return payload
            retry_later = code == "8" or response.status_code in (429, 500, 502, 503, 504)
            if retry_later and attempt < self._max_attempts:
                wait = max(limiter.wait_time(), backoff)
                if code == "8":
                    wait = max(wait, self._settings.management_window_s / 4)
                log.warning("%s %s answered %s; retrying in %.1f s", method, path, code, wait)
                time.sleep(wait)
                backoff = min(backoff * 2, 30.0)
                continue
            raise _error(method, path, response.status_code, code, payload)
        raise ManagementError(f"{method} {path}: gave up after {self._max_attempts} attempts")

    # --- streams -----------------------------------------------------------------------------

    def stream_ids(self) -> list[str]:
        payload = self._call("info", "GET", "/api/v2/stream/info")
        data = (payload.get("result_streaminfo") or {}).get("data") or []
        return [str(d.get("name") or d.get("stream_id")) for d in data if isinstance(d, dict)]

    def stream(self, stream_id: str) -> StreamState:
        payload = self._call("stream", "GET", f"/api/v2/stream/s/{stream_id}")
        return _stream((payload.get("result_stream") or {}).get("data"), stream_id)

    def create_stream(self, stream_id: str, rules: dict[str, str], enabled: bool) -> StreamState:
        body = {
            "rules": [{"rule_id": r, "query": q} for r, q in rules.items()],
            "enabled": enabled,
        }
        payload = self._call("stream", "PUT", f"/api/v2/stream/s/{stream_id}", body)
        return _stream((payload.get("result_stream") or {}).get("data"), stream_id)

    def delete_stream(self, stream_id: str) -> None:
        self._call("stream", "DELETE", f"/api/v2/stream/s/{stream_id}")

    def set_enabled(self, stream_id: str, enabled: bool) -> None:
        action = "enable" if enabled else "disable"
        self._call("enable", "POST", f"/api/v2/stream/s/{stream_id}/{action}")

    # --- rules -------------------------------------------------------------------------------

    def rule(self, stream_id: str, rule_id: str) -> str | None:
        """The rule's query, or None if the stream has no such rule."""
        try:
            payload = self._call("rule", "GET", f"/api/v2/stream/s/{stream_id}/r/{rule_id}")
        except ManagementError as exc:
            if exc.code == "31":
                return None
            raise
        return _stream((payload.get("result_stream") or {}).get("data"), stream_id).rules.get(
            rule_id
        )

    def put_rule(self, stream_id: str, rule_id: str, query: str) -> None:
        path = f"/api/v2/stream/s/{stream_id}/r/{rule_id}"
        self._call("rule", "PUT", path, {"query": query})

    def delete_rule(self, stream_id: str, rule_id: str) -> None:
        self._call("rule", "DELETE", f"/api/v2/stream/s/{stream_id}/r/{rule_id}")

    # --- quotas ------------------------------------------------------------------------------

    def quota(self, stream_id: str) -> dict[str, Any] | None:
        payload = self._call("quota", "GET", f"/api/v2/stream/s/{stream_id}/quota")
        data = (payload.get("result_stream") or {}).get("data") or [{}]
        quota = data[0].get("quota") if isinstance(data[0], dict) else None
        return quota if isinstance(quota, dict) else None

    def set_quota(self, stream_id: str, quota: dict[str, Any]) -> None:
        self._call("quota", "PUT", f"/api/v2/stream/s/{stream_id}/quota", quota)

    def delete_quota(self, stream_id: str) -> None:
        self._call("quota", "DELETE", f"/api/v2/stream/s/{stream_id}/quota")

    def reset_quota(self, stream_id: str) -> None:
        self._call("quota", "POST", f"/api/v2/stream/s/{stream_id}/quota/reset")

    # --- resources ---------------------------------------------------------------------------

    def resources(
        self, project_id: str, kind: str | None = None, object_type: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("type", kind), ("object_type", object_type)) if v}
        payload = self._call(
            "resources", "GET", f"/api/v2/talkwalker/p/{project_id}/resources", **params
        )
        found: list[dict[str, Any]] = []
        for project in (payload.get("result_resources") or {}).get("projects") or []:
            for topic in project.get("topics") or []:
                if isinstance(topic, dict):
                    found.append({"project": project.get("id"), **topic})
                    for node in topic.get("nodes") or []:
                        found.append({"project": project.get("id"), "parent": topic["id"], **node})
        return found


def _error(method: str, path: str, http: int, code: str, payload: dict[str, Any]) -> Exception:
    entry = lookup(code or None, http)
    details = [
        f"{k}={payload[k]}"
        for k in ("details", "reason", "param", "number_max", "number_available")
        if payload.get(k) is not None
    ]
    text = f"{method} {path}: Talkwalker error {code or http} ({entry.message})"
    if details:
        text += ": " + ", ".join(details)
    return ManagementError(text, code or None, http)
