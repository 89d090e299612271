"""Rejected input goes to the DLQ with raw bytes, reason, error class and position."""

from __future__ import annotations

from socialstream.connectors.talkwalker.models import ChunkError, parse_chunk
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.dlq import DeadLetterWriter
from socialstream.runtime.headers import header_map
from socialstream.runtime.lenient import LenientParseError, loads
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.redaction import secrets
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics


def test_bad_lines_reach_the_dlq_with_reason_and_position(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    secrets.add("s3cret-token-value")
    codec = SingleObjectCodec()
    producer = TransactionalProducer(kafka, "dlq")
    publisher = Publisher(producer, codec, topics, source="talkwalker")
    dlq = DeadLetterWriter(publisher, "talkwalker")
    lines = [
        b"garbage that is not json",
        b'{"chunk_type": "CT_RESULT", "chunk_result": {"data": {"data": {"title": "no url"}}}}',
        b'{"chunk_type": "CT_UNKNOWN"}',
    ]
    with producer.transaction():
        for index, line in enumerate(lines):
            try:
                parse_chunk(loads(line)[0])
            except (LenientParseError, ChunkError) as exc:
                dlq.write(
                    line,
                    f"{exc} (while streaming with s3cret-token-value)",
                    exc,
                    source_position=f"timeframe=1000/line={index}",
                    intended_topic="talkwalker.results",
                )
    producer.close()

    messages = list(read_to_end(kafka, publisher.topic("talkwalker.dlq")))
    assert dlq.count == 3
    assert len(messages) == 3
    for index, (msg, line) in enumerate(zip(messages, lines, strict=True)):
        value = codec.decode(msg.value()).value
        headers = header_map(msg.headers())
        assert value["raw"] == line
        assert value["source_position"] == f"timeframe=1000/line={index}"
        assert headers["source_position"] == value["source_position"]
        assert headers["reason"] == value["reason"]
        assert headers["error_class"] == value["error_class"]
        assert "s3cret-token-value" not in value["reason"]
        assert "s3cret-token-value" not in str(msg.headers())
    classes = [header_map(m.headers())["error_class"] for m in messages]
    assert classes == ["LenientParseError", "ChunkError", "ChunkError"]
    reasons = [header_map(m.headers())["reason"] for m in messages]
    assert "url" in reasons[1]
    assert "CT_UNKNOWN" in reasons[2]
