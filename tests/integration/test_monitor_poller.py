"""The Crimson Hexagon poller and backfill on the real broker, against the simulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from socialstream.connectors.monitors.endpoints import ENDPOINTS, Shape
from socialstream.connectors.monitors.monitor_models import day_ms
from socialstream.connectors.monitors.monitor_source import MonitorPoller, backfill_monitors
from socialstream.runtime.settings import (
    KafkaSettings,
    MonitorJob,
    MonitorsSettings,
    Settings,
    TopicSettings,
)
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData
from socialstream.simulators.crimson_hexagon.data import daily_list_field
from tests.integration.polling_harness import base_env, running, settled, wait_for

TOPIC = "monitor.metrics"
TOKEN = "ch-sim-token"


def settings(
    kafka: KafkaSettings, topics: TopicSettings, sim: CrimsonHexagonSimulator, **monitors: Any
) -> Settings:
    config = {"base_url": f"{sim.url}/api", "token": TOKEN, "calls_per_minute": 100_000}
    return Settings(kafka=kafka, topics=topics, monitors=MonitorsSettings(**{**config, **monitors}))


def expected(
    sim: CrimsonHexagonSimulator, monitor: int, metric: str, start: date, end: date
) -> dict[str, Any]:
    """key -> payload of every window of [start, end), as the simulator holds them."""
    endpoint = ENDPOINTS[metric]
    path = endpoint.path.removeprefix("monitor/")
    params = {"country": "USA"} if endpoint.country else {}
    found: dict[str, Any] = {}
    if endpoint.shape is Shape.RANGE:
        for n in range((end - start).days):
            day = start + timedelta(n)
            body = sim.expected(monitor, path, day, day + timedelta(1), params)
            found[f"{monitor}|{metric}|{day_ms(day)}"] = body
        return found
    body = sim.expected(monitor, path, start, end, params)
    entries = body["volume"] if metric == "volume" else body[daily_list_field(path)]
    for entry in entries:
        day = date.fromisoformat((entry.get("startDate") or entry["date"])[:10])
        found[f"{monitor}|{metric}|{day_ms(day)}"] = entry
    return found


def test_backfill_of_30_days_gives_exactly_the_simulators_records(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    metrics = [m for m, e in ENDPOINTS.items() if e.shape is not Shape.SNAPSHOT]
    today = date(2026, 11, 20)
    start, end = today - timedelta(30), today
    with CrimsonHexagonSimulator(MonitorData(seed=9, today=today), calls_per_minute=10**6) as sim:
        job = MonitorJob.model_validate({"monitors": [101], "metrics": metrics, "country": "USA"})
        lines: list[str] = []
        stats = backfill_monitors(settings(kafka, topics, sim), job, start, end, lines.append)
        want: dict[str, Any] = {}
        for metric in metrics:
            want.update(expected(sim, 101, metric, start, end))
        calls = len(sim.log.calls)
    got = settled(kafka, topics, TOPIC, 28 * 30)
    assert len(metrics) == 28
    assert stats["requests"] == calls == 18 + 1 + 9 * 30  # daily ones, volume, a day each
    assert len(got) == len(want) == 28 * 30
    assert len({key for key, _ in got}) == len(got)  # no window twice
    for key, value in got:
        assert json.loads(value["payload"]) == want[key], key
        assert value["window_end"] - value["window_start"] == 86_400_000
    assert lines[-1].startswith(f"[{calls}/{calls}]")


def test_repoll_publishes_the_revisions_and_nothing_else(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    metrics = ["volume", "sentiment_and_categories", "word_cloud", "twitter_followers", "countries"]
    data = MonitorData(seed=5)
    today = data.today
    job = MonitorJob.model_validate(
        {
            "monitors": [101, 102],
            "metrics": [*metrics, "details", "audit"],
            "every_s": 0.3,
            "repoll_days": 3,
            "first_day": (today - timedelta(6)).isoformat(),
        }
    )
    with CrimsonHexagonSimulator(data, calls_per_minute=10**6) as sim:
        poller = MonitorPoller(settings(kafka, topics, sim, schedule=[job]))
        with running(poller):
            wait_for(lambda: poller.stats["polls"] >= 2, what="two polls")
            published = poller.stats["records"]
            assert published == 2 * (5 * 7 + 2)  # 7 days of 5 metrics and 2 snapshots, twice
            wait_for(lambda: poller.stats["polls"] >= 3, what="a third poll")
            assert poller.stats["records"] == published  # re-polls of unchanged data: nothing
            window = (today - timedelta(3), today + timedelta(1))
            before = {
                key: value
                for m in (101, 102)
                for metric in metrics
                for key, value in expected(sim, m, metric, *window).items()
            }
            sim.data.revise(2)
            polls = poller.stats["polls"]
            wait_for(lambda: poller.stats["polls"] >= polls + 2, what="two polls after revising")
            after = {
                key: value
                for m in (101, 102)
                for metric in metrics
                for key, value in expected(sim, m, metric, *window).items()
            }
    revised = {key for key in after if after[key] != before[key]}
    got = settled(kafka, topics, TOPIC, published + len(revised))
    got_keys = [key for key, _ in got]
    assert len(got) == published + len(revised)
    late = [(key, value) for key, value in got if got_keys.count(key) > 1]
    assert {key for key, _ in late} == revised
    assert 10 <= len(revised) <= 20  # today and yesterday of 5 metrics and 2 monitors
    latest = {key: json.loads(value["payload"]) for key, value in got}
    for key in revised:
        assert latest[key] == after[key]


def test_restart_mid_backfill_neither_skips_nor_repeats_a_window(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    today = date(2026, 11, 20)
    args = ["--from", "2026-10-21", "--to", "2026-11-20", "--monitor", "101", "--monitor", "102"]
    args += ["--metric", "word_cloud", "--metric", "age"]
    log = tmp_path / "backfill.log"
    with CrimsonHexagonSimulator(
        MonitorData(seed=3, today=today), calls_per_minute=10**6, delay_s=0.05
    ) as sim:
        env = {
            **base_env(kafka, topics),
            "SOCIALSTREAM_MONITORS__BASE_URL": f"{sim.url}/api",
            "SOCIALSTREAM_MONITORS__TOKEN": TOKEN,
            "SOCIALSTREAM_MONITORS__CALLS_PER_MINUTE": "100000",
        }
        command = [sys.executable, "-m", "socialstream", "backfill", "monitors", *args]
        first = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: len(sim.log.calls) >= 25 or first.poll() is not None, what="25 calls")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        killed_at = len(sim.log.calls)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-2000:]
        want = {
            **expected(sim, 101, "word_cloud", date(2026, 10, 21), today),
            **expected(sim, 102, "word_cloud", date(2026, 10, 21), today),
            **expected(sim, 101, "age", date(2026, 10, 21), today),
            **expected(sim, 102, "age", date(2026, 10, 21), today),
        }
    assert 25 <= killed_at < 62
    assert "resuming backfill" in second.stderr
    got = settled(kafka, topics, TOPIC, 120)
    keys = [key for key, _ in got]
    assert len(keys) == len(set(keys)) == len(want) == 120  # each window once
    assert {key: json.loads(v["payload"]) for key, v in got} == want


def test_call_budget_stops_backfill_and_poller_before_it_is_exceeded(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    with CrimsonHexagonSimulator(MonitorData(seed=2)) as sim:
        env = {
            **base_env(kafka, topics),
            "SOCIALSTREAM_MONITORS__BASE_URL": f"{sim.url}/api",
            "SOCIALSTREAM_MONITORS__TOKEN": TOKEN,
            "SOCIALSTREAM_MONITORS__DAILY_CALL_BUDGET": "5",
        }
        command = [sys.executable, "-m", "socialstream", "backfill", "monitors"]
        command += ["--from", "2026-11-01", "--to", "2026-11-11", "--monitor", "101"]
        command += ["--metric", "word_cloud"]
        for _ in range(2):  # and again: the budget spent is remembered
            run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            assert run.returncode == 3, run.stderr[-2000:]
            assert "daily budget of 5 calls reached: 5 used today" in run.stderr
        assert len(sim.log.calls) == 5
        assert len(settled(kafka, topics, TOPIC, 5)) == 5

        today = sim.data.today
        job = MonitorJob(
            monitors=[101], metrics=["word_cloud"], repoll_days=0, first_day=today - timedelta(9)
        )
        poller = MonitorPoller(
            settings(kafka, topics, sim, name="budgeted", schedule=[job], daily_call_budget=4)
        )
        start = time.monotonic()
        with running(poller):
            wait_for(lambda: poller.stats["budget_stops"] >= 1, what="the budget stop")
            time.sleep(1.0)
        assert poller.stats["calls"] == 4  # details and three days, then it stopped
        assert len(sim.log.calls) == 5 + 4
        assert time.monotonic() - start < 60


def test_refused_calls_go_to_the_dlq_with_the_vendors_reason_and_polling_goes_on(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    data = MonitorData(seed=7)
    job = MonitorJob(
        monitors=[999, 102], metrics=["training_posts", "volume"], repoll_days=1, every_s=60
    )
    with CrimsonHexagonSimulator(data, calls_per_minute=10**6) as sim:
        poller = MonitorPoller(settings(kafka, topics, sim, schedule=[job]))
        with running(poller):
            wait_for(lambda: poller.stats["polls"] >= 1, what="a poll")
    dead = settled(kafka, topics, "monitors.dlq", 2)
    reasons = sorted(value["reason"] for _, value in dead)
    assert len(reasons) == 2, reasons
    assert "HTTP 404: Monitor 999 not found" in reasons[0]
    assert "the API said error: Training posts exist only for opinion monitors" in reasons[1]
    assert all(value["intended_topic"] == TOPIC for _, value in dead)
    metrics = [value["metric"] for _, value in settled(kafka, topics, TOPIC, 2)]
    assert metrics.count("volume") == 2  # monitor 102's yesterday and today, all the same
