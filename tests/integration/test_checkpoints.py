"""Checkpoints commit with the records: an aborted transaction's checkpoint is never read back."""

from __future__ import annotations

import pytest

from socialstream.runtime.checkpoints import CheckpointStore
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from tests.sample_records import full_record


def test_checkpoint_in_aborted_transaction_is_not_read_back_after_restart(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    codec = SingleObjectCodec()
    producer = TransactionalProducer(kafka, "ckpt")
    publisher = Publisher(producer, codec, topics, source="test")
    store = CheckpointStore(kafka, topics, codec, component="talkwalker")
    result = full_record("talkwalker_result")

    with producer.transaction():
        publisher.publish("talkwalker.results", "doc-1", result)
        store.write(publisher, "stream-a", {"timeframe_start": 1000, "results": 1})

    with pytest.raises(RuntimeError), producer.transaction():
        publisher.publish("talkwalker.results", "doc-2", result)
        store.write(publisher, "stream-a", {"timeframe_start": 2000, "results": 2})
        producer.poll(0.5)
        raise RuntimeError("crash before commit")
    producer.close()

    # A restarted component builds a new store and reads what is committed.
    restarted = CheckpointStore(kafka, topics, SingleObjectCodec(), component="talkwalker")
    assert restarted.load("stream-a") == {"timeframe_start": 1000, "results": 1}
    assert restarted.load("stream-b") is None
    keys = [m.key() for m in read_to_end(kafka, publisher.topic("talkwalker.results"))]
    assert keys == [b"doc-1"]


def test_later_committed_checkpoint_wins(kafka: KafkaSettings, topics: TopicSettings) -> None:
    apply_topics(kafka, topics)
    codec = SingleObjectCodec()
    producer = TransactionalProducer(kafka, "ckpt2")
    publisher = Publisher(producer, codec, topics, source="test")
    store = CheckpointStore(kafka, topics, codec, component="monitors")
    for n in range(3):
        with producer.transaction():
            store.write(publisher, "cursor", {"n": n})
    producer.close()
    assert store.load("cursor") == {"n": 2}
