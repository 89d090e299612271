"""Every schema, both encodings: encode -> transactional produce -> read_committed -> decode."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterator

import fastavro
import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from socialstream.runtime.codec import Codec, ConfluentCodec, SingleObjectCodec, field_encoder
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.headers import header_map
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import TOPICS, apply_topics
from socialstream.schemas import full_name, load_schema, schema_names
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


def test_a_documents_body_and_the_later_fields_make_the_bytes_of_the_whole_record(
    codec: Codec,
) -> None:
    # How the sentiment join writes a ScoredDocument: the incoming Document's body, then its own.
    scored = {**full_record("scored_document"), "document": full_record("document")}
    incoming = codec.encode("document", scored["document"], "t.documents.enriched")
    body = codec.body(incoming, "document")
    later = field_encoder("scored_document", 1)(scored)
    assembled = codec.frame("scored_document", body + later, "t.documents.scored")
    assert assembled == codec.encode("scored_document", scored, "t.documents.scored")


def test_the_body_of_a_record_written_with_another_schema_is_written_again(
    registry: SchemaRegistrySimulator,
) -> None:
    # A producer whose Document has a field this release does not know: resolved, then written.
    codec = ConfluentCodec(registry.url)
    schema = load_schema("document")
    newer = {**schema, "fields": [*schema["fields"], {"name": "later", "type": "string"}]}
    client = SchemaRegistryClient({"url": registry.url})
    schema_id = client.register_schema("newer-value", Schema(json.dumps(newer), "AVRO"))
    record = {**full_record("document"), "later": "x"}
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(newer), record)
    data = b"\x00" + struct.pack(">I", schema_id) + out.getvalue()
    current = codec.encode("document", full_record("document"), "t.documents.enriched")
    assert out.getvalue() != current[5:]
    assert codec.body(data, "document") == current[5:]
