"""The project's plumbing for Quix Streams processors: one Application shape, Avro values.

Every processor is a Quix Streams `Application` with exactly-once processing (consume, transform
and produce in Kafka transactions; read_committed input), started from the earliest offset of a
new group, values encoded with the project's Avro codec and the standard headers on every
output record. Topics are created by `topics apply` first; Quix creates only its own
internal (changelog and repartition) topics.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException
from opentelemetry import propagate, trace
from quixstreams import Application, message_context
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.kafka.exceptions import BaseKafkaException, KafkaBrokerUnavailableError

from socialstream.runtime import tracing
from socialstream.runtime.codec import Codec
from socialstream.runtime.dlq import DLQ_SCHEMA, dead_letter_record
from socialstream.runtime.metrics import DEAD_LETTERS
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import QuixProcessorSettings, Settings
from socialstream.runtime.shutdown import on_terminate
from socialstream.runtime.topics import find_topic, topic_name
from socialstream.schemas import full_name

HeaderList = list[tuple[str, str | bytes]]


log = logging.getLogger(__name__)


def application(settings: Settings, processor: QuixProcessorSettings) -> Application:
    """A Quix Streams application on the configured cluster, exactly-once."""
    extra = {
        k: v
        for k, v in settings.kafka.client_config().items()
        if k not in ("bootstrap.servers", "logger")
    }
    return Application(
        broker_address=settings.kafka.bootstrap_servers,
        consumer_group=processor.consumer_group,
        processing_guarantee="exactly-once",
        auto_offset_reset="earliest",
        commit_interval=processor.commit_interval_s,
        consumer_poll_timeout=processor.poll_timeout_s,
        state_dir=processor.state_dir,
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


@cache
def _constant_headers(source: str, schema: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    return ("source", source.encode()), ("schema", full_name(schema).encode())


def standard_headers(
    source: str,
    schema: str,
    extra: HeaderList | None = None,
    incoming: Any = None,
    position: str | None = None,
) -> HeaderList:
    """`source`, `source_position` (the input's topic:partition:offset, unless `position` gives
    it), `ingested_at`, `schema` and `traceparent` (the active span's, else the input record's).
    Made for every record: the constant ones are made once."""
    if position is None:
        context = message_context()
        position = f"{context.topic}:{context.partition}:{context.offset}"
    source_header, schema_header = _constant_headers(source, schema)
    headers: HeaderList = [
        source_header,
        ("source_position", position),
        ("ingested_at", b"%d" % (time.time() * 1000)),
        schema_header,
    ]
    if tracing.enabled() and trace.get_current_span().get_span_context().is_valid:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            headers.append(("traceparent", carrier["traceparent"]))
    elif incoming:
        for key, value in incoming:
            if key == "traceparent" and value:
                headers.append(("traceparent", value))
    if extra:
        headers += extra
    return headers


def run_application(
    app: Application,
    grace_s: float | None = None,
    on_stop: Callable[[], None] | None = None,
    stopped: Callable[[], bool] | None = None,
) -> None:
    """`app.run()`. In the main thread SIGTERM / Ctrl-C call `on_stop` (default `app.stop`) and
    exit within `grace_s` (`shutdown.py`) instead of Quix's own handlers; from another thread
    (the demo, tests) `stop()` does. A stop that comes while the app starts is kept (`stopped`,
    default: `app.stop()` was called)."""
    if threading.current_thread() is not threading.main_thread():
        app._setup_signal_handlers = lambda: None  # type: ignore[method-assign]
    elif grace_s is not None:
        stop = on_stop or app.stop
        app._setup_signal_handlers = lambda: on_terminate(stop, grace_s)  # type: ignore[method-assign]
    _keep_early_stop(app, stopped or app._stop_event.is_set)
    app.run()


def _keep_early_stop(app: Application, stopped: Callable[[], bool]) -> None:
    """Quix marks the application running after its signal handlers are installed and its
    state is set up, which undid a stop() that came in between (a SIGTERM during start-up: the
    process then ran on until the grace period killed it). Stop again right after."""
    tracker = app._run_tracker
    set_as_running = tracker.set_as_running

    def set_as_running_unless_stopped() -> None:
        set_as_running()  # type: ignore[no-untyped-call]
        if stopped():
            tracker.stop()  # type: ignore[no-untyped-call]

    tracker.set_as_running = set_as_running_unless_stopped  # type: ignore[method-assign]


# librdkafka errors that mean "the cluster is away for now", not "this cannot work".
_OUTAGE_CODES = frozenset(
    {
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._MSG_TIMED_OUT,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    }
)


# The broker aborts a transaction that outlives transaction.timeout.ms (a long outage) and bumps
# the producer's epoch: librdkafka then reports the producer fenced, or its own abort or commit
# of that transaction as a fatal INVALID_TXN_STATE (or the producer id as unknown). Quix gives
# every application its own random transactional.id (zombies are fenced by the consumer group
# generation instead), so none of these is another live instance, and a new application (a new
# producer) is the cure. The group fences a member too: one whose session expired while the
# broker was away has its transaction's offsets refused (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
# KIP-447's zombie fencing), and a new application rejoins the group from the committed offsets.
_FENCED_CODES = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.INVALID_TXN_STATE,
        KafkaError.INVALID_PRODUCER_ID_MAPPING,
        KafkaError.UNKNOWN_PRODUCER_ID,
    }
)


def kafka_outage(exc: BaseException) -> bool:
    """Whether `exc` is a Kafka error that a fresh application after a wait fixes: the cluster
    away for a while, or a transaction it timed out meanwhile. Quix raises its own exceptions
    too: a delivery that timed out while the brokers were down (`KafkaProducerDeliveryError`,
    carrying librdkafka's error), and brokers unreachable for longer than it waits."""
    if isinstance(exc, KafkaBrokerUnavailableError):
        return True
    if isinstance(exc, BaseKafkaException):
        error = exc.error
    else:
        error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if not isinstance(error, KafkaError):
        return False
    if error.code() in _FENCED_CODES:
        return True
    if error.fatal():
        return False
    return bool(error.retriable()) or error.code() in _OUTAGE_CODES


class QuixProcessor(ABC):
    """A processor on a Quix Streams application that outlives Kafka outages.

    Quix gives up when a transaction call times out (a broker restarting, a network cut), and
    building an application fails while the cluster is away. What it committed is safe and what
    it had not is aborted, so the processor builds a fresh application after a backoff and
    carries on from the committed offsets and changelogs, as the sources do, instead of exiting
    on every broker restart. Subclasses build the app."""

    component = "processor"

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self.app: Application | None = None  # built in run(): building asks the cluster

    @abstractmethod
    def _new_app(self) -> Application:
        """A new Quix application with the processor's topology."""

    def run(self, grace_s: float | None = None) -> None:
        backoff = 1.0
        while not self._stopped.is_set():
            try:
                self.app = self._new_app()
                if self._stopped.is_set():  # asked to stop while it was being built
                    return
                run_application(self.app, grace_s, self.stop, self._stopped.is_set)
                return
            except (KafkaException, BaseKafkaException, KafkaBrokerUnavailableError) as exc:
                if self._stopped.is_set() or not kafka_outage(exc):
                    raise
                log.error(
                    "%s: Kafka unavailable, retrying in %.0f s: %s",
                    self.component,
                    backoff,
                    redact_text(str(exc)),
                )
            if self._stopped.wait(backoff):
                return
            backoff = min(backoff * 2, 60.0)

    def stop(self) -> None:
        self._stopped.set()
        if self.app is not None:
            self.app.stop()


class Encoded(NamedTuple):
    """An output already encoded: its key, Avro bytes and headers, and whether it is a dead letter.

    Processors encode before the output step, which picks the topic (output or DLQ) by `dead`. A
    tuple: one is built a record, at half what a frozen dataclass costs."""

    dead: bool
    key: str | None
    value: bytes
    headers: list[tuple[str, str | bytes]]


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
    """Send a stream of `Encoded` values to `output` (keyed) and its dead letters to the DLQ.

    The values are Avro already, so one step hands each to the application's own producer
    (the one its transactions and checkpoints commit): what `to_topic` adds on top (a row, a
    serialization context and two serializer calls a record, plus a `set_headers` step) was a
    tenth of a processor's time."""
    out, dlq = declared(settings, output), declared(settings, f"{component}.dlq")
    produce = _application_producer(sdf).produce

    def write(value: Encoded, key: Any, timestamp: int, headers: Any) -> None:
        produce(
            topic=dlq if value.dead else out,
            value=value.value,
            key=value.key.encode() if value.key is not None else None,  # a dead letter's is None
            headers=value.headers,
            timestamp=timestamp,
        )

    sdf.update(write, metadata=True)


def _application_producer(sdf: StreamingDataFrame) -> Any:
    """The transactional producer of the application `sdf` belongs to: what `to_topic` produces
    through (Quix Streams keeps it on the dataframe, unexported; quixstreams is pinned below 4,
    and the processors' integration tests read back what it wrote)."""
    producer = getattr(sdf, "_producer", None)
    if producer is None or not callable(getattr(producer, "produce", None)):
        raise RuntimeError("this Quix Streams version keeps no producer on a StreamingDataFrame")
    return producer
