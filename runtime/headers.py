"""The headers every socialstream record carries, so consumers can route and trace without decoding.

`source` (component), `source_position` (where upstream: timeframe and chunk, offset...),
`ingested_at` (ms since epoch, when socialstream wrote it), `schema` (Avro full name) and, while a
span is active, `traceparent` (W3C trace context).
"""

from __future__ import annotations

import time
from functools import cache

from opentelemetry import propagate, trace

from socialstream.runtime import tracing
from socialstream.runtime.producer import Headers


@cache
def _constant(source: str, schema: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    return ("source", source.encode()), ("schema", schema.encode())


def base_headers(
    source: str, schema: str, source_position: str | None = None
) -> list[tuple[str, bytes]]:
    """The standard headers but `traceparent`: source, ingested_at, schema, source_position."""
    source_header, schema_header = _constant(source, schema)
    headers = [source_header, ("ingested_at", b"%d" % (time.time() * 1000)), schema_header]
    if source_position is not None:
        headers.append(("source_position", source_position.encode()))
    return headers


def trace_headers() -> list[tuple[str, bytes]]:
    """`traceparent` of the active span, when tracing is on and a span is."""
    if tracing.enabled() and trace.get_current_span().get_span_context().is_valid:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            return [("traceparent", carrier["traceparent"].encode())]
    return []


def record_headers(source: str, schema: str, source_position: str | None = None) -> Headers:
    """The standard headers for one record (on the hot path: no trace work when tracing is off)."""
    return base_headers(source, schema, source_position) + trace_headers()


def header_map(headers: list[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """A consumer-side view: the last value of each header, decoded as UTF-8."""
    return {key: (value or b"").decode("utf-8", errors="replace") for key, value in headers or []}
