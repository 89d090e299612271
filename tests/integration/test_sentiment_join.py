"""Talkwalker results, tweets, summaries and sentiment buckets through enrichment and the
sentiment join, on the real broker: the exact scored documents, and a SIGKILL that loses no
state."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.runtime.settings import KafkaSettings, SentimentQuery, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.insightstrack import EventScript
from socialstream.simulators.records import insightstrack_events, produce, talkwalker_results
from socialstream.simulators.talkwalker import Corpus
from tests.integration.polling_harness import as_env, base_env, records, wait_for

H = 3_600_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % H  # an hour boundary
QUERY = SentimentQuery(name="brand", interval="1h", keywords=["brand"])
QH = query_hash(QUERY.params())
OUTPUT = "documents.scored"


def bucket(hour: int, revision: int) -> dict[str, Any]:
    return {
        "query_hash": QH,
        "query": "{}",
        "bucket_start": T0 + hour * H,
        "bucket_end": T0 + (hour + 1) * H,
        "interval_minutes": 60,
        "sentiment": round(hour / 100 + revision / 10, 4),
        "percentage_positive": 40.0 + revision,
        "percentage_negative": 10.0,
        "percentage_neutral": 50.0 - revision,
        "posts_count": hour * 10 + revision,
        "fetched_at": 1,
        "extra": None,
    }


def publish_buckets(
    kafka: KafkaSettings, topics: TopicSettings, hours: range, revision: int
) -> None:
    produce(
        kafka,
        topics,
        "sentiment.history",
        [(f"{QH}|{T0 + h * H}", bucket(h, revision), None) for h in hours],
    )


def env(kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path, group: str) -> dict[str, str]:
    return {
        **base_env(kafka, topics),
        "SOCIALSTREAM_SENTIMENT__QUERIES": as_env([QUERY.model_dump()]),
        "SOCIALSTREAM_ENRICHMENT__SENTIMENT_ROUTES": as_env(
            {"stream-a": "brand", "stream-b": "brand"}
        ),
        "SOCIALSTREAM_ENRICHMENT__CONSUMER_GROUP": f"{group}-enrichment",
        "SOCIALSTREAM_ENRICHMENT__STATE_DIR": str(tmp_path / "enrichment"),
        "SOCIALSTREAM_ENRICHMENT__COMMIT_INTERVAL_S": "0.2",
        "SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP": f"{group}-join",
        "SOCIALSTREAM_SENTIMENT_JOIN__STATE_DIR": str(tmp_path / f"join-{uuid.uuid4().hex[:6]}"),
        "SOCIALSTREAM_SENTIMENT_JOIN__GRACE_S": str(3 * 3600),
        "SOCIALSTREAM_SENTIMENT_JOIN__MAX_WAIT_S": "3600",
        "SOCIALSTREAM_SENTIMENT_JOIN__COMMIT_INTERVAL_S": "0.2",
        "SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000",
        "SOCIALSTREAM_KAFKA__PROPERTIES": as_env({"session.timeout.ms": "6000"}),
    }


def start(component: str, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "socialstream", "run", component],
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def consumed(kafka: KafkaSettings, group: str, topic: str) -> bool:
    """True once `group` has committed the end of every partition of `topic`."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": group})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = [TopicPartition(topic, p) for p in metadata.partitions]
        committed = consumer.committed(partitions, timeout=10)
        for tp in committed:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, tp.partition), timeout=10
            )
            if high > 0 and tp.offset < high - 1:
                return False
        return True
    finally:
        consumer.close()


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.wait(60) == 0


