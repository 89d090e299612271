"""Encode, key, header and produce one record: the one path every component writes through."""

from __future__ import annotations

from typing import Any

from socialstream.runtime.codec import Codec
from socialstream.runtime.headers import record_headers
from socialstream.runtime.metrics import RECORDS_OUT, ByTopic
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.settings import TopicSettings
from socialstream.runtime.topics import find_topic, topic_name
from socialstream.runtime.tracing import publish_span
from socialstream.schemas import full_name


class Publisher:
    """Writes typed records to declared topics in the producer's open transaction."""

    def __init__(
        self,
        producer: TransactionalProducer,
        codec: Codec,
        topics: TopicSettings,
        source: str,
    ) -> None:
        self.producer = producer
        self.codec = codec
        self.topics = topics
        self.source = source
        self._records_out = ByTopic(RECORDS_OUT, source)

    def topic(self, declared: str) -> str:
        """The real name of a declared topic (with the configured prefix)."""
        return topic_name(find_topic(declared), self.topics)

    def publish(
        self,
        declared_topic: str,
        key: str | None,
        record: dict[str, Any],
        source_position: str | None = None,
    ) -> None:
        spec = find_topic(declared_topic)
        if spec.schema is None:
            raise ValueError(f"{declared_topic} holds no records")
        topic = topic_name(spec, self.topics)
        value = self.codec.encode(spec.schema, record, topic)
        with publish_span(self.source, topic, source_position):
            self.producer.produce(
                topic,
                value,
                key=key.encode() if key is not None else None,
                headers=record_headers(self.source, full_name(spec.schema), source_position),
            )
        self._records_out.inc(topic)
