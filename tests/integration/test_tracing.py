"""One trace from an upstream chunk to its write-back outcome, on the real broker: the source's
publish span is the root, and enrichment, the join and write-back each continue it as a child of
the step before, carried by the records' `traceparent` header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from socialstream.connectors.talkwalker.source import TalkwalkerSource
from socialstream.processors.enrichment.app import Enrichment
from socialstream.processors.sentiment_join.app import SentimentJoin
from socialstream.processors.writeback.app import Writeback
from socialstream.runtime import tracing
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.headers import header_map
from socialstream.runtime.settings import (
    EnrichmentSettings,
    KafkaSettings,
    SentimentJoinSettings,
    TopicSettings,
)
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.integration.polling_harness import running, settled
from tests.integration.writeback_harness import settings_for


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(SimpleSpanProcessor(exporter), "socialstream-test")
    try:
        yield exporter
    finally:
        tracing.switch_off()
        exporter.shutdown()


def test_one_trace_runs_from_the_chunk_through_enrichment_join_and_writeback(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    apply_topics(kafka, topics)
    corpus = Corpus(seed=17, timeframes=2, per_timeframe=15)
    group = uuid.uuid4().hex[:8]
    with TalkwalkerSimulator(corpus) as sim:
        settings = settings_for(kafka, topics, sim)
        settings = settings.model_copy(
            update={
                "enrichment": EnrichmentSettings(
                    consumer_group=f"enrich-{group}",
                    state_dir=str(tmp_path / "enrichment"),
                    commit_interval_s=0.2,
                ),
                "sentiment_join": SentimentJoinSettings(
                    consumer_group=f"join-{group}",
                    state_dir=str(tmp_path / "join"),
                    commit_interval_s=0.2,
                ),
            }
        )
        codec = SingleObjectCodec()
        with (
            running(TalkwalkerSource(settings, codec)),
            running(Enrichment(settings, codec)),
            running(SentimentJoin(settings, codec)),
            running(Writeback(settings)),
        ):
            outcomes = settled(kafka, topics, "writeback.results", 30, timeout_s=120)
    assert len(outcomes) == 30

    by_id = {format(s.context.span_id, "016x"): s for s in spans.get_finished_spans()}
    chains = 0
    for message in read_to_end(kafka, f"{topics.prefix}writeback.results", timeout_s=30):
        traceparent = header_map(message.headers()).get("traceparent")
        assert traceparent, "every outcome carries its trace"
        _, trace_id, span_id, _ = traceparent.split("-")
        chain = lineage(by_id, span_id)
        assert [s.name for s in chain] == [
            "talkwalker publish",
            "enrichment map",
            "sentiment-join score",
            "writeback write",
        ]
        assert {format(s.context.trace_id, "032x") for s in chain} == {trace_id}
        assert chain[0].parent is None
        assert chain[0].attributes is not None
        assert chain[0].attributes["messaging.destination.name"] == (
            f"{topics.prefix}talkwalker.results"
        )
        assert chain[-1].attributes is not None and chain[-1].attributes["socialstream.outcome"]
        chains += 1
    assert chains == 30
    # The enriched and scored records carry the trace as well, for consumers of their own.
    for topic in ("documents.enriched", "documents.scored"):
        for message in read_to_end(kafka, f"{topics.prefix}{topic}", timeout_s=30):
            span_id = header_map(message.headers())["traceparent"].split("-")[2]
            assert span_id in by_id


def lineage(by_id: dict[str, ReadableSpan], span_id: str) -> list[ReadableSpan]:
    """The span and its ancestors, root first."""
    chain = []
    current: ReadableSpan | None = by_id[span_id]
    while current is not None:
        chain.append(current)
        parent = current.parent
        current = by_id[format(parent.span_id, "016x")] if parent is not None else None
    return chain[::-1]