def test_mixed_input_gives_exactly_the_expected_scored_documents(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    results = talkwalker_results(Corpus(seed=11, timeframes=2, per_timeframe=100))
    for n, result in enumerate(results):  # one every 6 minutes over 20 hours
        result["published"] = T0 + n * 360_000
    tweets, summaries = insightstrack_events(EventScript(seed=11, count=600))
    environment = env(kafka, topics, tmp_path, f"mix{uuid.uuid4().hex[:6]}")
    join_group = environment["SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP"]
    publish_buckets(kafka, topics, range(10), revision=1)
    publish_buckets(kafka, topics, range(5), revision=2)  # revisions: the latest must win
    produce(
        kafka, topics, "insightstrack.summaries", [(str(s["tweet_id"]), s, None) for s in summaries]
    )
    garbage = ("documents.enriched", "sentiment.history", "insightstrack.summaries")
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    for name in garbage:  # one record of each input that is not Avro: to the DLQ, with why
        producer.produce(f"{topics.prefix}{name}", b"not avro at all", key=b"bad")
    assert producer.flush(30) == 0
    log = tmp_path / "pipeline.log"
    join = start("sentiment-join", environment, log)
    enrichment = start("enrichment", environment, log)
    try:
        wait_for(lambda: consumed(kafka, join_group, f"{topics.prefix}sentiment.history"), 120)
        wait_for(lambda: consumed(kafka, join_group, f"{topics.prefix}insightstrack.summaries"), 60)
        produce(kafka, topics, "talkwalker.results", [(r["document_id"], r, None) for r in results])
        produce(
            kafka,
            topics,
            "insightstrack.tweets",
            [(str(t["tweet_id"]), t, "label=acme.prod;event=x") for t in tweets],
        )
        # Hours 17-19 wait for their buckets; hour 16 for the clock to pass its end + grace.
        expected_now = len(results) - 40 + len(tweets)
        wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= expected_now, 180)
        publish_buckets(kafka, topics, range(17, 20), revision=1)  # late buckets
        wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= len(results) + len(tweets), 120)
    finally:
        stop(enrichment, join)

    got = records(kafka, topics, OUTPUT)
    scored = {key: value for key, value in got}
    assert len(got) == len(scored) == len(results) + len(tweets)  # each document once
    for n, result in enumerate(results):
        out = scored[f"tw:{result['document_id']}"]
        hour = n // 10
        assert out["document"]["published_at"] == result["published"]
        if hour < 10 or hour >= 17:
            wanted = bucket(hour, 2 if hour < 5 else 1)
            assert out["join_status"] == "JOINED", (n, out["join_status"])
            match = out["sentiment_bucket"]
            assert match["bucket_start"] == wanted["bucket_start"]
            assert match["sentiment"] == wanted["sentiment"]
            assert match["posts_count"] == wanted["posts_count"]
            assert match["query_hash"] == QH
        else:
            assert out["join_status"] == "GRACE_EXPIRED" and out["sentiment_bucket"] is None
        assert out["summary"] is None
    latest: dict[int, dict[str, Any]] = {}
    for summary in summaries:
        latest[summary["tweet_id"]] = summary
    with_summary = 0
    for tweet in tweets:
        out = scored[f"x:{tweet['tweet_id']}"]
        assert out["join_status"] == "NO_SENTIMENT" and out["sentiment_bucket"] is None
        want = latest.get(tweet["tweet_id"])
        if want is None:
            assert out["summary"] is None
            continue
        with_summary += 1
        assert out["summary"]["window_end"] == want["window_end"]
        assert out["summary"]["impressions_total"] == want["impressions_total"]
        assert out["summary"]["metric_counts"] == want["metric_counts"]
    assert with_summary > 50

    dead = [value for _, value in records(kafka, topics, "sentiment-join.dlq")]
    assert sorted(d["source_position"].rsplit(":", 2)[0] for d in dead) == sorted(
        f"{topics.prefix}{name}" for name in garbage
    )
    for letter in dead:
        assert letter["raw"] == b"not avro at all" and "not a record" in letter["reason"]
        assert letter["intended_topic"] == f"{topics.prefix}{OUTPUT}"


