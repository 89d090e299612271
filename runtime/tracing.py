"""OpenTelemetry traces that follow a document from its upstream chunk to write-back.

A source opens a root span for each record it publishes (`<component> publish`); the span's
W3C `traceparent` goes out in the record's headers (`headers.py`). Each processor continues the
trace from the header of the record it read (`continued`), so one trace links the chunk, its
enriched document, its scored document and its write-back outcome, parent to child.

Off by default: with no `tracing.otlp_endpoint` no SDK provider is installed, `enabled()` is
False and the hot paths skip span work entirely (one boolean test a record). Tests install
their own provider with `install()` (an in-memory exporter).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

log = logging.getLogger(__name__)

_TRACER_NAME = "socialstream"
_enabled = False


def enabled() -> bool:
    """Whether spans are recorded (an SDK provider was installed in this process)."""
    return _enabled


def install(processor: SpanProcessor, service_name: str, sample_ratio: float = 1.0) -> None:
    """Record spans and export them through `processor`. The OpenTelemetry API keeps the first
    provider a process is given, so a later call adds its processor to that one."""
    global _enabled
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        trace.set_tracer_provider(provider)
    provider.add_span_processor(processor)
    _enabled = True


def switch_off() -> None:
    """Stop recording spans (a provider cannot be uninstalled; tests that traced call this)."""
    global _enabled
    _enabled = False


def configure(otlp_endpoint: str | None, service_name: str, sample_ratio: float) -> None:
    """Export spans over OTLP/HTTP to `otlp_endpoint` (e.g. http://collector:4318/v1/traces);
    without an endpoint tracing stays off."""
    if not otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=otlp_endpoint)
    install(BatchSpanProcessor(exporter), service_name, sample_ratio)
    log.info("tracing: OTLP export to %s, sampling %.3g", otlp_endpoint, sample_ratio)


def _tracer() -> trace.Tracer:
    return trace.get_tracer(_TRACER_NAME)


def traceparent_of(headers: Sequence[tuple[str, Any]] | None) -> str | None:
    """The raw `traceparent` header value, to carry a trace through framework state."""
    for key, value in headers or ():
        if key == "traceparent" and value:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return None


def parent_from(headers: Sequence[tuple[str, Any]] | None) -> Context | None:
    """The trace context carried by a record's `traceparent` header, if any."""
    traceparent = traceparent_of(headers)
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


def publish_span(component: str, topic: str, position: str | None) -> Any:
    """A root PRODUCER span around a source's publish of one record (a no-op when off, or when
    a span is already active: the record then belongs to that trace)."""
    if not _enabled or trace.get_current_span().get_span_context().is_valid:
        return nullcontext()
    attributes = {"messaging.destination.name": topic, "socialstream.component": component}
    if position is not None:
        attributes["socialstream.source_position"] = position
    return _tracer().start_as_current_span(
        f"{component} publish", kind=SpanKind.PRODUCER, attributes=attributes
    )


@contextmanager
def continued(
    component: str,
    operation: str,
    parent: Context | str | None,
    start_time_ns: int | None = None,
    attributes: dict[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A CONSUMER span continuing the trace of an input record (`parent`: its extracted
    context or raw traceparent); yields None and does nothing when tracing is off."""
    if not _enabled:
        yield None
        return
    if isinstance(parent, str):
        parent = propagate.extract({"traceparent": parent})
    with _tracer().start_as_current_span(
        f"{component} {operation}",
        context=parent,
        kind=SpanKind.CONSUMER,
        start_time=start_time_ns,
        attributes={"socialstream.component": component, **(attributes or {})},
    ) as span:
        yield span
