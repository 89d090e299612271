"""Tracing is off unless configured: no span and no traceparent header."""

from __future__ import annotations

from contextlib import nullcontext

from opentelemetry import trace

from socialstream.runtime import tracing
from socialstream.runtime.headers import record_headers


def test_without_an_endpoint_nothing_is_traced() -> None:
    tracing.configure(None, "socialstream", 1.0)
    assert not tracing.enabled()
    assert isinstance(tracing.publish_span("talkwalker", "t", "tf:1"), nullcontext)
    with tracing.continued("enrichment", "map", "00-" + "1" * 32 + "-" + "2" * 16 + "-01") as span:
        assert span is None
        headers = dict(record_headers("enrichment", "socialstream.Document"))
    assert "traceparent" not in headers


def test_a_traceparent_header_is_read_back_as_the_parent_context() -> None:
    value = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    parent = tracing.parent_from([("source", b"x"), ("traceparent", value)])
    assert parent is not None
    context = trace.get_current_span(parent).get_span_context()
    assert format(context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(context.span_id, "016x") == "b7ad6b7169203331"
    assert tracing.traceparent_of([("traceparent", value)]) == value.decode()
    assert tracing.parent_from([("source", b"x")]) is None
