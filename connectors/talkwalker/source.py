"""`socialstream run talkwalker`: the streaming API v2 into Kafka, exactly once.

How exactly-once works here:

* Records, DLQ records and the checkpoint go out in one Kafka transaction, committed at least
  every `commit_interval_ms` (a consumer sees a document within that of its chunk arriving) and
  never held until a timeframe ends (timeframes are unbounded). A commit waits for the broker,
  so it runs on a thread of its own while the stream goes on being read and its results
  transcoded (up to `BACKLOG` results); they are produced into the next transaction once the
  commit is done, and anything else the stream brings waits for it first.
* The checkpoint says which timeframe is in progress (`timeframe_start`, what `stream_resume`
  takes) and where its records may begin in `talkwalker.results` (`scan_from`, offsets a
  partition). Talkwalker replays a resumed timeframe whole and unsorted, so after any reconnect
  or restart the connector reads back the committed records of that timeframe from `scan_from`
  and drops what the replay resends: only the current timeframe is ever held in memory, and only
  after a reconnect.
* One writer a stream selector: a Kafka group lease picks the writer; standbys wait, and a new
  writer's `init_transactions` fences any zombie of the old one.
* Calls stay within the vendor's 5 a minute across restarts: connection times are persisted
  (in their own transaction) before each connect and reloaded on start.
"""

from __future__ import annotations

import logging
import random
import re
import time
from binascii import unhexlify
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from socialstream.connectors.talkwalker.errors import (
    Action,
    ErrorCode,
    lookup,
)
from socialstream.connectors.talkwalker.fast_results import result_lines, result_records
from socialstream.connectors.talkwalker.models import (
    ControlChunk,
    ErrorChunk,
    ResultChunk,
    parse_chunk,
)
from socialstream.connectors.talkwalker.records import (
    chunk_error_record,
    control_record,
    document_id,
    result_record,
)
from socialstream.runtime.checkpoints import CheckpointStore
from socialstream.runtime.codec import Codec, codec_from_settings
from socialstream.runtime.connector import LeaseLost, SingleWriterConnector, StopConnector
from socialstream.runtime.consumer import end_offsets, read_to_end
from socialstream.runtime.dlq import DeadLetterWriter
from socialstream.runtime.httpclient import (
    RetryPolicy,
    UpstreamError,
    make_client,
    read_capped,
    retry_after_seconds,
)
from socialstream.runtime.lease import SingleWriterLease
from socialstream.runtime.lenient import loads
from socialstream.runtime.linestream import EventKind, LineReader
from socialstream.runtime.metrics import QUOTA_ALLOWANCE, QUOTA_USAGE, UPSTREAM_ERRORS
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.ratelimit import SlidingWindowLimiter
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import Settings, TalkwalkerSettings

log = logging.getLogger(__name__)

COMPONENT = "talkwalker"
ERROR_BODY_BYTES = 64 * 1024  # an error answer's body is read this far, no further
BACKLOG = 2000  # results transcoded while a commit is in flight, at most (~5 MB)
RESULTS = "talkwalker.results"
CONTROL = "talkwalker.control"
ERRORS = "talkwalker.errors"


Result = tuple[bytes, bytes, list[tuple[str, bytes]]]  # a result's key, value and headers


@dataclass
class Stats:
    """Counters an operator (and the tests) read."""

    results: int = 0
    replayed_skipped: int = 0
    controls: int = 0
    controls_skipped: int = 0
    errors: int = 0
    dead_letters: int = 0
    repaired_lines: int = 0
    transactions: int = 0
    connections: int = 0
    truncated_tails: int = 0


@dataclass
class TimeframeState:
    """The timeframe in progress and what of it is committed."""

    start: int | None = None
    scan_from: dict[int, int] = field(default_factory=dict)
    seen: set[bytes] = field(default_factory=set)
    committed: int = 0

    def position(self) -> dict[str, Any]:
        return {
            "timeframe_start": self.start,
            "scan_from": {str(p): o for p, o in self.scan_from.items()},
            "committed_in_timeframe": self.committed,
        }


