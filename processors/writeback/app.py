"""`socialstream run writeback`: scored documents written back to a Talkwalker project.

A consume-send-commit loop on confluent-kafka rather than Quix Streams: an outcome is known only
when Talkwalker answers (maybe after retries, maybe minutes later), offsets may advance only
past records whose outcome is final, and the outcome records must be committed with those
offsets. Quix's sinks are terminal (they cannot produce the outcome records) and commit a whole
batch or nothing, so the loop is written here, on the project's transactional producer.

- Documents are packed into bulk requests (`batching.py`) flushed by size, count or linger time,
  sent by `max_in_flight` worker threads while the loop keeps polling Kafka.
- Each operation's outcome (`client.py`) is OK, retryable (resent with backoff, up to
  `max_attempts`) or permanent (FAILED, and a dead letter with the vendor's reason).
- Every `commit_interval_ms`, the final records at the head of each partition are committed in
  one transaction: their `writeback.results` records, their dead letters and the offsets after
  them. A record whose outcome is not final holds its partition's offset back, so a crash
  resends it (harmless: `create` overwrites the same URL) but never skips it, and each record
  gets exactly one outcome record.
- Backpressure: past `max_pending` documents without a committed outcome, the consumer pauses
  its partitions (and keeps polling, so it stays in the group) until the API catches up.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from socialstream.processors.writeback.batching import (
    PartitionLog,
    Pending,
    fits_alone,
    lineage,
    offsets_after,
    pack,
    request_body,
)
from socialstream.processors.writeback.client import (
    BulkOutcome,
    DocumentsClient,
    RequestFailure,
    Verdict,
)
from socialstream.processors.writeback.mapping import Reject, Skip, operation_for
from socialstream.runtime import tracing
from socialstream.runtime.codec import DecodeError, codec_from_settings
from socialstream.runtime.consumer import committed_consumer
from socialstream.runtime.dlq import DeadLetterWriter
from socialstream.runtime.headers import header_map
from socialstream.runtime.httpclient import RetryPolicy
from socialstream.runtime.metrics import (
    RECORDS_IN,
    WRITEBACK_OUTCOMES,
    WRITEBACK_PAUSED,
    WRITEBACK_PENDING,
    ByTopic,
)
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import Settings
from socialstream.runtime.streaming import declared
from socialstream.schemas import full_name

log = logging.getLogger(__name__)

COMPONENT = "writeback"
INPUT = "documents.scored"
RESULTS = "writeback.results"


class WritebackStopped(RuntimeError):
    """Talkwalker refuses every request (bad token, project, rights): an operator must act."""


class Writeback:
    """The write-back loop, built from settings; `run()` until `stop()`."""

    def __init__(self, settings: Settings, client: DocumentsClient | None = None) -> None:
        self.settings = settings
        self.wb = settings.writeback
        self.codec = codec_from_settings(settings)
        self.client = client or DocumentsClient(settings.talkwalker, self.wb)
        self.input_topic = declared(settings, INPUT)
        self.scored_schema = full_name("scored_document")
        self.stats: Counter[str] = Counter()
        self._records_in = ByTopic(RECORDS_IN, COMPONENT)
        self._stop = threading.Event()
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        self._queue: deque[Pending] = deque()  # ready to send, oldest first
        self._waiting: list[Pending] = []  # to resend once `not_before` has passed
        self._futures: dict[Future[BulkOutcome], list[Pending]] = {}
        self._pending = 0  # records without a committed outcome
        self._paused = False
        self._split_limit: int | None = None  # after a request was refused whole: smaller ones
        self._request_failures = 0  # consecutive whole-request failures, for the backoff
        self._retry = RetryPolicy(backoff_base_s=0.2, backoff_max_s=self.wb.retry_backoff_max_s)
        self._last_commit = time.monotonic()
        self._consumer: Consumer | None = None
        self._producer: TransactionalProducer | None = None
        self._publisher: Publisher | None = None
        self._dlq: DeadLetterWriter | None = None

    def stop(self) -> None:
        self._stop.set()

    def not_ready(self) -> str | None:
        """The readiness check: None while the loop runs."""
        if self._stop.is_set():
            return "stopping"
        if self._consumer is None:
            return "starting"
        return None

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        instance = self.wb.instance_id or socket.gethostname()
        self._producer = TransactionalProducer(self.settings.kafka, f"{COMPONENT}.{instance}")
        self._publisher = Publisher(self._producer, self.codec, self.settings.topics, COMPONENT)
        self._dlq = DeadLetterWriter(self._publisher, COMPONENT)
        # Static membership: a restarted instance takes its partitions back at once instead of
        # waiting a session timeout for the group to drop its dead predecessor.
        self._consumer = committed_consumer(
            self.settings.kafka, self.wb.consumer_group, **{"group.instance.id": instance}
        )
        pool = ThreadPoolExecutor(self.wb.max_in_flight, thread_name_prefix="writeback")
        self._consumer.subscribe(
            [self.input_topic],
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._lost,
        )
        try:
            while not self._stop.is_set():
                self._step(pool)
            self._drain()
            self._commit()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self._consumer.close()
            self._producer.close()
            self.client.close()
            log.info("writeback stopped", extra={"stats": dict(self.stats)})

    def _step(self, pool: ThreadPoolExecutor) -> None:
        assert self._consumer is not None
        now = time.monotonic()
        self._collect(now)
        self._release(now)
        self._send(pool, now)
        self._backpressure()
        busy = bool(self._futures or self._queue or self._waiting)
        room = max(1, min(500, self.wb.max_pending - self._pending))  # never past max_pending
        for message in self._consumer.consume(room, timeout=0.02 if busy else 0.2):
            self._admit(message)
        if (time.monotonic() - self._last_commit) * 1000 >= self.wb.commit_interval_ms:
            self._commit()

    def _drain(self, timeout_s: float | None = None) -> None:
        """Wait for the requests in flight (their outcomes are committed; the rest resent later)."""
        deadline = time.monotonic() + (timeout_s or self.wb.request_timeout_s)
        while self._futures and time.monotonic() < deadline:
            time.sleep(0.02)
            self._collect(time.monotonic())

    # --- input -------------------------------------------------------------------------------

    def _admit(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error: %s", error.str())
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        part_log = self._logs.get((topic, partition))
        if part_log is None:  # a late record of a partition no longer ours
            return
        raw = message.value() or b""
        self._records_in.inc(topic)
        headers = header_map(message.headers())
        item = Pending(topic, partition, offset, raw, message.key(), headers.get("source_position"))
        if tracing.enabled():
            item.traceparent, item.received_ns = headers.get("traceparent"), time.time_ns()
        part_log.add(item)
        self._pending += 1
        self.stats["in"] += 1
        try:
            decoded = self.codec.decode(raw, topic)
            if decoded.schema != self.scored_schema:
                raise DecodeError(f"a {decoded.schema} record, not a {self.scored_schema}")
        except DecodeError as exc:
            self._dead(item, f"cannot read the input record: {exc}", "UndecodableRecord")
            return
        document = decoded.value.get("document") or {}
        item.document_id = str(document.get("document_id") or "")
        item.url = str(document.get("url") or "")
        try:
            item.operation = operation_for(decoded.value, self.wb)
        except Skip as exc:
            item.finish("SKIPPED", message=str(exc))
            self.stats["skipped"] += 1
            return
        except Reject as exc:
            self._dead(item, str(exc), "DocumentNotWritable")
            return
        if not fits_alone(item.operation, self.wb.max_request_bytes):
            size = len(item.operation.encoded)
            self._dead(
                item,
                f"the document is {size} bytes as an operation; a bulk request may hold at "
                f"most {self.wb.max_request_bytes} bytes (Talkwalker's 5120 kB limit)",
                "DocumentTooLarge",
            )
            return
        item.queued_at = time.monotonic()
        self._queue.append(item)

    def _dead(self, item: Pending, reason: str, error_class: str, code: str | None = None) -> None:
        item.dead_reason, item.dead_class = reason, error_class
        item.finish("FAILED", code, reason)
        self.stats["failed"] += 1

    # --- sending -----------------------------------------------------------------------------

    def _release(self, now: float) -> None:
        """Records whose retry wait is over go back to the front of the queue, oldest first."""
        if not self._waiting:
            return
        due = [p for p in self._waiting if p.not_before <= now and not p.revoked]
        if not due:
            return
        self._waiting = [p for p in self._waiting if p.not_before > now and not p.revoked]
        due.sort(key=lambda p: (p.partition, p.offset))
        self._queue.extendleft(reversed(due))

    def _due(self, now: float) -> bool:
        if not self._queue:
            return False
        if self._stop.is_set() or len(self._queue) >= self.wb.max_operations:
            return True
        if (now - self._queue[0].queued_at) * 1000 >= self.wb.linger_ms:
            return True
        size = 0
        for item in self._queue:  # stops at the first request's worth
            size += len(item.operation.encoded) + 1 if item.operation else 0
            if size >= self.wb.max_request_bytes:
                return True
        return False

    def _send(self, pool: ThreadPoolExecutor, now: float) -> None:
        while len(self._futures) < self.wb.max_in_flight and self._due(now):
            busy = {p.url for batch in self._futures.values() for p in batch}
            limit = self._split_limit or self.wb.max_operations
            batch = pack(self._queue, self.wb.max_request_bytes, limit, busy)
            if not batch:
                return
            for item in batch:
                item.in_flight = True
                item.requests += 1
            self._queue = deque(p for p in self._queue if not p.in_flight)
            body = request_body(p.operation.encoded for p in batch if p.operation)
            urls = [p.url for p in batch]
            self._futures[pool.submit(self.client.bulk, body, urls)] = batch
            self.stats["requests"] += 1

    def _collect(self, now: float) -> None:
        for future in [f for f in self._futures if f.done()]:
            batch = self._futures.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # a bug in the client must not lose the batch
                outcome = BulkOutcome(failure=RequestFailure.RETRY_LATER, reason=repr(exc))
            live = [p for p in batch if not p.revoked]
            for item in batch:
                item.in_flight = False
            if outcome.results is not None:
                self._split_limit = None
                self._request_failures = 0
                for item, result in zip(batch, outcome.results, strict=True):
                    if not item.revoked:
                        self._settle(item, result.verdict, result.code, result.message, now)
            else:
                self._request_failed(live, outcome, now)

    def _settle(self, item: Pending, verdict: Verdict, code: str, message: str, now: float) -> None:
        if verdict is Verdict.OK:
            item.finish("OK", code, message)
            self.stats["ok"] += 1
            return
        reason = f"Talkwalker code {code}: {message}"
        if verdict is Verdict.PERMANENT:
            self._dead(item, f"Talkwalker refused the document: {reason}", "DocumentRejected", code)
            return
        item.failures += 1
        self.stats["retried"] += 1
        if item.failures >= self.wb.max_attempts:
            self._dead(
                item,
                f"gave up after {item.failures} attempts; the last answer: {reason}",
                "RetriesExhausted",
                code,
            )
            return
        item.code, item.message = code, message
        item.not_before = now + self._backoff(item.failures)
        self._waiting.append(item)

    def _request_failed(self, batch: list[Pending], outcome: BulkOutcome, now: float) -> None:
        if outcome.failure is RequestFailure.STOP:
            self._commit()  # keep what is final, then stop with the reason
            raise WritebackStopped(outcome.reason)
        if outcome.failure is RequestFailure.SPLIT:
            if len(batch) == 1:
                reason = (
                    f"Talkwalker refused a request holding only this document: {outcome.reason}"
                )
                self._dead(batch[0], reason, "DocumentRejected")
                return
            self._split_limit = max(1, len(batch) // 2)
            log.warning(
                "a bulk request was refused whole (%s); resending in halves", outcome.reason
            )
            for item in batch:
                item.not_before = now
            self._waiting.extend(batch)
            return
        self._request_failures += 1
        delay = outcome.retry_after_s
        if delay is None:
            delay = self._backoff(self._request_failures)
        log.warning(
            "bulk request failed (%s); resending its %d documents in %.1f s",
            outcome.reason,
            len(batch),
            delay,
        )
        self.stats["request_failures"] += 1
        for item in batch:
            item.not_before = now + delay
        self._waiting.extend(batch)

    def _backoff(self, attempt: int) -> float:
        return self._retry.backoff(attempt)

    def _backpressure(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        if not self._paused and self._pending >= self.wb.max_pending:
            consumer.pause(consumer.assignment())
            self._paused = True
            WRITEBACK_PAUSED.set(1)
            self.stats["pauses"] += 1
            log.info("%d documents without an outcome: pausing the input", self._pending)
        elif self._paused and self._pending <= self.wb.max_pending * 0.8:
            consumer.resume(consumer.assignment())
            self._paused = False
            WRITEBACK_PAUSED.set(0)

    # --- committing --------------------------------------------------------------------------

    def _commit(self) -> None:
        self._last_commit = time.monotonic()
        done = [item for part_log in self._logs.values() for item in part_log.pop_final()]
        if not done:
            return
        producer, publisher, dlq, consumer = (
            self._producer,
            self._publisher,
            self._dlq,
            self._consumer,
        )
        assert producer and publisher and dlq and consumer
        completed = int(time.time() * 1000)
        producer.begin()
        try:
            for item in done:
                with self._span(item):
                    position = f"{item.topic}:{item.partition}:{item.offset}"
                    if item.outcome and item.dead_class != "UndecodableRecord":
                        result = self._result(item, completed)
                        publisher.publish(RESULTS, item.document_id, result, position)
                    if item.dead_reason is not None:
                        dlq.write(
                            item.raw, item.dead_reason, item.dead_class, position, key=item.key
                        )
            offsets = [TopicPartition(t, p, o) for (t, p), o in offsets_after(done).items()]
            producer.send_offsets(offsets, consumer.consumer_group_metadata())
        except BaseException as exc:
            producer.abort_after(exc)
            raise
        producer.commit()
        self._pending -= len(done)
        self.stats["committed"] += len(done)
        WRITEBACK_PENDING.set(self._pending)
        for item in done:
            if item.outcome:
                WRITEBACK_OUTCOMES.labels(item.outcome).inc()

    def _span(self, item: Pending) -> AbstractContextManager[object]:
        """The document's write-back span, from when it was read to its committed outcome, in
        the trace its input carried."""
        if not tracing.enabled():
            return nullcontext()
        attributes = {
            "socialstream.outcome": item.outcome or "DEAD_LETTER",
            "socialstream.attempts": item.requests,
            "socialstream.source_position": f"{item.topic}:{item.partition}:{item.offset}",
        }
        return tracing.continued(
            COMPONENT, "write", item.traceparent, item.received_ns or None, attributes
        )

    def _result(self, item: Pending, completed: int) -> dict[str, Any]:
        operation = item.operation.operation if item.operation else self.wb.operation
        return {
            "document_id": item.document_id,
            "url": item.url,
            "operation": operation.upper(),
            "outcome": item.outcome,
            "status_code": item.code,
            "status_message": item.message,
            "attempts": max(1, item.requests),
            "completed_at": completed,
            "lineage": lineage(item),
        }

    # --- rebalancing -------------------------------------------------------------------------

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._logs.setdefault((tp.topic, tp.partition), PartitionLog())
        if self._paused:
            consumer.pause(partitions)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            self._commit()  # what is final is committed before another instance takes over
        except KafkaException as exc:
            log.warning("commit on revoke failed (the new owner resends): %s", exc)
        self._forget(partitions)

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            part_log = self._logs.pop((tp.topic, tp.partition), None)
            if part_log is None:
                continue
            for item in part_log.records:
                item.revoked = True
            self._pending -= len(part_log.records)
        self._queue = deque(p for p in self._queue if not p.revoked)
        self._waiting = [p for p in self._waiting if not p.revoked]
