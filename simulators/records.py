"""Source records without running the sources: inputs for processor tests and benchmarks.

Talkwalker results come from the Talkwalker simulator's corpus through the connector's parser
and record mapping; tweets and summaries from the InsightsTrack simulator's event script through
the InsightsTrack connector's; `produce` writes them transactionally with the sources' headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialstream.connectors.insightstrack.models import SummaryEvent, TweetEvent, parse_event
from socialstream.connectors.insightstrack.records import summary_record, tweet_record
from socialstream.connectors.talkwalker.models import ResultChunk, parse_chunk
from socialstream.connectors.talkwalker.records import result_record
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.lenient import loads
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.simulators.insightstrack import EventScript
from socialstream.simulators.talkwalker import Corpus


def talkwalker_results(corpus: Corpus) -> list[dict[str, Any]]:
    found = []
    for tf in range(corpus.timeframes):
        for i in range(corpus.count(tf)):
            line = corpus.result_chunk(tf, i, corpus.streams)
            if line is None:
                continue
            chunk = parse_chunk(loads(line)[0])
            assert isinstance(chunk, ResultChunk)
            for body in chunk.chunk_result:
                found.append(result_record(body, corpus.timeframe_start(tf)))
    return found


def insightstrack_events(script: EventScript) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tweets, summaries = [], []
    for n in range(script.count):
        _, _, line = script.event(n)
        event = parse_event(loads(line)[0])
        if isinstance(event, TweetEvent):
            tweets.append(tweet_record(event.tweet_event.create))
        elif isinstance(event, SummaryEvent):
            summaries.append(summary_record(event.summary_event))
    return tweets, summaries


def scored_documents(corpus: Corpus) -> list[dict[str, Any]]:
    """`ScoredDocument` records of the corpus's results, as the sentiment join emits them: every
    third joined to a sentiment bucket, the rest without one."""
    from socialstream.processors.enrichment.documents import Position, Routing, from_talkwalker
    from socialstream.processors.sentiment_join.asof import scored
    from socialstream.runtime.settings import Settings

    routing = Routing(Settings())
    found = []
    for n, result in enumerate(talkwalker_results(corpus)):
        document = from_talkwalker(result, Position("talkwalker.results", 0, n), routing)
        match = None
        if n % 3 == 0:
            match = {
                "query_hash": "q",
                "bucket_start": (document["published_at"] or 0) // 3_600_000 * 3_600_000,
                "sentiment": round((n % 21 - 10) / 10, 2),
                "percentage_positive": 40.0,
                "percentage_negative": 20.0,
                "posts_count": 100 + n % 50,
            }
        status = "JOINED" if match else "NO_SENTIMENT"
        found.append(scored(document, match, status, corpus.start_ms + n))
    return found


def produce(
    kafka: KafkaSettings,
    topics: TopicSettings,
    topic: str,
    records: Sequence[tuple[str, dict[str, Any], str | None]],
    source: str = "test",
    **overrides: Any,
) -> None:
    """(key, record, source_position) records onto a declared topic, in one transaction."""
    producer = TransactionalProducer(kafka, f"{source}.{topics.prefix}{topic}", **overrides)
    publisher = Publisher(producer, SingleObjectCodec(), topics, source=source)
    try:
        with producer.transaction():
            for key, record, position in records:
                publisher.publish(topic, key, record, source_position=position)
    finally:
        producer.close()