def test_sigkill_restores_the_join_state_and_loses_or_repeats_nothing(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    environment = env(kafka, topics, tmp_path, f"kill{uuid.uuid4().hex[:6]}")
    join_group = environment["SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP"]
    publish_buckets(kafka, topics, range(24), revision=1)
    log = tmp_path / "join.log"
    first = start("sentiment-join", environment, log)
    wait_for(lambda: consumed(kafka, join_group, f"{topics.prefix}sentiment.history"), 120)
    first.send_signal(signal.SIGKILL)  # the buckets are now only in the join's state
    first.wait(30)
    documents: list[dict[str, Any]] = []
    for n in range(20_000):  # enough that the second instance is killed well before the end
        documents.append(
            {
                "document_id": f"tw:{n:064d}",
                "source": "TALKWALKER",
                "url": f"https://example.com/{n}",
                "domain": "example.com",
                "language": "en",
                "language_origin": "vendor",
                "title": None,
                "text": None,
                "author": None,
                "published_at": T0 + (n % 24) * H + n,
                "indexed_at": None,
                "engagement": None,
                "reach": None,
                "likes": None,
                "shares": None,
                "comments": None,
                "matches": [],
                "vendor_sentiment": None,
                "query_hash": QH,
                "lineage": {"topic": "t", "partition": 0, "offset": n, "source_position": None},
            }
        )
    produce(kafka, topics, "documents.enriched", [(d["document_id"], d, None) for d in documents])
    # A new machine: no local state, so the join state must come from the changelog topics.
    fresh = {**environment, "SOCIALSTREAM_SENTIMENT_JOIN__STATE_DIR": str(tmp_path / "fresh")}
    second = start("sentiment-join", fresh, log)
    wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= 1, 120)
    second.send_signal(signal.SIGKILL)
    second.wait(30)
    assert len(records(kafka, topics, OUTPUT)) < len(documents)  # killed mid-run
    third = start("sentiment-join", environment, log)
    try:
        wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= len(documents), 180)
    finally:
        stop(third)
    got = records(kafka, topics, OUTPUT)
    assert len(got) == len({k for k, _ in got}) == len(documents)
    for key, value in got:
        n = int(key.removeprefix("tw:"))
        assert value["join_status"] == "JOINED"  # the buckets came back from the changelog
        assert value["sentiment_bucket"]["bucket_start"] == T0 + (n % 24) * H


def test_two_instances_split_the_queries_and_give_the_same_output(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    queries = [SentimentQuery(name=f"q{n}", interval="1h", topic_id=n + 1) for n in range(6)]
    hashes = [query_hash(q.params()) for q in queries]
    produce(
        kafka,
        topics,
        "sentiment.history",
        [
            (f"{qh}|{T0 + h * H}", {**bucket(h, 1), "query_hash": qh}, None)
            for qh in hashes
            for h in range(12)
        ],
    )
    documents: list[dict[str, Any]] = [
        {
            "document_id": f"tw:{n:064d}",
            "source": "TALKWALKER",
            "url": None, "domain": None, "language": None, "language_origin": None,
            "title": None, "text": None, "author": None,
            "published_at": T0 + (n % 12) * H + n, "indexed_at": None,
            "engagement": None, "reach": None, "likes": None, "shares": None, "comments": None,
            "matches": [], "vendor_sentiment": None,
            "query_hash": hashes[n % 6],
            "lineage": {"topic": "t", "partition": 0, "offset": n, "source_position": None},
        }
        for n in range(3000)
    ]  # fmt: skip
    produce(kafka, topics, "documents.enriched", [(d["document_id"], d, None) for d in documents])
    environment = env(kafka, topics, tmp_path, f"two{uuid.uuid4().hex[:6]}")
    other = {**environment, "SOCIALSTREAM_SENTIMENT_JOIN__STATE_DIR": str(tmp_path / "other")}
    log = tmp_path / "join.log"
    processes = [start("sentiment-join", environment, log), start("sentiment-join", other, log)]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    group = environment["SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP"]

    def members() -> list[int]:
        described = admin.describe_consumer_groups([group])[group].result()
        return [len(m.assignment.topic_partitions) for m in described.members]

    try:
        wait_for(lambda: len(members()) == 2 and all(members()), 120, "two members")
        wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= len(documents), 180)
    finally:
        stop(*processes)
    got = records(kafka, topics, OUTPUT)
    assert len(got) == len({k for k, _ in got}) == len(documents)
    by_id = dict(got)
    for n, document in enumerate(documents):
        out = by_id[document["document_id"]]
        assert out["join_status"] == "JOINED"
        assert out["sentiment_bucket"]["query_hash"] == hashes[n % 6]
        assert out["sentiment_bucket"]["bucket_start"] == T0 + (n % 12) * H
