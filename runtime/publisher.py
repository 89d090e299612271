"""Encode, key, header and produce one record: the one path every component writes through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialstream.runtime import tracing
from socialstream.runtime.codec import Codec
from socialstream.runtime.headers import base_headers, record_headers, trace_headers
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
        self.publish_encoded(
            declared_topic, key, self.encode(declared_topic, record), source_position
        )

    def encode(self, declared_topic: str, record: dict[str, Any]) -> bytes:
        """`record` as the value of a record of `declared_topic` (raises ValueError when the
        schema cannot hold it)."""
        topic, schema, _ = self._routes.get(declared_topic) or self._route(declared_topic)
        return self.codec.encode(schema, record, topic)

    def frame(self, declared_topic: str, body: bytes) -> bytes:
        """The value of a record of `declared_topic` whose Avro body is `body`."""
        topic, schema, _ = self._routes.get(declared_topic) or self._route(declared_topic)
        return self.codec.frame(schema, body, topic)

    def publish_encoded(
        self,
        declared_topic: str,
        key: str | None,
        value: bytes,
        source_position: str | None = None,
    ) -> None:
        """Produce a value `encode` or `frame` gave, with the standard headers."""
        topic, _, schema_full_name = self._routes.get(declared_topic) or self._route(declared_topic)
        raw_key = key.encode() if key is not None else None
        if tracing.enabled():
            with publish_span(self.source, topic, source_position):
                headers = record_headers(self.source, schema_full_name, source_position)
                self.producer.produce(topic, value, raw_key, headers)
        else:
            headers = record_headers(self.source, schema_full_name, source_position)
            self.producer.produce(topic, value, raw_key, headers)
        self._records_out.inc(topic)

    def headers(
        self, declared_topic: str, source_position: str | None = None
    ) -> list[tuple[str, bytes]]:
        """The standard headers of a record of `declared_topic` but its `traceparent`, which
        `publish_encoded_many` adds (for records built outside, a run of them at a time)."""
        _, _, schema_full_name = self._routes.get(declared_topic) or self._route(declared_topic)
        return base_headers(self.source, schema_full_name, source_position)

    def publish_encoded_many(
        self, declared_topic: str, records: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        """Produce (key, value, headers as `headers` gave them) records that came together (the
        results of one read of a stream): one call, one count, on a source's hottest path."""
        topic, _, _ = self._routes.get(declared_topic) or self._route(declared_topic)
        if tracing.enabled():  # a span a record, as publish_encoded makes
            for key, value, headers in records:
                position = dict(headers).get("source_position")
                with publish_span(self.source, topic, position.decode() if position else None):
                    self.producer.produce(topic, value, key, headers + trace_headers())
        else:
            self.producer.produce_many(topic, records)
        self._records_out.inc(topic, len(records))

    def _route(self, declared_topic: str) -> tuple[str, str, str]:
        """(real topic, schema, schema full name) of a declared topic, looked up once."""
        spec = find_topic(declared_topic)
        if spec.schema is None:
            raise ValueError(f"{declared_topic} holds no records")
        route = (topic_name(spec, self.topics), spec.schema, full_name(spec.schema))
        self._routes[declared_topic] = route
        return route
