"""The documents API as the write-back sees it: one bulk request in, one outcome an operation out.

Talkwalker answers a bulk request with HTTP 200 and, when some operations failed, status code
49 and a result an operation. Each result is read against the vendor's error table
(`connectors/talkwalker/errors.py`): a code whose action is to retry (an internal error, a rate
limit) is retryable, a code that says the request itself is wrong (16: invalid operation on
document, 3: a parameter missing) is permanent. A failure of the whole request is never the
documents' fault: it is retried later (503, network, rate limit), split (413, unparsable JSON:
find the document that causes it), or stops the processor (a bad token or project).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import orjson

from socialstream.connectors.talkwalker.errors import Action, lookup
from socialstream.runtime.httpclient import (
    RetryPolicy,
    UpstreamError,
    make_client,
    retry_after_seconds,
)
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import TalkwalkerSettings, WritebackSettings


class Verdict(StrEnum):
    OK = "ok"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class OperationResult:
    verdict: Verdict
    code: str
    message: str

    def describe(self) -> str:
        return f"Talkwalker code {self.code}: {self.message}"


class RequestFailure(StrEnum):
    RETRY_LATER = "retry_later"  # the service is unavailable or limits us: try the same again
    SPLIT = "split"  # the request as a whole was refused (too large, unreadable): bisect it
    STOP = "stop"  # the token or project is wrong: nothing will succeed until an operator acts


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """Either `results` (one an operation, in request order) or a whole-request `failure`."""

    results: list[OperationResult] | None = None
    failure: RequestFailure | None = None
    reason: str = ""
    retry_after_s: float | None = None


OK = OperationResult(Verdict.OK, "0", "OK")


def classify(code: str, message: str) -> OperationResult:
    """An operation's vendor code and message as a verdict."""
    if code == "0":
        return OK
    entry = lookup(code, None)
    verdict = Verdict.PERMANENT if entry.action is Action.STOP else Verdict.RETRYABLE
    return OperationResult(verdict, code, message or entry.message)


def _operation_result(item: Any) -> tuple[str | None, OperationResult]:
    """(url, result) of one entry of `result_bulk.data`: `{"create": {url, status_code, ...}}`."""
    if isinstance(item, dict) and len(item) == 1:
        (body,) = item.values()
        if isinstance(body, dict):
            code = str(body.get("status_code", "0"))
            parts = [str(body[k]) for k in ("status_message", "reason", "details") if body.get(k)]
            url = body.get("url")
            return (str(url) if url else None), classify(code, ": ".join(dict.fromkeys(parts)))
    return None, OperationResult(Verdict.RETRYABLE, "?", f"unreadable result entry: {item!r:.200}")


def read_bulk_answer(payload: Any, urls: list[str]) -> BulkOutcome:
    """The per-operation outcomes of a 200 answer to a bulk request of `urls`."""
    if not isinstance(payload, dict):
        return BulkOutcome(failure=RequestFailure.RETRY_LATER, reason="the answer is not JSON")
    code = str(payload.get("status_code", "0"))
    data = (payload.get("result_bulk") or {}).get("data")
    if code == "0" and not data:
        return BulkOutcome(results=[OK] * len(urls))
    if not isinstance(data, list):
        if code == "0":
            return BulkOutcome(results=[OK] * len(urls))
        entry = classify(code, str(payload.get("status_message") or ""))
        return BulkOutcome(results=[entry] * len(urls))
    parsed = [_operation_result(item) for item in data]
    if len(parsed) == len(urls) and all(u in (None, urls[n]) for n, (u, _) in enumerate(parsed)):
        return BulkOutcome(results=[result for _, result in parsed])
    # Not in request order: match by URL; an operation the answer does not mention is retried.
    by_url = {u: result for u, result in parsed if u is not None}
    missing = OperationResult(Verdict.RETRYABLE, "?", "the answer has no result for it")
    return BulkOutcome(results=[by_url.get(u, missing) for u in urls])


class DocumentsClient:
    """Bulk requests to `/api/v2/docs/p/<project>`; thread-safe (httpx's pool)."""

    def __init__(
        self,
        talkwalker: TalkwalkerSettings,
        writeback: WritebackSettings,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        project = writeback.project_id or talkwalker.project_id
        if not project or talkwalker.access_token is None:
            raise ValueError(
                "set writeback.project_id (or talkwalker.project_id) and talkwalker.access_token"
            )
        token = talkwalker.access_token.get_secret_value()
        self.path = f"/api/v2/docs/p/{project}"
        self._params = {"access_token": token}
        self._client = make_client(
            talkwalker.base_url,
            # No retry inside the call: the loop resends (and counts) it, honouring Retry-After,
            # while it keeps polling Kafka.
            retry=RetryPolicy(max_attempts=1),
            timeout=writeback.request_timeout_s,
            secret_values=[token],
            ca_file=talkwalker.ca_file,
            inner=transport,
        )
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def bulk(self, body: bytes, urls: list[str]) -> BulkOutcome:
        """Send one bulk request (`body` is the JSON array of operations on `urls`)."""
        self.requests += 1
        try:
            response = self._client.post(
                self.path,
                params=self._params,
                content=body,
                headers={"Content-Type": "application/json; charset=UTF-8"},
            )
        except (UpstreamError, httpx.HTTPError) as exc:
            return BulkOutcome(
                failure=RequestFailure.RETRY_LATER, reason=redact_text(f"no answer: {exc}")
            )
        try:
            payload = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            payload = None
        if response.status_code == 200:
            return read_bulk_answer(payload, urls)
        return _request_failure(response, payload)


def _request_failure(response: httpx.Response, payload: Any) -> BulkOutcome:
    code = str(payload.get("status_code")) if isinstance(payload, dict) else None
    entry = lookup(code, response.status_code)
    detail = payload.get("details") if isinstance(payload, dict) else None
    reason = f"HTTP {response.status_code}, {entry.describe()}" + (f" ({detail})" if detail else "")
    wait = retry_after_seconds(response.headers.get("retry-after"))
    if response.status_code == 413 or code in ("17", "39"):
        return BulkOutcome(failure=RequestFailure.SPLIT, reason=reason)
    if entry.action is Action.STOP:
        return BulkOutcome(failure=RequestFailure.STOP, reason=reason)
    return BulkOutcome(failure=RequestFailure.RETRY_LATER, reason=reason, retry_after_s=wait)
