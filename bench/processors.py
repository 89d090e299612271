"""Enrichment and sentiment-join throughput, each beside a passthrough app on the same framework.

All are Quix Streams applications with exactly-once processing reading from the earliest offset,
built by the same `runtime.streaming.application` with the stage's own settings (commit interval,
poll timeout). Each passthrough reads exactly the topics its stage reads and copies every record's
bytes: enrichment's the Talkwalker results and tweets (produced up front); the join's the
enrichment's output, the sentiment buckets and the tweet summaries. A stage's docs/s is its
documents over the time from its first committed output record to its last; a passthrough's is
the same documents over the time it took to copy all of its input. Peak RSS from /proc. Each
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
from socialstream.runtime.settings import KafkaSettings, SentimentQuery, Settings, TopicSettings
from socialstream.runtime.streaming import application
from socialstream.runtime.topics import apply_topics, find_topic, topic_name
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


def passthrough(stage: str, group: str, output: str, inputs: str) -> None:
    """The baseline app: the stage's inputs, bytes in, bytes out, exactly-once, configured as the
    stage is (settings from the environment, as the stage's process reads them)."""
    settings = Settings()
    processor = getattr(settings, stage).model_copy(
        update={"consumer_group": group, "state_dir": tempfile.mkdtemp(prefix=group)}
    )
    app = application(settings, processor)
    out = app.topic(output, key_serializer="bytes", value_serializer="bytes")
    frames = [
        app.dataframe(app.topic(topic_name(find_topic(name), settings.topics),
                                key_deserializer="bytes", value_deserializer="bytes"))
        for name in inputs.split(",")
    ]  # fmt: skip
    sdf = frames[0]
    for frame in frames[1:]:
        sdf = sdf.concat(frame)
    sdf.to_topic(out)
    app.run()


def load(bootstrap: str, prefix: str, size: int) -> tuple[int, int]:
    """Fresh input under `prefix`: (documents, bucket and summary records)."""
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
    return len(results) + len(tweets), len(buckets) + len(summaries)


def run_one(
    command: list[str], env: dict[str, str], bootstrap: str, topic: str, expected: int
) -> tuple[float, float]:
    """(seconds from the first to the last of `expected` committed records on `topic`, peak RSS)."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        first, last = count_committed(bootstrap, [topic], expected, timeout_s=1800)
        rss = peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    return max(last - first, 1e-9), rss


STAGES = (  # (name, settings section, its inputs, component, output)
    ("enrichment", "enrichment", INPUTS, "enrichment", "documents.enriched"),
    (
        "sentiment join",
        "sentiment_join",
        ("documents.enriched", "sentiment.history", "insightstrack.summaries"),
        "sentiment-join",
        "documents.scored",
    ),
)


def measure(size: int, bootstrap: str) -> list[dict[str, Any]]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    n, side_records = load(bootstrap, prefix, size)
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
    for stage, section, inputs, component, output in STAGES:
        baseline_out = f"{prefix}passthrough.{component}"
        create_topic(bootstrap, baseline_out)  # before the stopwatch subscribes to it
        copied = n + (side_records if section == "sentiment_join" else 0)
        command = [sys.executable, __file__, "--passthrough", section]
        command += [f"{prefix}pt.{component}", baseline_out, ",".join(inputs)]
        seconds, rss = run_one(command, env, bootstrap, baseline_out, copied)
        base_per_s = n / seconds
        path = f"passthrough ({stage})"
        rows.append({"size": n, "path": path, "per_s": base_per_s, "rss_mb": rss, "ratio": 1.0})
        command = [sys.executable, "-m", "socialstream", "run", component]
        seconds, rss = run_one(command, env, bootstrap, prefix + output, n)
        ratio = n / seconds / base_per_s  # against the passthrough of the same input, just measured
        rows.append({"size": n, "path": stage, "per_s": n / seconds, "rss_mb": rss, "ratio": ratio})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000")
    rounds_argument(parser)
    parser.add_argument("--passthrough", nargs=4, metavar=("STAGE", "GROUP", "OUT", "INPUTS"))
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
