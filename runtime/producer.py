"""Kafka producers: idempotent always, transactional for every exactly-once component.

A component writes its records, its DLQ records and its checkpoint through one
`TransactionalProducer`, inside `with producer.transaction():`, so a consumer reading
read_committed sees all of them or none. `transactional.id` fencing makes a second instance of
the same component a standby: its first transaction fails with `ProducerFenced`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from socialstream.runtime.metrics import COMMIT_SECONDS, TRANSACTIONS
from socialstream.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]


class ProducerFenced(RuntimeError):
    """Another instance with the same transactional.id took over; this one must stop writing."""


class DeliveryFailed(RuntimeError):
    """A record could not be delivered; the transaction it belongs to must be aborted."""


def producer_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """Idempotent producer settings on top of the shared client config."""
    config = settings.client_config()
    config.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "zstd",
            # The Java client's partitioner: a key lands on the partition Kafka Streams, Flink,
            # Quix Streams (the processors) and every JVM producer would choose, so topics keyed
            # alike are co-partitioned and joins by key work across them.
            "partitioner": "murmur2_random",
        }
    )
    config.update(overrides)
    return config


class TransactionalProducer:
    """A transactional producer with a context manager per transaction.

    `produce` only queues; the transaction's commit flushes and fails if any record failed, so a
    committed transaction means every record of it is in Kafka.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        transactional_id: str,
        init_timeout_s: float = 60.0,
        **overrides: Any,
    ) -> None:
        self.transactional_id = f"{settings.transactional_id_prefix}.{transactional_id}"
        self._name = transactional_id  # the metrics label: the component and its instance
        config = producer_config(
            settings,
            **{
                "transactional.id": self.transactional_id,
                "transaction.timeout.ms": settings.transaction_timeout_ms,
            },
            **overrides,
        )
        self._producer = Producer(config)
        self._errors: list[KafkaError] = []
        self._in_transaction = False
        # Highest delivered offset a (topic, partition): where this writer's records end.
        self.delivered: dict[tuple[str, int], int] = {}
        try:
            self._producer.init_transactions(init_timeout_s)
        except KafkaException as exc:
            raise _translate(exc) from None

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self._errors.append(err)
            return
        key = (msg.topic(), msg.partition())
        offset = msg.offset()
        if offset > self.delivered.get(key, -1):
            self.delivered[key] = offset

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue one record in the open transaction."""
        if not self._in_transaction:
            raise RuntimeError("produce() outside a transaction")
        if headers is not None and type(headers) is not list:
            headers = list(headers)
        while True:
            try:
                if partition is None:  # the hot path: no keyword dictionary to build
                    self._producer.produce(
                        topic, value, key, on_delivery=self._on_delivery, headers=headers
                    )
                else:
                    self._producer.produce(
                        topic,
                        value,
                        key,
                        partition=partition,
                        on_delivery=self._on_delivery,
                        headers=headers,
                    )
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._producer.poll(0.1)

    def produce_many(self, topic: str, records: Iterable[tuple[bytes, bytes, Headers]]) -> None:
        """Queue (key, value, headers) records in the open transaction: `produce` for records
        that came together, without its per-record checks and call."""
        if not self._in_transaction:
            raise RuntimeError("produce_many() outside a transaction")
        produce, on_delivery = self._producer.produce, self._on_delivery
        for key, value, headers in records:
            while True:
                try:
                    produce(topic, value, key, on_delivery=on_delivery, headers=headers)
                    break
                except BufferError:  # the local queue is full: serve delivery reports
                    self._producer.poll(0.1)

    def poll(self, timeout: float = 0.0) -> int:
        return int(self._producer.poll(timeout))

    def send_offsets(self, offsets: list[Any], group_metadata: Any) -> None:
        """Commit consumer offsets in the open transaction (consume-transform-produce)."""
        try:
            self._producer.send_offsets_to_transaction(offsets, group_metadata)
        except KafkaException as exc:
            raise _translate(exc) from None

    def begin(self) -> None:
        """Open a transaction (for loops that commit on their own schedule)."""
        if self._in_transaction:
            raise RuntimeError("a transaction is already open")
        try:
            self._producer.begin_transaction()
        except KafkaException as exc:
            raise _translate(exc) from None
        self._in_transaction = True
        self._errors.clear()

    def commit(self, timeout_s: float = 60.0) -> None:
        """Flush and commit the open transaction; abort it and raise if anything failed."""
        started = time.perf_counter()
        try:
            self._producer.flush(timeout_s)
            if self._errors:
                raise DeliveryFailed(f"{len(self._errors)} record(s) failed: {self._errors[0]}")
            self._producer.commit_transaction(timeout_s)
            COMMIT_SECONDS.labels(self._name).observe(time.perf_counter() - started)
            TRANSACTIONS.labels(self._name, "committed").inc()
        except BaseException as exc:
            self.abort_after(exc, timeout_s)
            if isinstance(exc, KafkaException):
                raise _translate(exc) from None
            raise
        finally:
            self._in_transaction = False

    def abort_after(self, exc: BaseException | None, timeout_s: float = 60.0) -> None:
        """Abort the open transaction (unless the producer is fenced or fatal)."""
        self._in_transaction = False
        TRANSACTIONS.labels(self._name, "aborted").inc()
        self._abort_after(exc, timeout_s)

    @contextmanager
    def transaction(self, timeout_s: float = 60.0) -> Iterator[TransactionalProducer]:
        """Begin a transaction; commit it on normal exit, abort it on any exception."""
        self.begin()
        try:
            yield self
        except BaseException as exc:
            self.abort_after(exc, timeout_s)
            if isinstance(exc, KafkaException):
                raise _translate(exc) from None
            raise
        self.commit(timeout_s)

    def _abort_after(self, exc: BaseException | None, timeout_s: float) -> None:
        if isinstance(exc, KafkaException) and _is_fatal(exc):
            return  # a fenced or fatal producer cannot abort; it must be closed
        try:
            self._producer.abort_transaction(timeout_s)
        except KafkaException as abort_exc:
            log.warning("abort_transaction failed: %s", abort_exc)

    def close(self, timeout_s: float = 10.0) -> None:
        if self._in_transaction:
            self.abort_after(None, timeout_s)
        self._producer.flush(timeout_s)


def _is_fatal(exc: KafkaException) -> bool:
    err = exc.args[0] if exc.args else None
    return bool(isinstance(err, KafkaError) and err.fatal())


def _translate(exc: KafkaException) -> Exception:
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError) and err.code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    ):
        return ProducerFenced(f"producer fenced by a newer instance: {err.str()}")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
