"""Enrichment and sentiment-join throughput, each beside a passthrough app on the same framework.

All are Quix Streams applications with exactly-once processing reading from the earliest offset.
Enrichment reads Talkwalker results and tweets (produced up front) and is compared with a
passthrough that copies the same records' bytes; the join reads the enrichment's output with the
sentiment buckets and tweet summaries, and is compared with a passthrough of the same documents.
docs/s is measured on the committed output (first to last record); peak RSS from /proc. Each
round loads fresh input and measures both pairs; the median ratio of `--rounds` is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from typing import Any

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.runtime.settings import KafkaSettings, SentimentQuery, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.insightstrack import EventScript
from socialstream.simulators.records import insightstrack_events, produce, talkwalker_results
from socialstream.simulators.talkwalker import Corpus

from harness import (
    count_committed,
    create_topic,
    kafka_broker,
    median_of_rounds,
    peak_rss_mb,
    print_table,
    rounds_argument,
)

INPUTS = ("talkwalker.results", "insightstrack.tweets")
QUERY = SentimentQuery(name="bench", interval="1h")
HOUR = 3_600_000


def passthrough(bootstrap: str, prefix: str, group: str, output: str, inputs: str) -> None:
    """The baseline app: the same inputs, bytes in, bytes out, exactly-once."""
    from quixstreams import Application

    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        processing_guarantee="exactly-once",
        auto_offset_reset="earliest",
        commit_interval=0.5,
        state_dir=tempfile.mkdtemp(prefix=group),
        loglevel=None,
    )
    out = app.topic(output, key_serializer="bytes", value_serializer="bytes")
    frames = [
        app.dataframe(
            app.topic(prefix + name, key_deserializer="bytes", value_deserializer="bytes")
        )
        for name in INPUTS
    ]
    frames[0].concat(frames[1]).to_topic(out)
    app.run()


def load(bootstrap: str, prefix: str, size: int) -> int:
    kafka = KafkaSettings(bootstrap_servers=bootstrap, transactional_id_prefix=prefix + "load")
    topics = TopicSettings(prefix=prefix, partitions=6)
    apply_topics(kafka, topics)
    half = size // 2
    results = talkwalker_results(
        Corpus(seed=3, timeframes=max(1, half // 1000), per_timeframe=1000)
    )
    tweets, summaries = insightstrack_events(EventScript(seed=3, count=half * 3 // 2 + 3))
    tweets = tweets[: size - len(results)]
    qhash = query_hash(QUERY.params())
    times = [r["published"] for r in results if r.get("published")]
    first, last = min(times) // HOUR, max(times) // HOUR + 1
    buckets = [
        {"query_hash": qhash, "query": "{}", "bucket_start": h * HOUR, "bucket_end": (h + 1) * HOUR,
         "interval_minutes": 60, "sentiment": 0.1, "percentage_positive": 50.0,
         "percentage_negative": 10.0, "percentage_neutral": 40.0, "posts_count": 5,
         "fetched_at": 1, "extra": None}
        for h in range(first, last + 1)
    ]  # fmt: skip
    keyed = [(f"{qhash}|{b['bucket_start']}", b, None) for b in buckets]
    produce(kafka, topics, "sentiment.history", keyed, "bench")
    keyed = [(str(s["tweet_id"]), s, None) for s in summaries]
    produce(kafka, topics, "insightstrack.summaries", keyed, "bench")
    for start in range(0, len(results), 10_000):
        chunk = results[start : start + 10_000]
        produce(kafka, topics, INPUTS[0], [(r["document_id"], r, None) for r in chunk], "bench")
    for start in range(0, len(tweets), 10_000):
        chunk = tweets[start : start + 10_000]
        produce(kafka, topics, INPUTS[1], [(str(t["tweet_id"]), t, None) for t in chunk], "bench")
    return len(results) + len(tweets)


def run_one(
    command: list[str], env: dict[str, str], bootstrap: str, topic: str, n: int
) -> tuple[float, float]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        first, last = count_committed(bootstrap, [topic], n, timeout_s=1800)
        rss = peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    return n / max(last - first, 1e-9), rss


def measure(size: int, bootstrap: str) -> list[dict[str, Any]]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    n = load(bootstrap, prefix, size)
    env = {
        **os.environ,
        "SOCIALSTREAM_LOG__LEVEL": "WARNING",
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SOCIALSTREAM_TOPICS__PREFIX": prefix,
        "SOCIALSTREAM_SENTIMENT__QUERIES": json.dumps([QUERY.model_dump()]),
        "SOCIALSTREAM_ENRICHMENT__SENTIMENT_ROUTES": json.dumps(
            {"stream-a": "bench", "stream-b": "bench"}
        ),
        "SOCIALSTREAM_ENRICHMENT__CONSUMER_GROUP": f"{prefix}enrichment",
        "SOCIALSTREAM_ENRICHMENT__STATE_DIR": tempfile.mkdtemp(prefix="enrichment"),
        "SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP": f"{prefix}join",
        "SOCIALSTREAM_SENTIMENT_JOIN__STATE_DIR": tempfile.mkdtemp(prefix="join"),
    }  # fmt: skip
    rows: list[dict[str, Any]] = []
    for stage, inputs, component, output in (
        ("enrichment", ",".join(INPUTS), "enrichment", "documents.enriched"),
        ("sentiment join", "documents.enriched", "sentiment-join", "documents.scored"),
    ):
        baseline_out = f"{prefix}passthrough.{component}"
        create_topic(bootstrap, baseline_out)  # before the stopwatch subscribes to it
        command = [sys.executable, __file__, "--passthrough", bootstrap, prefix]
        command += [f"{prefix}pt.{component}", baseline_out, inputs]
        base_per_s, rss = run_one(command, env, bootstrap, baseline_out, n)
        path = f"passthrough ({stage})"
        rows.append({"size": n, "path": path, "per_s": base_per_s, "rss_mb": rss, "ratio": 1.0})
        command = [sys.executable, "-m", "socialstream", "run", component]
        per_s, rss = run_one(command, env, bootstrap, prefix + output, n)
        ratio = per_s / base_per_s  # against the passthrough of the same input, just measured
        rows.append({"size": n, "path": stage, "per_s": per_s, "rss_mb": rss, "ratio": ratio})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000")
    rounds_argument(parser)
    parser.add_argument(
        "--passthrough", nargs=5, metavar=("BOOTSTRAP", "PREFIX", "GROUP", "OUT", "INPUTS")
    )
    args = parser.parse_args()
    if args.passthrough:
        passthrough(*args.passthrough)
        return
    with kafka_broker() as bootstrap:
        rounds = [
            [row for size in args.sizes.split(",") for row in measure(int(size), bootstrap)]
            for _ in range(args.rounds)
        ]
    print_table(median_of_rounds(rounds), "docs")


if __name__ == "__main__":
    main()
