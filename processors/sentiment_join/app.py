"""`socialstream run sentiment-join`: enriched documents scored with sentiment and summaries.

A Quix Streams application, exactly-once, with its state in RocksDB restored from changelog
topics. Documents with a `query_hash` and the `sentiment.history` buckets are re-keyed by query
and meet in one stateful step (`asof.py`): each document is emitted with the bucket that covers
its time (JOINED), or without one once the grace period has passed (GRACE_EXPIRED); documents of
no query go straight through (NO_SENTIMENT). Tweet documents are then re-keyed by tweet id and
joined as-of to `insightstrack.summaries`: the latest summary received before the document was
scored. The result is one `ScoredDocument` a document on `documents.scored`, written around the
document's own Avro bytes (`FIELDS`: the join decodes only what it uses).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Literal

from quixstreams import Application, State, message_context

from socialstream.processors.sentiment_join.asof import JoinRules, QueryJoin, document_time, scored
from socialstream.processors.sentiment_join.carried import (
    BODY_KEY,
    CarriedDeserializer,
    CarriedSerializer,
    body_of,
    pack,
    unpack,
)
from socialstream.runtime import tracing
from socialstream.runtime.branching import split
from socialstream.runtime.codec import Codec, DecodeError, codec_from_settings, field_encoder
from socialstream.runtime.lenient import epoch_ms
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
from socialstream.schemas import full_name

log = logging.getLogger(__name__)

COMPONENT = "sentiment-join"
OUTPUT = "documents.scored"
TRACE_KEY = "_traceparent"  # a document's trace while it waits in the join's state

# What the join reads of each input. A document goes out unchanged inside its ScoredDocument, so
# it is carried as its Avro body and only the fields the join uses are decoded (decoding and
# writing whole documents again was a fifth of the join's time); a summary gives four fields.
SCHEMAS = {"document": "document", "bucket": "sentiment_bucket", "summary": "insightstrack_summary"}
FIELDS: dict[str, frozenset[str] | None] = {
    "document": frozenset({"document_id", "source", "query_hash", "published_at", "indexed_at"}),
    "bucket": None,
    "summary": frozenset({"window_end", "impressions_total", "engagements_total", "metric_counts"}),
}


def plain(record: dict[str, Any]) -> dict[str, Any]:
    """A decoded record as JSON-able data (the framework's state and repartition topics hold
    JSON): its times as epoch milliseconds. The inputs' times are all top-level fields, so one
    shallow pass does (a recursive walk cost a third of the join's time)."""
    return {k: epoch_ms(v) if isinstance(v, datetime) else v for k, v in record.items()}


def is_dead(item: dict[str, Any]) -> bool:
    return item.get("kind") == "dead"


def has_query(item: dict[str, Any]) -> bool:
    """A readable document of a sentiment query (a dead one has none)."""
    return item["kind"] == "document" and bool(item["value"].get("query_hash"))


def is_tweet(item: dict[str, Any]) -> bool:
    """A scored tweet (a dead letter is none)."""
    return item.get("kind") != "dead" and item["document"]["source"] == "INSIGHTSTRACK"


def summary_match(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "window_end": summary["window_end"],
        "impressions_total": summary.get("impressions_total"),
        "engagements_total": summary.get("engagements_total"),
        "metric_counts": summary.get("metric_counts") or {},
    }


_join_fields = field_encoder("scored_document", 1)  # a ScoredDocument's fields after `document`


def scored_bytes(codec: Codec, value: dict[str, Any], topic: str) -> bytes:
    """A `ScoredDocument`: the document's own Avro body, then the join's fields."""
    body = body_of(value["document"])
    if body is None:  # decoded whole by an earlier release, still in state or transit
        return codec.encode("scored_document", value, topic)
    return codec.frame("scored_document", body + _join_fields(value), topic)


class SentimentJoin(QuixProcessor):
    """The sentiment-join application, built from settings."""

    component = COMPONENT

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.settings = settings
        self.codec = codec or codec_from_settings(settings)
        js = settings.sentiment_join
        self.rules = JoinRules(
            grace_ms=int(js.grace_s * 1000),
            max_wait_ms=int(js.max_wait_s * 1000),
            retention_ms=int(js.retention_hours * 3_600_000),
        )
        super().__init__()

    def _new_app(self) -> Application:
        js = self.settings.sentiment_join
        app = application(self.settings, js)
        self._build(app)
        return app

    def _decode(self, kind: str) -> Any:
        records_in = ByTopic(RECORDS_IN, COMPONENT)
        schema, fields = SCHEMAS[kind], FIELDS[kind]
        expected = full_name(schema)

        def decode(raw: bytes, key: Any = None, timestamp: int = 0, headers: Any = None) -> Any:
            context = message_context()
            records_in.inc(context.topic)
            try:
                decoded = self.codec.decode(raw, context.topic, fields)
                if decoded.schema != expected:
                    raise DecodeError(f"a {decoded.schema} record, not a {expected}")
                # A projected read gives its times as epoch ms already; a whole one, datetimes.
                value = decoded.value if fields is not None else plain(decoded.value)
                if kind == "document":
                    value[BODY_KEY] = self.codec.body(raw, schema)
            except DecodeError as exc:
                where = f"{context.topic}:{context.partition}:{context.offset}"
                return {"kind": "dead", "raw": raw, "reason": f"not a record of this topic: {exc}",
                        "where": where}  # fmt: skip
            if headers is not None:  # tracing: the trace rides in the document through state
                traceparent = tracing.traceparent_of(headers)
                if traceparent:
                    value[TRACE_KEY] = traceparent
            return {"kind": kind, "value": value}

        return decode

    def _join(self, item: dict[str, Any], state: State[Any, Any]) -> list[dict[str, Any]]:
        now = int(time.time() * 1000)
        query = QueryJoin(state, self.rules, now, pack, unpack)
        if item["kind"] == "bucket":
            out = query.add_bucket(item["value"])
        else:
            document = item["value"]
            out = query.add_document(document, document_time(document, fallback=now))
        query.save()
        return out

    def _encode(self, value: dict[str, Any]) -> Encoded:
        if value.get("kind") == "dead":
            return dead_letter(
                self.codec, self.settings, COMPONENT, value["raw"], value["reason"],
                "DecodeError", value["where"], OUTPUT,
            )  # fmt: skip
        traceparent = value["document"].pop(TRACE_KEY, None)
        if not tracing.enabled():
            return self._encode_scored(value)
        attributes = {"socialstream.join_status": str(value.get("join_status"))}
        with tracing.continued(COMPONENT, "score", traceparent, attributes=attributes):
            return self._encode_scored(value)

    def _encode_scored(self, value: dict[str, Any]) -> Encoded:
        return Encoded(
            False,
            value["document"]["document_id"],
            scored_bytes(self.codec, value, declared(self.settings, OUTPUT)),
            standard_headers(COMPONENT, "scored_document"),
        )

    def _build(self, app: Application) -> None:
        settings = self.settings

        def source(name: str, kind: str, key: Literal["bytes", "str"] = "bytes") -> Any:
            topic = app.topic(
                declared(settings, name), key_deserializer=key, value_deserializer="bytes"
            )
            if kind == "document" and tracing.enabled():  # the headers carry the trace
                return app.dataframe(topic).apply(self._decode(kind), metadata=True)
            return app.dataframe(topic).apply(self._decode(kind))

        documents = source("documents.enriched", "document")
        buckets = source("sentiment.history", "bucket")
        summaries = source("insightstrack.summaries", "summary", key="str")

        # Every split is of complementary filters, so no value is copied (`branching.py`). A
        # document that cannot be read goes down the no-query branch to the output step (one
        # branch point less a document); the few dead buckets and summaries are split off.
        dead_buckets, buckets = split(buckets, is_dead)
        dead_summaries, summaries = split(summaries, is_dead)

        def now() -> int:
            return int(time.time() * 1000)

        def no_sentiment(item: dict[str, Any]) -> dict[str, Any]:
            return item if is_dead(item) else scored(item["value"], None, "NO_SENTIMENT", now())

        by_query, no_query = split(documents, has_query)
        no_query = no_query.apply(no_sentiment)
        by_query = by_query.group_by(
            lambda v: v["value"]["query_hash"], name="query-documents",
            key_serializer="str", key_deserializer="str",
            value_serializer=CarriedSerializer(), value_deserializer=CarriedDeserializer(),
        )  # fmt: skip
        buckets = buckets.group_by(
            lambda v: v["value"]["query_hash"], name="query-buckets",
            key_serializer="str", key_deserializer="str",
            value_serializer=CarriedSerializer(), value_deserializer=CarriedDeserializer(),
        )  # fmt: skip
        joined = by_query.concat(buckets).apply(self._join, stateful=True, expand=True)
        scored_all = no_query.concat(joined)

        tweets, others = split(scored_all, is_tweet)
        tweets = tweets.group_by(
            lambda v: v["document"]["document_id"].removeprefix("x:"), name="tweet-documents",
            key_serializer="str", key_deserializer="str",
            value_serializer=CarriedSerializer(), value_deserializer=CarriedDeserializer(),
        ).set_timestamp(lambda value, key, ts, headers: value["scored_at"])  # fmt: skip
        summaries = summaries.apply(lambda v: v["value"])

        def merge(left: dict[str, Any], right: dict[str, Any] | None) -> dict[str, Any]:
            if right is None:
                return left
            return {**left, "summary": summary_match(right)}

        tweets = tweets.join_asof(summaries, how="left", on_merge=merge, name="summaries")
        out = others.concat(tweets).concat(dead_buckets).concat(dead_summaries).apply(self._encode)
        write_outputs(app, settings, COMPONENT, OUTPUT, out)
