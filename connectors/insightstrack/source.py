"""`socialstream run insightstrack`: the InsightsTrack stream into Kafka, gaps made visible.

InsightsTrack has no resume parameter, so what matters is being honest about coverage:

* A stall (no byte, keep-alives included, for `stall_timeout_s`) ends the connection well before
  any TCP timeout would; every disconnect, stall or restart writes one `GAP` record to
  `insightstrack.control` with the window (last byte seen, first byte of the new connection) that
  may miss events, and the reason.
* Reconnects back off as the vendor asks: linearly after network errors, doubling after HTTP
  errors (503), doubling from a minute after 429; always with jitter.
* Events a reconnect resends are not published twice: the ids of the last `dedup_window` events
  are remembered, rebuilt after a restart from the tails of the topics themselves.
* Records and the checkpoint commit in one Kafka transaction; one writer a stream label (lease).
* A revoke is published and the user's rule is dropped from the desired rules (kept in the
  checkpoint so `rules sync` does not re-add it), with a warning an operator will notice.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from typing import Any

import httpx

from socialstream.connectors.insightstrack.fast_events import fast_event
from socialstream.connectors.insightstrack.models import (
    EventError,
    SummaryEvent,
    TweetEvent,
    UserEvent,
    parse_event,
)
from socialstream.connectors.insightstrack.records import (
    summary_record,
    tweet_record,
    user_event_record,
)
from socialstream.runtime.checkpoints import CheckpointStore
from socialstream.runtime.codec import Codec, codec_from_settings
from socialstream.runtime.connector import SingleWriterConnector, StopConnector
from socialstream.runtime.consumer import end_offsets, read_to_end
from socialstream.runtime.dlq import DeadLetterWriter
from socialstream.runtime.httpclient import RetryPolicy, UpstreamError, make_client
from socialstream.runtime.lease import SingleWriterLease
from socialstream.runtime.lenient import LenientParseError, loads
from socialstream.runtime.linestream import EventKind, LineReader
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import InsightsTrackSettings, Settings

log = logging.getLogger(__name__)

COMPONENT = "insightstrack"
TWEETS = "insightstrack.tweets"
SUMMARIES = "insightstrack.summaries"
USERS = "insightstrack.users"
CONTROL = "insightstrack.control"


class RecentIds:
    """The last `limit` event ids, oldest forgotten first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.limit:
            self._ids.popitem(last=False)


def event_id(event: TweetEvent | SummaryEvent | UserEvent) -> str:
    """What identifies an event across reconnects."""
    if isinstance(event, TweetEvent):
        return f"tweet:{event.tweet_event.create.tweet_id}"
    if isinstance(event, SummaryEvent):
        return f"summary:{event.summary_event.target.id}:{event.summary_event.end_time}"
    action = event.action
    return f"user:{action.source.user_id}:{event.event_type}:{action.date_time}"


