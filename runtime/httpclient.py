"""The httpx client every connector uses: timeouts, rate limits, retries and redaction built in.

Retries live in a transport so they apply to streaming requests as well (a 503 is retried before
any body is read). `Retry-After` (seconds or an HTTP date) is always waited out, never shortened.
Every URL and header that reaches a log line or an exception is redacted first.
"""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from socialstream.runtime.metrics import RATE_LIMIT_WAIT_SECONDS, UPSTREAM_CALLS
from socialstream.runtime.redaction import redact_text, redact_url, secrets

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a whole (not streamed) answer: pages, bulk results
_PIECE = 1024 * 1024  # gzip is inflated at most this much at a time


class RateLimit(Protocol):
    """A token bucket or a sliding window: blocks until a call is allowed."""

    def acquire(self) -> float: ...


class UpstreamError(Exception):
    """An upstream call failed; the message never contains a credential."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        self.status = status
        self.url = redact_url(url) if url else None
        super().__init__(redact_text(message))


class UpstreamHTTPError(UpstreamError):
    """The upstream answered with an error status."""

    def __init__(self, response: httpx.Response, body_excerpt: str = "") -> None:
        self.response_status = response.status_code
        url = str(response.request.url)
        message = f"HTTP {response.status_code} from {redact_url(url)}"
        if body_excerpt:
            message += f": {body_excerpt}"
        super().__init__(message, status=response.status_code, url=url)


class ResponseTooLarge(UpstreamError):
    """An answer longer than the client's limit (after decompression): cut off, not read."""


class _BoundedBody(httpx.SyncByteStream):
    """A response body inflated here in bounded pieces (a gzip bomb cannot expand in one go)
    and cut off past `limit` decoded bytes, when the client has one."""

    def __init__(
        self, inner: httpx.SyncByteStream, gzipped: bool, limit: int | None, url: str
    ) -> None:
        self._inner = inner
        self._gzipped = gzipped
        self._limit = limit
        self._url = url

    def __iter__(self) -> Iterator[bytes]:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16) if self._gzipped else None
        total = 0
        for raw in self._inner:
            for piece in _inflate(inflater, raw) if inflater else (raw,):
                total += len(piece)
                if self._limit is not None and total > self._limit:
                    raise ResponseTooLarge(
                        f"{self._url}: answer longer than {self._limit} bytes, cut off",
                        url=self._url,
                    )
                yield piece

    def close(self) -> None:
        self._inner.close()


def _inflate(inflater: Any, data: bytes) -> Iterator[bytes]:
    try:
        while data:
            piece = inflater.decompress(data, _PIECE)
            if piece:
                yield piece
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise httpx.DecodingError(f"corrupt gzip body: {exc}") from None


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached (connect error, timeout) after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry: exponential backoff with full jitter, capped."""

    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    max_retry_after_s: float = 600.0

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date. None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class RetryingTransport(httpx.BaseTransport):
    """Rate limit, then send; retry connect errors and retryable statuses per the policy."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int | None = None,
    ) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._policy = policy or RetryPolicy()
        self._rate_limit = rate_limit
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self._policy
        safe_url = redact_url(str(request.url))
        attempt = 0
        while True:
            attempt += 1
            host = request.url.host
            if self._rate_limit:
                waited = self._rate_limit.acquire()
                if waited:
                    RATE_LIMIT_WAIT_SECONDS.labels(host).inc(waited)
            try:
                response = self._inner.handle_request(request)
                UPSTREAM_CALLS.labels(host, str(response.status_code)).inc()
            except (httpx.TransportError, OSError) as exc:
                UPSTREAM_CALLS.labels(host, "error").inc()
                detail = f"{type(exc).__name__}: {redact_text(str(exc))}"
                if attempt >= policy.max_attempts:
                    raise UpstreamUnavailable(
                        f"{request.method} {safe_url} failed after {attempt} attempt(s): {detail}",
                        url=str(request.url),
                    ) from None
                delay = policy.backoff(attempt)
                log.warning(
                    "upstream call failed, retrying",
                    extra={"url": safe_url, "error": detail, "attempt": attempt, "delay_s": delay},
                )
                self._sleep(delay)
                continue
            if response.status_code not in policy.retry_statuses or attempt >= policy.max_attempts:
                return self._bounded(response, safe_url)
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            response.close()
            if retry_after is not None:
                delay = min(retry_after, policy.max_retry_after_s)
            else:
                delay = policy.backoff(attempt)
            log.warning(
                "upstream answered %s, retrying",
                response.status_code,
                extra={"url": safe_url, "attempt": attempt, "delay_s": round(delay, 3)},
            )
            self._sleep(delay)

    def _bounded(self, response: httpx.Response, safe_url: str) -> httpx.Response:
        """Inflate gzip here, in bounded pieces, and apply the body limit."""
        encoding = response.headers.get("content-encoding", "").strip().lower()
        gzipped = encoding in ("gzip", "x-gzip")
        if not gzipped and self._max_body_bytes is None:
            return response
        if gzipped:  # decoded here: httpx must not decode it again
            del response.headers["content-encoding"]
            response.headers.pop("content-length", None)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _BoundedBody(response.stream, gzipped, self._max_body_bytes, safe_url)
        return response

    def close(self) -> None:
        self._inner.close()


def _verify(ca_file: str | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load the CA bundle {ca_file}: {exc}") from None


def make_client(
    base_url: str = "",
    *,
    rate_limit: RateLimit | None = None,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    headers: dict[str, str] | None = None,
    secret_values: Iterable[str] = (),
    ca_file: str | None = None,
    inner: httpx.BaseTransport | None = None,
    max_body_bytes: int | None = MAX_RESPONSE_BYTES,
) -> httpx.Client:
    """An httpx client with the project's timeouts, rate limit, retries and redaction.

    `secret_values` (tokens, passwords) are registered for redaction in every log line.
    `ca_file` replaces the system's CAs for the server's certificate.
    `max_body_bytes` cuts off a longer answer (ResponseTooLarge); None for endless streams,
    which bound each line instead (`linestream.py`).
    """
    secrets.add(*secret_values)
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            secrets.add(value.split(" ", 1)[-1])
    transport = RetryingTransport(
        inner or httpx.HTTPTransport(verify=_verify(ca_file)),
        policy=retry,
        rate_limit=rate_limit,
        max_body_bytes=max_body_bytes,
    )
    return httpx.Client(
        base_url=base_url, transport=transport, timeout=timeout, headers=headers or {}
    )


def read_capped(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed response's body, then close it (error answers of an
    endless stream's endpoint: never read a hostile body whole)."""
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except (httpx.HTTPError, UpstreamError):
        pass  # what was read is all the error there is
    finally:
        response.close()
    return b"".join(parts)[:limit]


def raise_for_status(response: httpx.Response) -> httpx.Response:
    """Raise `UpstreamHTTPError` (redacted) for a 4xx/5xx response; return it otherwise."""
    if response.is_success:
        return response
    try:
        if not response.is_stream_consumed:
            response.read()
        excerpt = redact_text(response.text[:500])
    except httpx.HTTPError:
        excerpt = ""
    raise UpstreamHTTPError(response, excerpt)
