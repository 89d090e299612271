"""The project's plumbing for Quix Streams processors: one Application shape, Avro values.

Every processor is a Quix Streams `Application` with exactly-once processing (consume, transform
and produce in Kafka transactions; read_committed input), started from the earliest offset of a
new group, values encoded with the project's Avro codec and the standard headers on every
output record. Topics are created by `topics apply` first; Quix creates only its own
internal (changelog and repartition) topics.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import propagate, trace
from quixstreams import Application, message_context
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.models.serializers import SerializationContext, Serializer

from socialstream.runtime.codec import Codec
from socialstream.runtime.dlq import DLQ_SCHEMA, dead_letter_record
from socialstream.runtime.metrics import DEAD_LETTERS
from socialstream.runtime.settings import Settings
from socialstream.runtime.shutdown import on_terminate
from socialstream.runtime.topics import find_topic, topic_name
from socialstream.schemas import full_name

HeaderList = list[tuple[str, str | bytes]]


def application(
    settings: Settings, consumer_group: str, commit_interval_s: float, state_dir: str
) -> Application:
    """A Quix Streams application on the configured cluster, exactly-once."""
    extra = {
        k: v
        for k, v in settings.kafka.client_config().items()
        if k not in ("bootstrap.servers", "logger")
    }
    return Application(
        broker_address=settings.kafka.bootstrap_servers,
        consumer_group=consumer_group,
        processing_guarantee="exactly-once",
        auto_offset_reset="earliest",
        commit_interval=commit_interval_s,
        state_dir=state_dir,
        consumer_extra_config=extra,
        # After a crash, what the dead instance left open blocks read_committed readers until
        # this timeout aborts it (Quix's transactional ids are per instance, so not fenced).
        producer_extra_config={
            **extra,
            "transaction.timeout.ms": settings.kafka.transaction_timeout_ms,
        },
        loglevel=None,
    )


def declared(settings: Settings, name: str) -> str:
    """The real name of a declared topic."""
    return topic_name(find_topic(name), settings.topics)


def standard_headers(
    source: str, schema: str, extra: HeaderList | None = None, incoming: Any = None
) -> HeaderList:
    """`source`, `source_position` (the input's topic:partition:offset), `ingested_at`, `schema`
    and `traceparent` (the active span's, else the input record's)."""
    context = message_context()
    headers: HeaderList = [
        ("source", source),
        ("source_position", f"{context.topic}:{context.partition}:{context.offset}"),
        ("ingested_at", str(int(time.time() * 1000))),
        ("schema", full_name(schema)),
    ]
    if trace.get_current_span().get_span_context().is_valid:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            headers.append(("traceparent", carrier["traceparent"]))
    else:
        for key, value in incoming or []:
            if key == "traceparent" and value:
                headers.append(("traceparent", value))
    return headers + (extra or [])


def run_application(app: Application, grace_s: float | None = None) -> None:
    """`app.run()`. In the main thread SIGTERM / Ctrl-C stop it within `grace_s` (`shutdown.py`)
    instead of Quix's own handlers; from another thread (the demo, tests) `app.stop()` does."""
    if threading.current_thread() is not threading.main_thread():
        app._setup_signal_handlers = lambda: None  # type: ignore[method-assign]
    elif grace_s is not None:
        app._setup_signal_handlers = lambda: on_terminate(app.stop, grace_s)  # type: ignore[method-assign]
    app.run()


@dataclass(frozen=True, slots=True)
class Encoded:
    """An output already encoded: its key, Avro bytes and headers, and whether it is a dead letter.

    Processors encode before the stream branches into outputs and dead letters, so what the
    framework copies at the branch is a few bytes instead of a whole record."""

    dead: bool
    key: str | None
    value: bytes
    headers: list[tuple[str, str | bytes]]


class PreEncoded(Serializer):
    """The value is already Avro (`Encoded.value`)."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        return bytes(value.value)


def dead_letter(
    codec: Codec,
    settings: Settings,
    component: str,
    raw: bytes,
    reason: str,
    error_class: str,
    where: str,
    intended: str,
) -> Encoded:
    """A dead letter for `<component>.dlq`, the same record and headers the sources write."""
    record, extra = dead_letter_record(
        raw, reason, error_class, component, where, declared(settings, intended)
    )
    dlq = declared(settings, f"{component}.dlq")
    DEAD_LETTERS.labels(component, error_class).inc()
    return Encoded(
        True,
        None,
        codec.encode(DLQ_SCHEMA, record, dlq),
        standard_headers(component, DLQ_SCHEMA, list(extra)),
    )


def write_outputs(
    app: Application, settings: Settings, component: str, output: str, sdf: StreamingDataFrame
) -> None:
    """Send a stream of `Encoded` values to `output` (keyed) and its dead letters to the DLQ."""
    sdf = sdf.set_headers(lambda value, key, ts, headers: value.headers)
    out = app.topic(declared(settings, output), key_serializer="str", value_serializer=PreEncoded())
    dlq = app.topic(
        declared(settings, f"{component}.dlq"),
        key_serializer="bytes",
        value_serializer=PreEncoded(),
    )
    sdf[sdf.apply(lambda v: not v.dead)].to_topic(out, key=lambda value: value.key)
    sdf[sdf.apply(lambda v: v.dead)].to_topic(dlq, key=lambda value: None)
