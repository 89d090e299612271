"""How both pollers write: records and their checkpoint in one Kafka transaction.

A poll's unit of work is one upstream call: its records (only the new or revised ones while
polling; all of them in a backfill) and the poller's position commit together, so a restart
resumes exactly after the last committed call. A call the API refused for good goes to the
component's DLQ with the vendor's reason, in the same kind of transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from socialstream.connectors.monitors.revisions import RevisionFilter, content_hash
from socialstream.runtime.checkpoints import CheckpointStore
from socialstream.runtime.codec import Codec
from socialstream.runtime.dlq import DeadLetterWriter
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One record to publish, keyed, with the start of its window (for pruning)."""

    key: str
    record: dict[str, Any]
    window_start_ms: int
    source_position: str


class PollWriter:
    """Publishes one call's records and the checkpoint; dead-letters refused calls."""

    def __init__(
        self, settings: Settings, codec: Codec, component: str, topic: str, transactional: str
    ) -> None:
        self.topic = topic
        self.producer = TransactionalProducer(settings.kafka, transactional)
        self.publisher = Publisher(self.producer, codec, settings.topics, source=component)
        self.dlq = DeadLetterWriter(self.publisher, component)
        self.store = CheckpointStore(settings.kafka, settings.topics, codec, component)

    def commit(
        self,
        outgoing: list[Outgoing],
        checkpoint_key: str,
        position: Callable[[], dict[str, Any]],
        revisions: RevisionFilter | None = None,
        rejected: Sequence[tuple[bytes, str, str]] = (),
    ) -> tuple[int, int]:
        """Publish (only new or revised records, given `revisions`) and dead-letter `rejected`
        (raw, reason, where), all with the checkpoint; returns (published, unchanged)."""
        published = unchanged = 0
        with self.producer.transaction():
            for raw, reason, where in rejected:
                log.error("dead-lettered %s: %s", where, reason)
                self.dlq.write(
                    raw, reason, "InvalidRecord", source_position=where, intended_topic=self.topic
                )
            for item in outgoing:
                if revisions is not None:
                    digest = content_hash(item.record)
                    if not revisions.is_new(item.key, digest):
                        unchanged += 1
                        continue
                    revisions.remember(item.key, digest, item.window_start_ms)
                self.publisher.publish(
                    self.topic, item.key, item.record, source_position=item.source_position
                )
                published += 1
            self.store.write(self.publisher, checkpoint_key, position())
        return published, unchanged

    def dead_letter(
        self,
        raw: bytes,
        error: Exception | str,
        where: str,
        checkpoint_key: str,
        position: Callable[[], dict[str, Any]],
    ) -> None:
        log.error("dead-lettered %s: %s", where, error)
        with self.producer.transaction():
            self.dlq.write(raw, str(error), error, source_position=where, intended_topic=self.topic)
            self.store.write(self.publisher, checkpoint_key, position())

    def close(self) -> None:
        self.producer.close()


def now_ms() -> int:
    return int(time.time() * 1000)
