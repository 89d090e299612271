"""`socialstream run enrichment`: Talkwalker results and tweets become `Document` records.

A Quix Streams application: both input topics are read exactly once (consume, map and produce in
one Kafka transaction), each record is mapped by `documents.py`, and an input that cannot be
decoded or mapped goes to `enrichment.dlq` with the reason instead of stopping the stream. It is
stateless, so it scales by partitions: more instances in the group, each a share of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from quixstreams import Application, message_context

from socialstream.processors.enrichment.documents import (
    Position,
    Routing,
    from_talkwalker,
    from_tweet,
)
from socialstream.runtime.codec import Codec, DecodeError, codec_from_settings
from socialstream.runtime.settings import Settings
from socialstream.runtime.streaming import (
    AvroValue,
    application,
    declared,
    run_application,
    standard_headers,
)

log = logging.getLogger(__name__)

COMPONENT = "enrichment"
INPUTS = {"talkwalker.results": from_talkwalker, "insightstrack.tweets": from_tweet}
OUTPUT = "documents.enriched"
DLQ = "enrichment.dlq"

Mapper = Callable[[Mapping[str, Any], Position, Routing], dict[str, Any]]


def _source_position(headers: Any) -> str | None:
    for key, value in headers or []:
        if key == "source_position" and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def _dead(raw: bytes, reason: str, error: BaseException, where: str) -> dict[str, Any]:
    return {
        "dead": {
            "raw": raw,
            "reason": reason,
            "error_class": type(error).__name__,
            "source": COMPONENT,
            "source_position": where,
            "intended_topic": OUTPUT,
            "failed_at": int(time.time() * 1000),
        }
    }


class Enrichment:
    """The enrichment application, built from settings."""

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.settings = settings
        self.codec = codec or codec_from_settings(settings)
        self.routing = Routing(settings)
        es = settings.enrichment
        self.app: Application = application(
            settings, es.consumer_group, es.commit_interval_s, es.state_dir
        )
        self._build()

    def _convert(self, mapper: Mapper) -> Callable[[bytes, Any, int, Any], dict[str, Any]]:
        def convert(raw: bytes, key: Any, timestamp: int, headers: Any) -> dict[str, Any]:
            context = message_context()
            where = f"{context.topic}:{context.partition}:{context.offset}"
            try:
                record = self.codec.decode(raw, context.topic).value
            except DecodeError as exc:
                return _dead(raw, f"not a record of this topic: {exc}", exc, where)
            position = Position(
                context.topic, context.partition, context.offset, _source_position(headers)
            )
            try:
                return {"ok": mapper(record, position, self.routing)}
            except Exception as exc:  # one bad record must not stop the stream: it is dead-lettered
                log.warning("dead-lettered %s: %r", where, exc)
                return _dead(raw, f"cannot map to a Document: {exc!r}", exc, where)

        return convert

    def _build(self) -> None:
        app, settings = self.app, self.settings
        frames = []
        for name, mapper in INPUTS.items():
            topic = app.topic(
                declared(settings, name), key_deserializer="bytes", value_deserializer="bytes"
            )
            frames.append(app.dataframe(topic).apply(self._convert(mapper), metadata=True))
        merged = frames[0].concat(frames[1])
        output = app.topic(
            declared(settings, OUTPUT),
            key_serializer="str",
            value_serializer=AvroValue(self.codec, "document"),
        )
        dlq = app.topic(
            declared(settings, DLQ),
            key_serializer="bytes",
            value_serializer=AvroValue(self.codec, "dead_letter"),
        )
        documents = merged[merged.apply(lambda v: "ok" in v)].apply(lambda v: v["ok"])
        documents = documents.set_headers(
            lambda value, key, ts, headers: standard_headers(
                COMPONENT, "document", incoming=headers
            )
        )
        documents.to_topic(output, key=lambda value: value["document_id"])
        dead = merged[merged.apply(lambda v: "dead" in v)].apply(lambda v: v["dead"])
        dead = dead.set_headers(
            lambda value, key, ts, headers: standard_headers(
                COMPONENT,
                "dead_letter",
                [("reason", value["reason"]), ("error_class", value["error_class"])],
            )
        )
        dead.to_topic(dlq)

    def run(self) -> None:
        run_application(self.app)

    def stop(self) -> None:
        self.app.stop()