class InsightsTrackSource(SingleWriterConnector):
    """Streams one account/label into Kafka."""

    component = COMPONENT

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.it: InsightsTrackSettings = settings.insightstrack
        super().__init__(
            settings, f"{self.it.account}.{self.it.label}", self.it.lease_session_timeout_ms
        )
        if self.it.bearer_token is None or not self.it.account:
            raise StopConnector(
                "set SOCIALSTREAM_INSIGHTSTRACK__BEARER_TOKEN and "
                "SOCIALSTREAM_INSIGHTSTRACK__ACCOUNT"
            )
        self.codec = codec or codec_from_settings(settings)
        self.stats: dict[str, int] = dict.fromkeys(
            ("events", "duplicates", "dead_letters", "gaps", "connections", "revokes"), 0
        )

    def stats_summary(self) -> dict[str, Any]:
        return self.stats

    # --- setup ----------------------------------------------------------------------------

    def run_as_writer(self, lease: SingleWriterLease) -> None:
        kafka, topics = self.settings.kafka, self.settings.topics
        self._lease = lease
        self._producer = TransactionalProducer(kafka, f"{COMPONENT}.{self.name}")
        self._publisher = Publisher(self._producer, self.codec, topics, source=COMPONENT)
        self._dlq = DeadLetterWriter(self._publisher, COMPONENT)
        self._store = CheckpointStore(kafka, topics, self.codec, COMPONENT)
        self._pending = 0
        self._txn_started = 0.0
        try:
            position = self._store.load(self.name) or {}
            self._last_byte_ms: int | None = position.get("last_byte_at")
            self._revoked: list[int] = list(position.get("revoked", []))
            self._recent = self._rebuild_recent()
            self._stream_loop(restarted=self._last_byte_ms is not None)
        finally:
            self._producer.close()

    def _rebuild_recent(self) -> RecentIds:
        """The ids of the last events published, read back from the topics' tails."""
        recent = RecentIds(self.it.dedup_window)
        prefix = f"label={self.name};event=".encode()
        for declared in (TWEETS, SUMMARIES, USERS):
            topic = self._publisher.topic(declared)
            ends = end_offsets(self.settings.kafka, topic)
            share = max(1, self.it.dedup_window // max(1, len(ends)))
            start = {p: max(0, high - share) for p, high in ends.items()}
            for msg in read_to_end(self.settings.kafka, topic, timeout_s=120, start=start):
                for key, value in msg.headers() or []:
                    if key == "source_position" and value and value.startswith(prefix):
                        recent.add(value[len(prefix) :].decode())
        return recent

    # --- transactions ---------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._producer.in_transaction:
            self._producer.begin()
            self._txn_started = time.monotonic()

    def _commit(self) -> None:
        if not self._producer.in_transaction:
            return
        self._store.write(
            self._publisher,
            self.name,
            {"last_byte_at": self._last_byte_ms, "revoked": self._revoked},
        )
        self._producer.commit()
        self._pending = 0

    # --- the stream -----------------------------------------------------------------------

    def _stream_loop(self, restarted: bool) -> None:
        assert self.it.bearer_token is not None
        token = self.it.bearer_token.get_secret_value()
        client = make_client(
            self.it.base_url,
            retry=RetryPolicy(max_attempts=1),
            timeout=httpx.Timeout(10.0, read=self.it.stall_timeout_s),
            headers={"Authorization": f"Bearer {token}"},
            secret_values=[token],
            ca_file=self.it.ca_file,
            max_body_bytes=None,  # an endless stream: each line is bounded instead
        )
        path = (
            f"/stream/insightstrack/accounts/{self.it.account}/publishers/twitter/"
            f"{self.it.label}.json"
        )
        gap_reason: str | None = "connector (re)started" if restarted else None
        failures = {"network": 0, "http": 0, "rate": 0}
        with client:
            while not self._stop.is_set():
                if not self._lease.held:
                    return
                self.stats["connections"] += 1
                try:
                    response = client.send(client.build_request("GET", path), stream=True)
                except (httpx.HTTPError, UpstreamError) as exc:  # refused, TLS, DNS, timeout
                    self.blocked = f"upstream unreachable: {type(exc).__name__}"
                    gap_reason = gap_reason or f"connect failed: {type(exc).__name__}"
                    failures["network"] += 1
                    self._sleep(self._wait("network", failures["network"]))
                    continue
                if response.status_code != 200:
                    status = response.status_code
                    response.close()
                    if status in (401, 403):
                        raise StopConnector(
                            f"InsightsTrack answered {status}: check the bearer token and that the "
                            "app is on the allowlist"
                        )
                    self.blocked = f"upstream answered HTTP {status}"
                    kind = "rate" if status == 429 else "http"
                    failures[kind] += 1
                    gap_reason = gap_reason or f"HTTP {status} on connect"
                    log.warning("InsightsTrack answered %s; backing off", status)
                    self._sleep(self._wait(kind, failures[kind]))
                    continue
                connected_ms = int(time.time() * 1000)
                self.blocked = None
                if gap_reason is not None:
                    self._write_gap(gap_reason, connected_ms, sum(failures.values()))
                failures = dict.fromkeys(failures, 0)
                reason = self._consume(response)
                if self._stop.is_set():
                    return
                gap_reason = reason
                log.warning("InsightsTrack disconnected: %s; reconnecting", reason)
                failures["network"] += 1
                self._sleep(self._wait("network", failures["network"]))

    def _wait(self, kind: str, attempt: int) -> float:
        it = self.it
        if kind == "network":
            base = min(it.network_backoff_max_s, it.network_backoff_s * attempt)
        elif kind == "rate":
            base = min(it.rate_limit_backoff_max_s, it.rate_limit_backoff_s * 2 ** (attempt - 1))
        else:
            base = min(it.http_backoff_max_s, it.http_backoff_s * 2 ** (attempt - 1))
        return base * random.uniform(0.8, 1.2)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _write_gap(self, reason: str, to_ms: int, attempts: int) -> None:
        self._begin()
        self._publisher.publish(
            CONTROL,
            self.name,
            {
                "kind": "GAP",
                "stream_label": self.name,
                "gap_from": self._last_byte_ms,
                "gap_to": to_ms,
                "reason": redact_text(reason),
                "attempt": attempts,
                "occurred_at": int(time.time() * 1000),
                "extra": None,
            },
        )
        self.stats["gaps"] += 1
        self._last_byte_ms = to_ms
        self._commit()

    def _consume(self, response: httpx.Response) -> str:
        """Read one connection to its end; returns why it ended."""
        reader = LineReader(response)
        interval = self.it.commit_interval_ms / 1000
        reason = "the server closed the stream"
        try:
            while not self._stop.is_set():
                wait = interval - (time.monotonic() - self._txn_started) if self._pending else 1.0
                event = reader.get(max(0.0, wait))
                if self._pending and time.monotonic() - self._txn_started >= interval:
                    self._commit()
                if event is None:
                    continue
                if event.kind is EventKind.LINES:
                    self._last_byte_ms = int(time.time() * 1000)
                    for line in event.lines:
                        if line and not line.isspace():
                            self._handle_line(line)
                elif event.kind is EventKind.OVERSIZE:
                    self._begin()
                    self._dlq.write(event.data, "event line over the size limit", "OversizeLine")
                    self.stats["dead_letters"] += 1
                else:
                    if event.kind is EventKind.ERROR:
                        reason = (
                            f"stall: no byte for {self.it.stall_timeout_s:g} s"
                            if event.stalled
                            else f"disconnect: {event.error}"
                        )
                    break
            self._commit()
        except BaseException:
            if self._producer.in_transaction:
                self._producer.abort_after(None)
            raise
        finally:
            reader.close()
        return reason

    def _handle_line(self, line: bytes) -> None:
        self._begin()
        try:
            value, _ = loads(line)
            fast = fast_event(value)  # tweets and summaries, the common case
            parsed = parse_event(value) if fast is None else None
        except (LenientParseError, EventError) as exc:
            self._dlq.write(line, str(exc), exc, f"label={self.name}")
            self.stats["dead_letters"] += 1
            return
        if fast is not None:
            identity = fast[2]
        else:
            assert parsed is not None
            identity = event_id(parsed)
        if identity in self._recent:
            self.stats["duplicates"] += 1
            return
        position = f"label={self.name};event={identity}"
        if fast is not None:
            declared, key, _, fast_record = fast
            self._publisher.publish(declared, key, fast_record, position)
        elif isinstance(parsed, TweetEvent):
            create = parsed.tweet_event.create
            self._publisher.publish(TWEETS, str(create.tweet_id), tweet_record(create), position)
        elif isinstance(parsed, SummaryEvent):
            record: dict[str, Any] = summary_record(parsed.summary_event)
            self._publisher.publish(SUMMARIES, str(record["tweet_id"]), record, position)
        else:
            assert isinstance(parsed, UserEvent)
            self._revoke(parsed, position)
        self._recent.add(identity)
        self._pending += 1
        self.stats["events"] += 1

    def _revoke(self, event: UserEvent, position: str) -> None:
        record = user_event_record(event)
        user = int(record["user_id"])
        self._publisher.publish(USERS, str(user), record, position)
        if event.event_type == "revoke" and user not in self._revoked:
            self._revoked.append(user)
            self.stats["revokes"] += 1
            log.warning(
                "user %s revoked access: InsightsTrack deleted their rule; it is dropped from the "
                "desired rules and will not be re-added until you add it again after they "
                "re-authorise the app",
                user,
            )
            self._publisher.publish(
                CONTROL,
                self.name,
                {
                    "kind": "RULE_DROPPED",
                    "stream_label": self.name,
                    "gap_from": None,
                    "gap_to": None,
                    "reason": f"user {user} revoked access; rule from:{user} dropped",
                    "attempt": None,
                    "occurred_at": int(time.time() * 1000),
                    "extra": None,
                },
            )
