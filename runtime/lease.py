"""One writer per stream: a lease held through Kafka's own group membership.

Every instance of a single-writer component joins the consumer group `<prefix>.lease.<name>` on
the one-partition `socialstream.leases` topic. Kafka assigns that partition to exactly one member:
the holder writes, the others stand by. When the holder dies, its session times out and Kafka
hands the partition to a standby, which then calls `init_transactions` with the same
`transactional.id`, fencing any zombie of the old holder. A lost lease is noticed within a poll.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from confluent_kafka import Consumer, KafkaError

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import find_topic, topic_name

log = logging.getLogger(__name__)

LEASE_TOPIC = "socialstream.leases"


class LeaseError(RuntimeError):
    """The lease cannot be taken as configured (session timeout, ACLs, missing topic)."""


_FATAL_CODES = (
    KafkaError.INVALID_SESSION_TIMEOUT,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
)


class SingleWriterLease:
    """Holds or waits for the lease `name`; polled by a daemon thread."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicSettings,
        name: str,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.name = name
        self._topic = topic_name(find_topic(LEASE_TOPIC), topics)
        config = kafka.client_config()
        config.update(
            {
                "group.id": f"{kafka.transactional_id_prefix}.lease.{name}",
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": max(500, session_timeout_ms // 5),
                # The rebalance timeout: how long the coordinator holds a rebalance for a member
                # that has not rejoined. This thread polls every 0.2 s, so a member that has not
                # rejoined in seconds is gone; with librdkafka's 300 s default, a rebalance
                # waiting on a member lost in a broker restart could leave nobody writing as long.
                "max.poll.interval.ms": max(10_000, 2 * session_timeout_ms),
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                # Sticky: a member joining does not take the lease from its holder.
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self._consumer = Consumer(config)
        self._held = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._fatal: str | None = None
        self._consumer.subscribe(
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        self._thread = threading.Thread(target=self._run, name=f"lease-{name}", daemon=True)
        self._thread.start()

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        if partitions:
            log.info("lease acquired: this instance is the writer", extra={"lease": self.name})
            self._set(True)

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        if not partitions:
            return  # a cooperative rebalance that took nothing from this member
        if self._held.is_set() and self._stop.is_set():
            log.info("lease released", extra={"lease": self.name})
        elif self._held.is_set():
            log.warning("lease lost: this instance stops writing", extra={"lease": self.name})
        self._set(False)

    def _set(self, held: bool) -> None:
        with self._changed:
            if held:
                self._held.set()
            else:
                self._held.clear()
            self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._consumer.poll(0.2)
                if msg is not None and msg.error():
                    error = msg.error()
                    log.warning("lease group error: %s", error, extra={"lease": self.name})
                    if error.code() in _FATAL_CODES:
                        with self._changed:
                            self._fatal = f"cannot take the single-writer lease: {error.str()}"
                            self._changed.notify_all()
                        return
            except Exception as exc:  # keep the lease thread alive; report
                log.warning("lease poll failed: %s", exc, extra={"lease": self.name})
                self._stop.wait(1.0)

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the lease is held (True) or the timeout passes / close() (False);
        raise LeaseError when the group refuses this member for good."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._held.is_set() or self._stop.is_set() or self._fatal is not None,
                timeout_s,
            )
            if self._fatal is not None:
                raise LeaseError(self._fatal)
            return self._held.is_set()

    def close(self) -> None:
        """Give the lease up (a standby takes over at once) and stop polling."""
        self._stop.set()
        self._thread.join(5)
        try:
            self._consumer.close()
        finally:
            self._set(False)