@dataclass
class Outcome:
    """How a connection ended and what to do next."""

    action: Action
    reason: str
    wait: float | None = None
    productive: bool = False


def slug(selector: str) -> str:
    """A name for ids and keys from a stream selector (`a,b` -> `a_b`, `x*` -> `x_all`)."""
    text = selector.replace("*", "all").replace(",", "_").replace("-", "not-")
    return re.sub(r"[^a-zA-Z0-9_.-]", "_", text) or "all"


class TalkwalkerSource(SingleWriterConnector):
    """Streams one selector through the account's single connection into Kafka."""

    component = COMPONENT

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.tw: TalkwalkerSettings = settings.talkwalker
        super().__init__(settings, slug(self.tw.streams), self.tw.lease_session_timeout_ms)
        if self.tw.access_token is None:
            raise StopConnector("SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN is not set")
        self.codec = codec or codec_from_settings(settings)
        self.stats = Stats()
        self.limiter = SlidingWindowLimiter(self.tw.calls_per_window, self.tw.window_s)

    def stats_summary(self) -> dict[str, Any]:
        return vars(self.stats)

    # --- the writer -----------------------------------------------------------------------

    def run_as_writer(self, lease: SingleWriterLease) -> None:
        kafka, topics = self.settings.kafka, self.settings.topics
        producer = TransactionalProducer(kafka, f"{COMPONENT}.{self.name}")
        publisher = Publisher(producer, self.codec, topics, source=COMPONENT)
        self._lease = lease
        self._producer = producer
        self._publisher = publisher
        self._dlq = DeadLetterWriter(publisher, COMPONENT)
        self._store = CheckpointStore(kafka, topics, self.codec, COMPONENT)
        self._results_topic = publisher.topic(RESULTS)
        self._results_framing = publisher.frame(RESULTS, b"")  # what precedes each Avro body
        self._pending = 0
        self._txn_started = 0.0
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="txn-commit")
        self._inflight: Future[None] | None = None  # a commit on the committer's thread
        self._backlog: list[list[Result]] = []  # read while a commit is in flight
        self._backlog_size = 0
        try:
            self._next_offset = end_offsets(kafka, self._results_topic)
            self._timeframe = self._recover()
            self._stream_loop()
        finally:
            self._committer.shutdown(wait=True)
            producer.close()

    def _recover(self) -> TimeframeState:
        calls = self._store.load(f"{self.name}#calls")
        if calls:
            self.limiter.preload([float(t) for t in calls.get("times", [])])
        position = self._store.load(self.name)
        if not position or position.get("timeframe_start") is None:
            log.info("no checkpoint: starting the stream", extra={"start": self.tw.start})
            return TimeframeState()
        state = TimeframeState(
            start=int(position["timeframe_start"]),
            scan_from={int(p): int(o) for p, o in position.get("scan_from", {}).items()},
        )
        self._rebuild_seen(state)
        log.info(
            "resuming from checkpoint",
            extra={"timeframe_start": state.start, "already_committed": len(state.seen)},
        )
        return state

    def _rebuild_seen(self, state: TimeframeState) -> None:
        """Read back what is committed of the current timeframe, to drop it from the replay."""
        prefix = self._position_prefix(state.start).encode()
        seen: set[bytes] = set()
        for msg in read_to_end(
            self.settings.kafka, self._results_topic, timeout_s=120, start=state.scan_from
        ):
            for key, value in msg.headers() or []:
                if key == "source_position" and value and value.startswith(prefix):
                    seen.add(bytes.fromhex(msg.key().decode()[:32]))
                    break
        state.seen = seen
        state.committed = len(seen)

    def _position_prefix(self, timeframe_start: int | None) -> str:
        return f"stream={self.tw.streams};timeframe_start={timeframe_start};"

    # --- transactions ---------------------------------------------------------------------

    def _ensure_transaction(self) -> None:
        self._settle()
        if not self._producer.in_transaction:
            if not self._lease.held:
                raise LeaseLost("the lease moved to another instance")
            self._producer.begin()
            self._txn_started = time.monotonic()

    def _commit(self) -> None:
        """Commit the open transaction and wait for it (and for one already in flight)."""
        self._settle()
        self._start_commit()
        self._settle()

    def _start_commit(self) -> None:
        """Write the checkpoint and commit the open transaction on the committer's thread."""
        if not self._producer.in_transaction or self._inflight is not None:
            return
        self._timeframe.committed += self._pending
        self._pending = 0
        self._store.write(self._publisher, self.name, self._timeframe.position())
        self._inflight = self._committer.submit(self._producer.commit)

    def _settle(self) -> None:
        """Wait for the commit in flight (raising what it raised), then produce the results read
        meanwhile into a new transaction."""
        if self._inflight is None:
            return
        inflight, self._inflight = self._inflight, None
        inflight.result()
        self.stats.transactions += 1
        for (topic, partition), offset in self._producer.delivered.items():
            if topic == self._results_topic:
                self._next_offset[partition] = max(self._next_offset.get(partition, 0), offset + 1)
        backlog, self._backlog, self._backlog_size = self._backlog, [], 0
        for results in backlog:
            self._publish_results(results)

    def _abort(self) -> None:
        """Abort the open transaction; a commit in flight ends as it will, and the results read
        meanwhile are dropped (nothing of them is committed: the replay resends them)."""
        inflight, self._inflight = self._inflight, None
        self._backlog, self._backlog_size = [], 0
        if inflight is not None:
            try:
                inflight.result()
            except Exception as exc:  # the error being handled is the one to raise
                log.warning("a commit in flight failed while aborting: %s", redact_text(str(exc)))
        if self._producer.in_transaction:
            self._producer.abort_after(None)
        self._pending = 0

    # --- the stream -----------------------------------------------------------------------

    def _params(self) -> dict[str, str]:
        assert self.tw.access_token is not None
        params = {"access_token": self.tw.access_token.get_secret_value()}
        resume = self._timeframe.start if self._timeframe.start is not None else self.tw.start
        if resume is not None:
            params["stream_resume"] = str(resume)
        if self.tw.stop is not None:
            params["stream_stop"] = str(self.tw.stop)
        if self.tw.query:
            params["q"] = self.tw.query
        return params

    def _path(self) -> str:
        base = f"/api/v2/stream/s/{self.tw.streams}"
        return f"{base}/p/{self.tw.project_id}/results" if self.tw.project_id else f"{base}/results"

    def _record_call(self) -> None:
        """Wait for the rate limit, then persist the call before making it."""
        waited = self.limiter.acquire(interrupted=self._stop.is_set)
        if waited:
            log.info("waited %.1f s for the Talkwalker rate limit", waited)
        with self._producer.transaction():
            self._store.write(self._publisher, f"{self.name}#calls", {"times": self.limiter.recent})

    def _stream_loop(self) -> None:
        timeout = httpx.Timeout(10.0, read=self.tw.stall_timeout_s)
        headers = {"Accept-Encoding": "gzip" if self.tw.gzip else "identity"}
        assert self.tw.access_token is not None
        client = make_client(
            self.tw.base_url,
            retry=RetryPolicy(max_attempts=1),  # retries are ours: each one is a rate-limited call
            timeout=timeout,
            headers=headers,
            secret_values=[self.tw.access_token.get_secret_value()],
            ca_file=self.tw.ca_file,
            max_body_bytes=None,  # an endless stream: each line is bounded instead
        )
        attempt = 0
        with client:
            while not self._stop.is_set():
                if not self._lease.held:
                    raise LeaseLost("the lease moved to another instance")
                self._record_call()
                self.stats.connections += 1
                try:
                    request = client.build_request("GET", self._path(), params=self._params())
                    response = client.send(request, stream=True)
                except (httpx.HTTPError, UpstreamError) as exc:  # refused, TLS, DNS, timeout
                    self._transport_error(f"connect failed: {type(exc).__name__}: {exc}")
                    attempt += 1
                    self._sleep(self._backoff(attempt))
                    continue
                if response.status_code != 200:
                    wait = self._http_error(response)
                    attempt += 1
                    self._sleep(wait if wait is not None else self._backoff(attempt))
                    continue
                self.blocked = None  # connected: reachable, and credits allow reading again
                outcome = self._consume(response)
                if outcome.action is Action.STOP:
                    raise StopConnector(outcome.reason)
                if outcome.productive:
                    attempt = 0
                attempt += 1
                if self._stop.is_set():
                    break
                if self.tw.stop is not None and (self._timeframe.start or 0) >= self.tw.stop:
                    log.info("reached stream_stop; the stream is complete")
                    self._stop.set()
                    return
                self._after_disconnect()
                self._sleep(outcome.wait if outcome.wait is not None else self._backoff(attempt))

    def _after_disconnect(self) -> None:
        """The timeframe in progress will be replayed: know what of it is committed."""
        if self._timeframe.start is not None:
            self._rebuild_seen(self._timeframe)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.tw.backoff_max_s, 0.5 * 2 ** min(attempt, 16))
        return random.uniform(ceiling / 2, ceiling)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _publish_error(self, record: dict[str, Any]) -> None:
        self._ensure_transaction()
        self._publisher.publish(ERRORS, self.tw.streams, record)
        self.stats.errors += 1
        self._commit()

    def _error_record(
        self, origin: str, message: str, entry: ErrorCode | None, http: int | None
    ) -> dict[str, Any]:
        return {
            "origin": origin,
            "status_code": entry.code if entry else None,
            "http_status": http,
            "message": redact_text(message),
            "meaning": entry.describe() if entry else None,
            "details": [],
            "stream_ids": self.tw.streams,
            "timeframe_start": self._timeframe.start,
            "occurred_at": int(time.time() * 1000),
            "extra": None,
        }

    def _transport_error(self, message: str) -> None:
        self.blocked = f"upstream unreachable: {redact_text(message)[:200]}"
        log.warning("Talkwalker stream: %s", redact_text(message))
        self._publish_error(self._error_record("TRANSPORT", message, None, None))

    def _http_error(self, response: httpx.Response) -> float | None:
        """Record an error answer, act on its code; returns how long to wait (None: backoff)."""
        body = read_capped(response, ERROR_BODY_BYTES)
        code: str | None = None
        vendor_message: str | None = None
        try:
            data, _ = loads(body)
            if isinstance(data, dict):
                code = str(data.get("status_code")) if data.get("status_code") is not None else None
                vendor_message = data.get("status_message")
        except ValueError:
            pass
        entry = lookup(code, response.status_code)
        UPSTREAM_ERRORS.labels(COMPONENT, entry.code or str(response.status_code)).inc()
        self.blocked = f"upstream answered HTTP {response.status_code}: {entry.describe()}"
        message = f"HTTP {response.status_code}: {vendor_message or body[:200]!r}"
        log.warning(
            entry.describe(),
            extra={"http_status": response.status_code, "code": entry.code},
        )
        self._publish_error(self._error_record("HTTP", message, entry, response.status_code))
        if entry.action is Action.STOP:
            raise StopConnector(entry.describe())
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after
        if entry.action is Action.WAIT_RATE_LIMIT:
            return self.limiter.wait_time() + self.tw.window_s / self.tw.calls_per_window
        if entry.action is Action.WAIT_CREDITS:
            self.blocked = entry.describe()
            return self.tw.credits_wait_s
        return None

    def _consume(self, response: httpx.Response) -> Outcome:
        """Read one connection to its end; commit what it brought."""
        reader = LineReader(response)
        interval = self.tw.commit_interval_ms / 1000
        line_no = 0
        productive = False
        outcome = Outcome(Action.RECONNECT, "the stream ended")
        try:
            while True:
                if self._stop.is_set():
                    outcome = Outcome(Action.RECONNECT, "stopping")
                    break
                wait = interval - (time.monotonic() - self._txn_started) if self._pending else 1.0
                if self._inflight is not None:
                    wait = min(wait, 0.002)  # its backlog goes out as soon as it is done
                event = reader.get(max(0.0, wait))
                if self._inflight is not None and self._inflight.done():
                    self._settle()
                if self._pending and (
                    self._pending >= self.tw.max_batch
                    or time.monotonic() - self._txn_started >= interval
                ):
                    self._start_commit()
                if event is None:
                    continue
                if event.kind is EventKind.LINES:
                    action, line_no, read = self._handle_lines(event.lines, line_no)
                    productive = productive or read
                    if action is not None:
                        outcome = action
                        break
                elif event.kind is EventKind.OVERSIZE:
                    self._ensure_transaction()
                    self._dlq.write(
                        event.data,
                        "line longer than the 16 MiB limit; cut off",
                        "OversizeLine",
                        source_position=self._position_prefix(self._timeframe.start)
                        + f"line={line_no}",
                        intended_topic=RESULTS,
                    )
                    self.stats.dead_letters += 1
                else:
                    if event.data.strip():
                        self.stats.truncated_tails += 1  # resent on resume; never parsed
                    if event.kind is EventKind.ERROR:
                        self._commit()
                        self._transport_error(event.error)
                        outcome = Outcome(Action.RECONNECT, event.error)
                    break
            self._commit()
        except BaseException:
            self._abort()
            raise
        finally:
            reader.close()
        outcome.productive = productive
        return outcome

    def _publish_results(self, results: list[Result]) -> None:
        """Produce results, but those a replay resends that are already committed."""
        self._ensure_transaction()
        seen = self._timeframe.seen
        if seen:
            fresh = [r for r in results if unhexlify(r[0][:32]) not in seen]
            self.stats.replayed_skipped += len(results) - len(fresh)
            results = fresh
        if results:
            self._publisher.publish_encoded_many(RESULTS, results)
            self._pending += len(results)
            self.stats.results += len(results)

    def _queue_results(self, results: list[Result]) -> None:
        """Produce results now, or once the commit in flight is done (while the backlog has
        room: a full one waits for the commit)."""
        if self._inflight is not None and self._backlog_size < BACKLOG:
            self._backlog.append(results)
            self._backlog_size += len(results)
        else:
            self._publish_results(results)

    def _handle_lines(
        self, lines: tuple[bytes, ...], line_no: int
    ) -> tuple[Outcome | None, int, bool]:
        """The lines of one read, in order: (how the connection must end, if it must; the last
        line's number; whether any line was more than a keep-alive). The common line, a
        CT_RESULT, goes from bytes to record values in C, a run of them at a time
        (`result_lines`); any other line goes to `_handle_line`."""
        first_no = line_no
        framing = self._results_framing
        index, count = 0, len(lines)
        while index < count:
            start = self._timeframe.start  # a control chunk may have begun the next one
            prefix = (self._position_prefix(start) + "line=").encode()
            headers = tuple(self._publisher.headers(RESULTS))
            results, index, line_no = result_lines(
                lines, index, start, framing, prefix, line_no, headers
            )
            if results:
                self._queue_results(results)
            if index == count:
                break
            line = lines[index]
            index += 1
            if not line or line.isspace():
                continue  # keep-alive
            line_no += 1
            action = self._handle_line(line, line_no)
            if action is not None:
                return action, line_no, True
        return None, line_no, line_no > first_no

    def _encoded_results(
        self, value: Any, chunk: ResultChunk | None
    ) -> list[tuple[str, bytes]] | None:
        """(document id, encoded record) of each result of a decoded CT_RESULT chunk, all or
        none (a result its schema cannot hold raises ValueError): the fast path's when it reads
        the chunk, else the models' when `chunk` is given; None: not a result chunk."""
        start = self._timeframe.start
        if chunk is None:
            records = result_records(value, start)
        else:
            records = [
                (document_id(b.data.url), result_record(b, start)) for b in chunk.chunk_result
            ]
        if records is None:
            return None
        encode = self._publisher.encode
        return [(doc_id, encode(RESULTS, record)) for doc_id, record in records]

    def _handle_line(self, line: bytes, line_no: int) -> Outcome | None:
        """A line the transcoder did not read: results through the Python paths, a control or
        error chunk, or a dead letter."""
        position = self._position_prefix(self._timeframe.start) + f"line={line_no}"
        try:
            value, repaired = loads(line)
            results = self._encoded_results(value, None)
            chunk = parse_chunk(value) if results is None else None
            if isinstance(chunk, ResultChunk):
                results = self._encoded_results(value, chunk)
        except ValueError as exc:  # not JSON, not a chunk, or a value no record field holds
            self._ensure_transaction()
            self._dlq.write(line, str(exc), exc, position, intended_topic=RESULTS)
            self.stats.dead_letters += 1
            return None
        if repaired:
            self.stats.repaired_lines += 1
        if results is not None:
            headers = self._publisher.headers(RESULTS, position)
            self._publish_results([(doc_id.encode(), value, headers) for doc_id, value in results])
            return None
        if isinstance(chunk, ControlChunk):
            start = chunk.chunk_control.timeframe_start
            if start == self._timeframe.start:
                self.stats.controls_skipped += 1  # the replayed timeframe's control chunk
                return None
            self._commit()  # records of the previous timeframe end here
            self._timeframe = TimeframeState(start=start, scan_from=dict(self._next_offset))
            self._ensure_transaction()
            self._publisher.publish(
                CONTROL, self.tw.streams, control_record(chunk.chunk_control), position
            )
            self.stats.controls += 1
            self._commit()
            for stream in chunk.chunk_control.stream:
                if stream.id is not None and stream.usage is not None:
                    QUOTA_USAGE.labels(COMPONENT, stream.id).set(stream.usage)
                if stream.id is not None and stream.allowance is not None:
                    QUOTA_ALLOWANCE.labels(COMPONENT, stream.id).set(stream.allowance)
            return None
        assert isinstance(chunk, ErrorChunk)
        entry = lookup(chunk.chunk_error.status_code)
        UPSTREAM_ERRORS.labels(COMPONENT, entry.code or "unknown").inc()
        log.warning(entry.describe(), extra={"vendor_message": chunk.chunk_error.status_message})
        self._ensure_transaction()
        self._publisher.publish(
            ERRORS,
            self.tw.streams,
            chunk_error_record(
                chunk.chunk_error, entry.describe(), self.tw.streams, self._timeframe.start
            ),
            position,
        )
        self.stats.errors += 1
        self._commit()
        if entry.action is Action.STOP:
            return Outcome(Action.STOP, entry.describe())
        if entry.action is Action.WAIT_CREDITS:
            self.blocked = entry.describe()
            return Outcome(Action.RETRY, entry.describe(), wait=self.tw.credits_wait_s)
        if entry.action is Action.WAIT_RATE_LIMIT:
            return Outcome(Action.RETRY, entry.describe(), wait=self.limiter.wait_time())
        if entry.code == "24":
            return Outcome(Action.RECONNECT, entry.describe(), wait=self.tw.window_s)
        return Outcome(entry.action, entry.describe())


__all__ = ["StopConnector", "TalkwalkerSource"]
