"""`socialstream run enrichment`: Talkwalker results and tweets become `Document` records.

A Quix Streams application: both input topics are read exactly once (consume, map and produce in
one Kafka transaction), each record is mapped by `documents.py`, and an input that cannot be
decoded or mapped goes to `enrichment.dlq` with the reason instead of stopping the stream. It is
stateless, so it scales by partitions: more instances in the group, each a share of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from quixstreams import Application, message_context

from socialstream.processors.enrichment.documents import (
    TALKWALKER_FIELDS,
    TWEET_FIELDS,
    Position,
    Routing,
    from_talkwalker,
    from_tweet,
)
from socialstream.runtime import tracing
from socialstream.runtime.codec import Codec, DecodeError, codec_from_settings
from socialstream.runtime.metrics import RECORDS_IN, ByTopic
from socialstream.runtime.settings import Settings
from socialstream.runtime.streaming import (
    Encoded,
    QuixProcessor,
    application,
    dead_letter,
    declared,
    standard_headers,
    write_outputs,
)

log = logging.getLogger(__name__)

COMPONENT = "enrichment"
OUTPUT = "documents.enriched"

Mapper = Callable[[Mapping[str, Any], Position, Routing], dict[str, Any]]
INPUTS: dict[str, tuple[Mapper, frozenset[str]]] = {  # each topic's mapping and what it reads
    "talkwalker.results": (from_talkwalker, TALKWALKER_FIELDS),
    "insightstrack.tweets": (from_tweet, TWEET_FIELDS),
}


def _source_position(headers: Any) -> str | None:
    for key, value in headers or []:
        if key == "source_position" and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


class Enrichment(QuixProcessor):
    """The enrichment application, built from settings."""

    component = COMPONENT

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.settings = settings
        self.codec = codec or codec_from_settings(settings)
        self.routing = Routing(settings)
        super().__init__()

    def _new_app(self) -> Application:
        es = self.settings.enrichment
        app = application(self.settings, es)
        self._build(app)
        return app

    def _convert(
        self, mapper: Mapper, fields: frozenset[str]
    ) -> Callable[[bytes, Any, int, Any], Encoded]:
        output = declared(self.settings, OUTPUT)

        def dead(raw: bytes, reason: str, error: BaseException, context: Any) -> Encoded:
            where = f"{context.topic}:{context.partition}:{context.offset}"
            log.warning("dead-lettered %s: %s", where, reason)
            error_class = type(error).__name__
            return dead_letter(
                self.codec, self.settings, COMPONENT, raw, reason, error_class, where, OUTPUT
            )

        def convert(raw: bytes, key: Any, timestamp: int, headers: Any) -> Encoded:
            if not tracing.enabled():
                return convert_record(raw, headers)
            with tracing.continued(COMPONENT, "map", tracing.parent_from(headers)):
                return convert_record(raw, headers)

        records_in = ByTopic(RECORDS_IN, COMPONENT)

        def convert_record(raw: bytes, headers: Any) -> Encoded:
            context = message_context()
            topic, partition, offset = context.topic, context.partition, context.offset
            records_in.inc(topic)
            try:
                record = self.codec.decode(raw, topic, fields).value
            except DecodeError as exc:
                return dead(raw, f"not a record of this topic: {exc}", exc, context)
            position = Position(topic, partition, offset, _source_position(headers))
            try:
                document = mapper(record, position, self.routing)
                value = self.codec.encode("document", document, output)
            except Exception as exc:  # one bad record must not stop the stream: it is dead-lettered
                return dead(raw, f"cannot map to a Document: {exc!r}", exc, context)
            return Encoded(
                False,
                document["document_id"],
                value,
                standard_headers(
                    COMPONENT,
                    "document",
                    incoming=headers,
                    position=f"{topic}:{partition}:{offset}",
                ),
            )

        return convert

    def _build(self, app: Application) -> None:
        settings = self.settings
        frames = []
        for name, (mapper, fields) in INPUTS.items():
            topic = app.topic(
                declared(settings, name), key_deserializer="bytes", value_deserializer="bytes"
            )
            frames.append(app.dataframe(topic).apply(self._convert(mapper, fields), metadata=True))
        write_outputs(app, settings, COMPONENT, OUTPUT, frames[0].concat(frames[1]))
