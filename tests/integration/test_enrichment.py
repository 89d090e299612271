"""The enrichment processor on the real broker: exact output, DLQ, SIGKILL, two instances."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.settings import KafkaSettings, SentimentQuery, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.insightstrack import EventScript
from socialstream.simulators.records import insightstrack_events, produce, talkwalker_results
from socialstream.simulators.talkwalker import Corpus
from tests.integration.polling_harness import as_env, base_env, records, settled, wait_for

OUTPUT = "documents.enriched"
NEWS = SentimentQuery(name="news", interval="1h", source_type="news")
SOCIAL = SentimentQuery(name="social", interval="1h", source_type="social")


def enrichment_env(
    kafka: KafkaSettings, topics: TopicSettings, group: str, tmp_path: Path
) -> dict[str, str]:
    return {
        **base_env(kafka, topics),
        "SOCIALSTREAM_SENTIMENT__QUERIES": as_env([NEWS.model_dump(), SOCIAL.model_dump()]),
        "SOCIALSTREAM_ENRICHMENT__SENTIMENT_ROUTES": as_env({"stream-a": "news"}),
        "SOCIALSTREAM_ENRICHMENT__DEFAULT_SENTIMENT_QUERY": "social",
        "SOCIALSTREAM_ENRICHMENT__CONSUMER_GROUP": group,
        "SOCIALSTREAM_ENRICHMENT__STATE_DIR": str(tmp_path / f"state-{uuid.uuid4().hex[:6]}"),
        "SOCIALSTREAM_ENRICHMENT__COMMIT_INTERVAL_S": "0.2",
        "SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000",
        # A killed member's partitions move after this (librdkafka's default is 45 s).
        "SOCIALSTREAM_KAFKA__PROPERTIES": as_env({"session.timeout.ms": "6000"}),
    }


def start(environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "socialstream", "run", "enrichment"],
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def alive(process: subprocess.Popen[bytes]) -> bool:
    """True while the process runs; a test waiting on a dead processor fails at once."""
    if process.poll() is not None:
        raise AssertionError(f"the processor exited with {process.returncode}")
    return True


def inputs(
    kafka: KafkaSettings, topics: TopicSettings, timeframes: int, events: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    apply_topics(kafka, topics)
    results = talkwalker_results(Corpus(seed=7, timeframes=timeframes, per_timeframe=100))
    tweets, _ = insightstrack_events(EventScript(seed=7, count=events))
    produce(
        kafka,
        topics,
        "talkwalker.results",
        [
            (r["document_id"], r, f"timeframe={r['timeframe_start']};chunk={n}")
            for n, r in enumerate(results)
        ],
    )
    produce(
        kafka,
        topics,
        "insightstrack.tweets",
        [(str(t["tweet_id"]), t, f"label=acme.prod;event=tweet:{t['tweet_id']}") for t in tweets],
    )
    return results, tweets


def test_every_input_becomes_one_document_and_garbage_goes_to_the_dlq(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    results, tweets = inputs(kafka, topics, timeframes=2, events=300)
    french = {
        **results[0],
        "document_id": "f" * 64,
        "lang": None,
        "url": "https://news.lemonde.fr/a",
    }
    french["content"] = "Le chat dort toute la journée sur le canapé du salon, près de la fenêtre."
    produce(kafka, topics, "talkwalker.results", [(french["document_id"], french, None)])
    producer = TransactionalProducer(kafka, f"garbage.{topics.prefix}")
    with producer.transaction():
        producer.produce(f"{topics.prefix}talkwalker.results", b"\x00not avro", key=b"bad")
    producer.close()
    process = start(enrichment_env(kafka, topics, "g1", tmp_path), tmp_path / "enrich.log")
    try:
        total = len(results) + len(tweets) + 1
        wait_for(lambda: alive(process) and len(records(kafka, topics, OUTPUT)) >= total, 120)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "enrich.log").read_text()[-3000:]
    got = dict(records(kafka, topics, OUTPUT))
    assert len(records(kafka, topics, OUTPUT)) == len(got) == total  # each exactly once

    first = results[0]
    doc = got[f"tw:{first['document_id']}"]
    assert doc["source"] == "TALKWALKER" and doc["url"] == first["url"]
    assert doc["title"] == first["title"] and doc["text"] == first["content"]
    assert doc["language"] == first["lang"] and doc["language_origin"] == "vendor"
    assert doc["published_at"] == first["published"] and doc["indexed_at"] == first["indexed"]
    assert doc["engagement"] == first["engagement"] and doc["reach"] == first["reach"]
    assert doc["vendor_sentiment"] == first["sentiment"] / 5
    assert [m["stream_id"] for m in doc["matches"]] == [m["stream_id"] for m in first["matches"]]
    routed = {m["stream_id"] for m in first["matches"]}
    want = query_hash((NEWS if "stream-a" in routed else SOCIAL).params())
    assert doc["query_hash"] == want
    assert doc["lineage"]["topic"] == f"{topics.prefix}talkwalker.results"
    assert doc["lineage"]["source_position"].startswith("timeframe=")

    fr = got[f"tw:{'f' * 64}"]
    assert (fr["language"], fr["language_origin"], fr["domain"]) == ("fr", "detected", "lemonde.fr")
    domains = {d["domain"] for d in got.values()}
    assert {"bbc.co.uk", "x.com"} <= domains  # www.bbc.co.uk: the registered domain

    tweet = tweets[0]
    tdoc = got[f"x:{tweet['tweet_id']}"]
    assert tdoc["source"] == "INSIGHTSTRACK" and tdoc["text"] == tweet["text"]
    assert tdoc["published_at"] == tweet["created_at"]
    assert tdoc["likes"] == tweet["favorite_count"] and tdoc["shares"] == tweet["retweet_count"]
    assert tdoc["matches"] == [
        {"stream_id": "acme.prod", "rule_id": f"from:{tweet['target_user_id']}"}
    ]
    assert tdoc["query_hash"] == query_hash(SOCIAL.params())  # no route: the default

    dead = settled(kafka, topics, "enrichment.dlq", 1)
    assert len(dead) == 1
    assert dead[0][1]["raw"] == b"\x00not avro"
    assert "not a record of this topic" in dead[0][1]["reason"]
    headers = {
        k: v for m in read_to_end(kafka, f"{topics.prefix}{OUTPUT}") for k, v in m.headers() or []
    }
    assert {"source", "source_position", "ingested_at", "schema"} <= headers.keys()
    assert headers["schema"] == b"io.socialstream.Document"


def test_sigkill_and_restart_gives_no_duplicate_and_no_missing_document(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    results, tweets = inputs(kafka, topics, timeframes=60, events=6000)
    total = len(results) + len(tweets)
    environment = enrichment_env(kafka, topics, "g2", tmp_path)
    log = tmp_path / "enrich.log"
    first = start(environment, log)
    # Killed at its first committed output, so that the restart has most of the work to do (the
    # enrichment is fast enough to finish thousands of records while the output is counted).
    wait_for(lambda: alive(first) and len(records(kafka, topics, OUTPUT)) >= 1, 120)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    partial = len(records(kafka, topics, OUTPUT))
    second = start(environment, log)
    try:
        wait_for(lambda: alive(second) and len(records(kafka, topics, OUTPUT)) >= total, 180)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()[-3000:]
    keys = [key for key, _ in records(kafka, topics, OUTPUT)]
    assert partial < total
    assert len(keys) == len(set(keys)) == total


def test_two_instances_split_the_partitions_and_give_the_same_output(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    results, tweets = inputs(kafka, topics, timeframes=30, events=3000)
    total = len(results) + len(tweets)
    environment = enrichment_env(kafka, topics, "g3", tmp_path)
    environment_b = {**environment, "SOCIALSTREAM_ENRICHMENT__STATE_DIR": str(tmp_path / "b")}
    processes = [start(environment, tmp_path / "a.log"), start(environment_b, tmp_path / "b.log")]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})

    def members() -> list[int]:
        group = admin.describe_consumer_groups(["g3"])["g3"].result()
        return [len(m.assignment.topic_partitions) for m in group.members]

    try:
        wait_for(lambda: len(members()) == 2 and all(members()), 120, "two members")
        wait_for(lambda: len(records(kafka, topics, OUTPUT)) >= total, 180, "every document")
        assert sorted(members()) == [2, 2]  # 2 topics x 2 partitions, shared out
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
    got = records(kafka, topics, OUTPUT)
    assert len(got) == len({k for k, _ in got}) == total
    seen = {k: (v["url"], v["published_at"]) for k, v in got}
    want = {f"tw:{r['document_id']}": (r["url"], r["published"]) for r in results}
    want.update(
        {f"x:{t['tweet_id']}": (seen[f"x:{t['tweet_id']}"][0], t["created_at"]) for t in tweets}
    )
    assert seen == want
