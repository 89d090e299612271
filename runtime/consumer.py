"""Kafka consumers: read_committed always, offsets committed by the component, never on a timer.

`read_to_end` reads a topic from its beginning to the high watermarks seen at the start: what
checkpoint recovery and tests need ("everything committed so far, then stop").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition

from socialstream.runtime.settings import KafkaSettings


def consumer_config(settings: KafkaSettings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """read_committed, manual offset commits, earliest reset."""
    config = settings.client_config()
    config.update(
        {
            "group.id": group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
        }
    )
    config.update(overrides)
    return config


def committed_consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> Consumer:
    """A read_committed consumer in `group_id`."""
    return Consumer(consumer_config(settings, group_id, **overrides))


def _watermarks(
    consumer: Consumer, topic: str, partition: int, timeout_s: float
) -> tuple[int, int]:
    """Watermarks of one partition, retrying the transient errors of a just-created topic."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(
                KafkaTopicPartition(topic, partition), timeout=timeout_s
            )
            return int(low), int(high)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            retriable = isinstance(err, KafkaError) and (
                err.retriable()
                or err.code()
                in (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
            )
            if not retriable or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def end_offsets(settings: KafkaSettings, topic: str, timeout_s: float = 30.0) -> dict[int, int]:
    """The high watermark of every partition of `topic`."""
    group = f"socialstream-reader-{uuid.uuid4().hex[:12]}"
    consumer = Consumer(consumer_config(settings, group_id=group))
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise KafkaException(
                metadata.error if metadata else KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
            )
        return {p: _watermarks(consumer, topic, p, timeout_s)[1] for p in metadata.partitions}
    finally:
        consumer.close()


def read_to_end(
    settings: KafkaSettings,
    topic: str,
    timeout_s: float = 30.0,
    start: dict[int, int] | None = None,
) -> Iterator[Message]:
    """Every committed record of `topic` (from `start` offsets, only those partitions, when
    given), in offset order within a partition, up to the end seen at the start, then stop.

    Uses assign() with no group commits, so it never disturbs a consumer group. Raises
    TimeoutError when the end is not reached within `timeout_s`.
    """
    import time

    consumer = Consumer(
        consumer_config(settings, group_id=f"socialstream-reader-{uuid.uuid4().hex[:12]}")
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s)
        topic_meta = metadata.topics.get(topic)
        if topic_meta is None or topic_meta.error is not None:
            raise KafkaException(
                topic_meta.error if topic_meta else KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
            )
        ends: dict[int, int] = {}
        assignment = []
        for partition in topic_meta.partitions:
            # With read_committed, the high watermark is the last stable offset.
            low, high = _watermarks(consumer, topic, partition, timeout_s)
            if start is not None and partition not in start:
                continue
            first = max(low, start[partition]) if start is not None else low
            if high > first:
                ends[partition] = high
                offset = first if start is not None else OFFSET_BEGINNING
                assignment.append(KafkaTopicPartition(topic, partition, offset))
        if not assignment:
            return
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout_s
        while ends:
            if time.monotonic() > deadline:
                raise TimeoutError(f"did not reach the end of {topic} in {timeout_s}s")
            msg = consumer.poll(0.5)
            if msg is None:
                # Aborted or control records at the tail are skipped; check positions directly.
                for tp in consumer.position([KafkaTopicPartition(topic, p) for p in list(ends)]):
                    if tp.offset >= ends.get(tp.partition, 0):
                        ends.pop(tp.partition, None)
                continue
            if msg.error():
                raise KafkaException(msg.error())
            partition, offset = msg.partition(), msg.offset()
            if partition in ends and offset < ends[partition]:
                yield msg
            if partition in ends and offset + 1 >= ends[partition]:
                ends.pop(partition)
    finally:
        consumer.close()
