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
        self._routes: dict[str, tuple[str, str, str]] = {}

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
        route = self._routes.get(declared_topic) or self._route(declared_topic)
        topic, schema, schema_full_name = route
        value = self.codec.encode(schema, record, topic)
        with publish_span(self.source, topic, source_position):
            self.producer.produce(
                topic,
                value,
                key=key.encode() if key is not None else None,
                headers=record_headers(self.source, schema_full_name, source_position),
            )
        self._records_out.inc(topic)

    def _route(self, declared_topic: str) -> tuple[str, str, str]:
        """(real topic, schema, schema full name) of a declared topic, looked up once."""
        spec = find_topic(declared_topic)
        if spec.schema is None:
            raise ValueError(f"{declared_topic} holds no records")
        route = (topic_name(spec, self.topics), spec.schema, full_name(spec.schema))
        self._routes[declared_topic] = route
        return route
