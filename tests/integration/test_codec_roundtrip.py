"""Every schema, both encodings: encode -> transactional produce -> read_committed -> decode."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Message

from socialstream.runtime.codec import Codec, ConfluentCodec, SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.headers import header_map
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import TOPICS, apply_topics
from socialstream.schemas import full_name, schema_names
from socialstream.simulators.schema_registry import SchemaRegistrySimulator
from tests.sample_records import full_record, plain

# One declared topic per schema (scored documents, checkpoints and DLQs included).
TOPIC_OF = {spec.schema: spec.name for spec in reversed(TOPICS) if spec.schema}


@pytest.fixture(scope="module")
def registry() -> Iterator[SchemaRegistrySimulator]:
    with SchemaRegistrySimulator() as simulator:
        yield simulator


@pytest.fixture(params=["single-object", "confluent"])
def codec(request: pytest.FixtureRequest, registry: SchemaRegistrySimulator) -> Codec:
    if request.param == "confluent":
        return ConfluentCodec(registry.url)
    return SingleObjectCodec()


def test_every_schema_has_a_topic() -> None:
    assert set(schema_names()) == set(TOPIC_OF)


def visible(kafka: KafkaSettings, topic: str, expected: int) -> list[Message]:
    """The committed records of `topic` once `expected` are visible: a commit returns before
    its markers reach every partition."""
    deadline = time.monotonic() + 30
    while True:
        messages = list(read_to_end(kafka, topic))
        if len(messages) >= expected or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def test_every_schema_round_trips_through_committed_transaction(
    kafka: KafkaSettings, topics: TopicSettings, codec: Codec
) -> None:
    apply_topics(kafka, topics)
    producer = TransactionalProducer(kafka, "roundtrip")
    publisher = Publisher(producer, codec, topics, source="test")
    written = {name: full_record(name) for name in schema_names()}
    with producer.transaction():
        for name, record in written.items():
            publisher.publish(TOPIC_OF[name], f"key-{name}", record, source_position=f"pos-{name}")
    producer.close()

    for name, record in written.items():
        topic = publisher.topic(TOPIC_OF[name])
        messages = visible(kafka, topic, 1)
        assert len(messages) == 1, f"{topic}: {len(messages)} records"
        decoded = codec.decode(messages[0].value(), topic)
        assert decoded.schema == full_name(name)
        assert plain(decoded.value) == record
        headers = header_map(messages[0].headers())
        assert headers["source"] == "test"
        assert headers["schema"] == full_name(name)
        assert headers["source_position"] == f"pos-{name}"
        assert int(headers["ingested_at"]) > 0
        assert messages[0].key() == f"key-{name}".encode()


def test_aborted_transaction_is_never_seen(
    kafka: KafkaSettings, topics: TopicSettings, codec: Codec
) -> None:
    apply_topics(kafka, topics)
    producer = TransactionalProducer(kafka, "abort")
    publisher = Publisher(producer, codec, topics, source="test")
    record = full_record("talkwalker_control")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), producer.transaction():
        for n in range(50):
            publisher.publish("talkwalker.control", f"aborted-{n}", record)
        producer.poll(0.5)  # let the records reach the broker before the abort
        raise Boom
    with producer.transaction():
        publisher.publish("talkwalker.control", "committed", record)
    producer.close()

    messages = list(read_to_end(kafka, publisher.topic("talkwalker.control")))
    assert [m.key() for m in messages] == [b"committed"]
    assert plain(codec.decode(messages[0].value()).value) == record
