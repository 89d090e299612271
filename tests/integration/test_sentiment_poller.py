"""The sentiment-history poller and backfill on the real broker, against the simulator."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.connectors.monitors.sentiment_source import SentimentPoller
from socialstream.runtime.settings import (
    KafkaSettings,
    SentimentQuery,
    SentimentSettings,
    Settings,
    TopicSettings,
)
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.sentiment_history import (
    Deprecation,
    SentimentHistorySimulator,
    SentimentSeries,
)
from tests.integration.polling_harness import as_env, base_env, running, settled, wait_for

TOPIC = "sentiment.history"
TOKEN = "sh-sim-token"
MIN = 60_000
DAY = 86_400_000


def env(
    kafka: KafkaSettings, topics: TopicSettings, sim: SentimentHistorySimulator, **extra: str
) -> dict[str, str]:
    return {
        **base_env(kafka, topics),
        "SOCIALSTREAM_SENTIMENT__BASE_URL": sim.url,
        "SOCIALSTREAM_SENTIMENT__TOKEN": TOKEN,
        "SOCIALSTREAM_SENTIMENT__CALLS_PER_MINUTE": "100000",
        **extra,
    }


def backfill(
    environment: dict[str, str], days: int, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    today = datetime.now(UTC).date()
    start = (today - timedelta(days)).isoformat()
    end = (today + timedelta(1)).isoformat()
    command = [sys.executable, "-m", "socialstream", "backfill", "sentiment"]
    return subprocess.run(
        [*command, "--from", start, "--to", end],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_values(
    sim: SentimentHistorySimulator, query: SentimentQuery, got: list[tuple[str, Any]]
) -> None:
    qhash = query_hash(query.params())
    for key, value in got:
        start = value["bucket_start"]
        assert key == f"{qhash}|{start}"
        item = sim.bucket(query.params(), start)
        assert value["sentiment"] == item["sentiment"]
        assert value["percentage_positive"] == item["percentagePositivePosts"]
        assert value["percentage_negative"] == item["percentageNegativePosts"]
        assert value["percentage_neutral"] == item["percentageNeutralPosts"]
        assert value["posts_count"] == int(item["postsCount"])


def test_backfill_of_30_days_gives_what_the_api_keeps_and_says_what_it_cannot(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    query = SentimentQuery(name="acme", interval="1h", keywords=["Acme", "coffee"], lang="en")
    with SentimentHistorySimulator(SentimentSeries(seed=8), deprecation=Deprecation()) as sim:
        environment = env(kafka, topics, sim, SOCIALSTREAM_SENTIMENT__QUERIES=as_env(
            [query.model_dump()]))  # fmt: skip
        started = time.time()
        run = backfill(environment, days=30)
        assert run.returncode == 0, run.stderr[-2000:]
        got = settled(kafka, topics, TOPIC, 15 * 24)
        check_values(sim, query, got)
        spent = sim.account.spent
    assert "older than the API's 15-day look-back and cannot be fetched" in run.stderr
    assert "deprecation notice" in run.stderr and "2027-06-01" in run.stderr
    starts = sorted(v["bucket_start"] for _, v in got)
    assert len(got) == len(set(starts)) == 15 * 24  # every hour the API keeps, once
    assert starts == list(range(starts[0], starts[0] + 360 * 3_600_000, 3_600_000))
    floor = started * 1000 - 15 * DAY
    assert floor - 3_600_000 <= starts[0] <= floor + 3_600_000 + 60_000
    assert spent == 5  # 360 buckets fit one page of 1000


def test_15_days_at_1m_come_through_cursors_in_the_fewest_calls(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    query = SentimentQuery(name="fine", interval="1m", source_type="social")
    with SentimentHistorySimulator(SentimentSeries(seed=4)) as sim:
        environment = env(kafka, topics, sim, SOCIALSTREAM_SENTIMENT__QUERIES=as_env(
            [query.model_dump()]))  # fmt: skip
        run = backfill(environment, days=15)
        assert run.returncode == 0, run.stderr[-2000:]
        calls = [c for c in sim.server.calls if c.path == "/sentiment/history"]
        got = settled(kafka, topics, TOPIC, 21_600)
        check_values(sim, query, got[:2000])
    assert len(got) == len({key for key, _ in got}) == 21_600
    assert len(calls) == 22  # ceil(21600 / 1000): the fewest the limit allows
    assert all(c.status == 200 for c in calls)
    assert sum("cursor=" in c.query for c in calls) == 21


def test_a_15_day_first_lookback_keeps_the_checkpoint_small(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    """The poller (not the backfill) starting 15 days back at 1m: 21,600 buckets, while the
    checkpoint keeps only the re-poll window's hashes (it once grew past Kafka's 1 MB)."""
    from socialstream.runtime.consumer import read_to_end

    apply_topics(kafka, topics)
    query = SentimentQuery(name="deep", interval="1m", keywords=["acme"])
    with SentimentHistorySimulator(SentimentSeries(seed=8)) as sim:
        settings = Settings(
            kafka=kafka,
            topics=topics,
            sentiment=SentimentSettings(
                base_url=sim.url,
                token=TOKEN,
                queries=[query],
                every_s=3600,
                first_lookback_minutes=15 * 24 * 60 - 5,
                calls_per_minute=100_000,
            ),
        )
        poller = SentimentPoller(settings)
        with running(poller):
            wait_for(lambda: poller.stats["polls"] >= 1, 120, "the first poll")
        got = settled(kafka, topics, TOPIC, 21_590)
    assert len({key for key, _ in got}) >= 21_590
    sizes = [
        len(m.value() or b"")
        for m in read_to_end(kafka, f"{topics.prefix}socialstream.checkpoints", timeout_s=60)
    ]
    assert sizes and max(sizes) < 200_000, max(sizes)


def test_repoll_publishes_the_revisions_and_nothing_else(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    now = [1_795_000_000.0]
    query = SentimentQuery(name="q", interval="1m", keywords=["acme"])
    with SentimentHistorySimulator(SentimentSeries(seed=6), clock=lambda: now[0]) as sim:
        settings = Settings(
            kafka=kafka,
            topics=topics,
            sentiment=SentimentSettings(
                base_url=sim.url,
                token=TOKEN,
                queries=[query],
                every_s=0.2,
                repoll_minutes=30,
                first_lookback_minutes=90,
                calls_per_minute=100_000,
            ),
        )
        poller = SentimentPoller(settings, clock=lambda: now[0])
        with running(poller):
            wait_for(lambda: poller.stats["polls"] >= 3, what="three polls")
            first = poller.stats["records"]
            assert first == 90 and poller.stats["unchanged"] == 2 * 31
            since = int(now[0] * 1000) - 10 * MIN
            sim.series.revise(since)
            polls = poller.stats["polls"]
            wait_for(lambda: poller.stats["polls"] >= polls + 2, what="two polls after revising")
        got = settled(kafka, topics, TOPIC, 100)
        latest = {key: value for key, value in got}
        check_values(sim, query, list(latest.items()))
    keys = [key for key, _ in got]
    assert len(got) == 90 + 10  # the 10 buckets that end after `since`, and nothing else
    revised = {key for key in keys if keys.count(key) == 2}
    assert len(revised) == 10
    assert all(int(key.split("|")[1]) + MIN > since for key in revised)


def test_restart_mid_backfill_neither_skips_nor_repeats_a_page(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    query = SentimentQuery(name="slow", interval="5m", topic_id=7)
    log = tmp_path / "backfill.log"
    with SentimentHistorySimulator(SentimentSeries(seed=5), delay_s=0.05) as sim:
        environment = env(
            kafka,
            topics,
            sim,
            SOCIALSTREAM_SENTIMENT__QUERIES=as_env([query.model_dump()]),
            SOCIALSTREAM_SENTIMENT__PAGE_LIMIT="50",
        )
        today = datetime.now(UTC).date()
        command = [sys.executable, "-m", "socialstream", "backfill", "sentiment", "--from"]
        command += [(today - timedelta(20)).isoformat(), "--to", (today + timedelta(1)).isoformat()]
        first = subprocess.Popen(
            command, env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        wait_for(lambda: len(sim.account.pages) >= 25 or first.poll() is not None, what="pages")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        killed_at = len(sim.account.pages)
        second = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=300
        )
        assert second.returncode == 0, second.stderr[-2000:]
        got = settled(kafka, topics, TOPIC, 15 * 288)
        check_values(sim, query, got[:500])
    assert 25 <= killed_at < 87
    assert "resuming after page" in second.stderr
    keys = [key for key, _ in got]
    assert len(keys) == len(set(keys)) == 15 * 288  # every 5-minute bucket, once


def test_credit_budget_stops_before_it_is_exceeded(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    query = SentimentQuery(name="big", interval="1m")
    with SentimentHistorySimulator(SentimentSeries(seed=1)) as sim:
        environment = env(
            kafka,
            topics,
            sim,
            SOCIALSTREAM_SENTIMENT__QUERIES=as_env([query.model_dump()]),
            SOCIALSTREAM_SENTIMENT__DAILY_CREDIT_BUDGET="22",
        )
        for _ in range(2):
            run = backfill(environment, days=15, timeout=120)
            assert run.returncode == 3, run.stderr[-2000:]
            assert "daily budget of 22 credits reached: 20 used today" in run.stderr
        assert sim.account.spent == 20  # 4 calls of 5; a fifth would make 25 > 22
        assert len(settled(kafka, topics, TOPIC, 4000)) == 4000
