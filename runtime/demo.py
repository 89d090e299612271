"""`socialstream demo`: a broker, the topics, the simulators and the connectors, on one laptop.

What runs today: the four simulators (Talkwalker, InsightsTrack, Crimson Hexagon, sentiment
history) serve their seeded data; the real Talkwalker and InsightsTrack sources and the monitor
and sentiment pollers move it into Kafka exactly as they would from the vendors; the enrichment
processor turns results and tweets into documents, the sentiment join scores them and the
write-back sends them in bulk to the Talkwalker simulator's documents API; a read_committed
consumer decodes what is committed and prints records a second per topic.
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Protocol

from pydantic import SecretStr

from socialstream.runtime.codec import Codec, DecodeError, codec_from_settings
from socialstream.runtime.consumer import committed_consumer
from socialstream.runtime.lag import ConsumerLag
from socialstream.runtime.settings import MonitorJob, SentimentQuery, Settings
from socialstream.runtime.status import local_summary
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData
from socialstream.simulators.insightstrack import EventScript, InsightsTrackSimulator
from socialstream.simulators.sentiment_history import SentimentHistorySimulator, SentimentSeries
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator

TOPICS = (
    "talkwalker.results",
    "talkwalker.control",
    "insightstrack.tweets",
    "insightstrack.summaries",
    "insightstrack.users",
    "insightstrack.control",
    "monitor.metrics",
    "sentiment.history",
    "documents.enriched",
    "documents.scored",
    "writeback.results",
)
SHORT = {
    "talkwalker": "tw",
    "insightstrack": "it",
    "monitor.": "mon.",
    "sentiment.": "sent.",
    "documents.": "docs.",
    "writeback.": "wb.",
}


class Source(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


def _short(topic: str) -> str:
    for long, short in SHORT.items():
        topic = topic.replace(long, short)
    return topic


def watch(
    settings: Settings,
    codec: Codec,
    topics: list[str],
    stop: threading.Event,
    report: Callable[[Counter[str], Counter[str]], None],
) -> None:
    """Consume read_committed, decode, and report counts every second."""
    consumer = committed_consumer(settings.kafka, f"socialstream-demo-{int(time.time())}")
    consumer.subscribe(topics)
    totals: Counter[str] = Counter()
    window: Counter[str] = Counter()
    tick = time.monotonic()
    try:
        while not stop.is_set():
            for msg in consumer.consume(1000, 0.2):
                if msg.error():
                    continue
                try:
                    codec.decode(msg.value(), msg.topic())
                except DecodeError:
                    continue
                window[msg.topic()] += 1
                totals[msg.topic()] += 1
            if time.monotonic() - tick >= 1.0:
                report(window, totals)
                window = Counter()
                tick = time.monotonic()
    finally:
        consumer.close()


def health_line(lags: list[tuple[str, ConsumerLag]]) -> str:
    """Consumer lag of each processor, dead letters, upstream errors and aborted transactions
    (the metrics every component counts, read from this process)."""
    summary = local_summary()
    lag = ", ".join(f"{name} {sum(lag.lags().values())}" for name, lag in lags)
    return (
        f"  lag: {lag or '-'} | dead letters {summary.dead_letters:.0f}"
        f" | upstream errors {summary.upstream_errors:.0f}"
        f" | aborted transactions {summary.aborted_transactions:.0f}"
    )


def _demo_settings(settings: Settings, urls: dict[str, str]) -> Settings:
    """The settings with every upstream pointed at its simulator."""
    talkwalker_url, insightstrack_url = urls["talkwalker"], urls["insightstrack"]
    tw = settings.talkwalker.model_copy(
        update={
            "base_url": talkwalker_url,
            "access_token": SecretStr("tw-sim-token"),
            "streams": "*",
            "gzip": True,
        }
    )
    it = settings.insightstrack.model_copy(
        update={
            "base_url": insightstrack_url,
            "bearer_token": SecretStr("it-sim-token"),
            "account": "demo",
            "label": "prod",
        }
    )
    today = datetime.now(UTC).date()
    monitors = settings.monitors.model_copy(
        update={
            "base_url": f"{urls['crimson_hexagon']}/api",
            "token": SecretStr("ch-sim-token"),
            "schedule": [
                MonitorJob(
                    monitors=[101, 102],
                    metrics=["volume", "sentiment_and_categories", "top_sources", "countries"],
                    every_s=30,
                    first_day=today - timedelta(7),
                )
            ],
        }
    )
    sentiment = settings.sentiment.model_copy(
        update={
            "base_url": urls["sentiment_history"],
            "token": SecretStr("sh-sim-token"),
            "queries": [SentimentQuery(name="demo", interval="1m", keywords=["acme"])],
            "every_s": 15,
            # The hours the Talkwalker corpus covers (500 minutes), so its documents find their
            # buckets without the join first chewing through 15 days of them.
            "first_lookback_minutes": 600,
        }
    )
    enrichment = settings.enrichment.model_copy(
        update={
            "default_sentiment_query": "demo",
            "consumer_group": f"socialstream-demo-enrichment-{int(time.time())}",
            "state_dir": tempfile.mkdtemp(prefix="socialstream-demo-"),
        }
    )
    sentiment_join = settings.sentiment_join.model_copy(
        update={
            "consumer_group": f"socialstream-demo-join-{int(time.time())}",
            "state_dir": tempfile.mkdtemp(prefix="socialstream-demo-"),
        }
    )
    writeback = settings.writeback.model_copy(
        update={
            "project_id": "project-1",  # the Talkwalker simulator's
            "consumer_group": f"socialstream-demo-writeback-{int(time.time())}",
            "instance_id": f"demo-{int(time.time())}",
        }
    )
    return settings.model_copy(
        update={
            "writeback": writeback,
            "talkwalker": tw,
            "insightstrack": it,
            "monitors": monitors,
            "sentiment": sentiment,
            "enrichment": enrichment,
            "sentiment_join": sentiment_join,
        }
    )


def run_demo(settings: Settings, duration_s: float) -> Counter[str]:
    """Run until `duration_s` passes (0: until Ctrl-C). Returns records seen a topic."""
    from socialstream.connectors.insightstrack.source import InsightsTrackSource
    from socialstream.connectors.monitors.monitor_source import MonitorPoller
    from socialstream.connectors.monitors.sentiment_source import SentimentPoller
    from socialstream.connectors.talkwalker.source import TalkwalkerSource
    from socialstream.processors.enrichment.app import Enrichment
    from socialstream.processors.sentiment_join.app import SentimentJoin
    from socialstream.processors.writeback.app import Writeback

    apply_topics(settings.kafka, settings.topics)
    codec = codec_from_settings(settings)
    stop = threading.Event()
    seen: Counter[str] = Counter()
    names = [f"{settings.topics.prefix}{t}" for t in TOPICS]

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    previous_term = signal.signal(signal.SIGTERM, on_signal)

    lags: list[tuple[str, ConsumerLag]] = []
    reports = 0

    def report(window: Counter[str], totals: Counter[str]) -> None:
        nonlocal reports
        seen.clear()
        seen.update(totals)
        cells = [
            f"{_short(t)} {window[n]:>4}/s ({totals[n]})"
            for t, n in zip(TOPICS, names, strict=True)
        ]
        print("  ".join(cells), flush=True)
        reports += 1
        if reports % 5 == 0:  # lag asks the cluster: every 5 s is enough
            print(health_line(lags), flush=True)

    errors: list[BaseException] = []
    with ExitStack() as stack:
        talkwalker = stack.enter_context(
            # Timeframes of the last hours, so that documents fall inside the sentiment series.
            TalkwalkerSimulator(
                Corpus(
                    seed=1,
                    timeframes=500,
                    per_timeframe=100,
                    start_ms=int(time.time() * 1000) - 500 * 60_000,
                )
            )
        )
        insightstrack = stack.enter_context(
            InsightsTrackSimulator(EventScript(seed=1, count=1_000_000))
        )
        crimson_hexagon = stack.enter_context(CrimsonHexagonSimulator(MonitorData(seed=1)))
        sentiment_history = stack.enter_context(SentimentHistorySimulator(SentimentSeries(seed=1)))
        urls = {
            "talkwalker": talkwalker.url,
            "insightstrack": insightstrack.url,
            "crimson_hexagon": crimson_hexagon.url,
            "sentiment_history": sentiment_history.url,
        }
        print(
            ", ".join(f"{name} simulator {url}" for name, url in urls.items())
            + f", Kafka {settings.kafka.bootstrap_servers}",
            flush=True,
        )
        demo = _demo_settings(settings, urls)
        lags.extend(
            (name, ConsumerLag(settings.kafka, group))
            for name, group in (
                ("enrichment", demo.enrichment.consumer_group),
                ("join", demo.sentiment_join.consumer_group),
                ("writeback", demo.writeback.consumer_group),
            )
        )
        sources: list[Source] = [
            TalkwalkerSource(demo, codec),
            InsightsTrackSource(demo, codec),
            MonitorPoller(demo, codec),
            SentimentPoller(demo, codec),
            Enrichment(demo, codec),
            SentimentJoin(demo, codec),
            Writeback(demo),
        ]

        def run(source: Source) -> None:
            try:
                source.run()
            except BaseException as exc:  # surfaced after the watcher stops
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in sources]
        for thread in threads:
            thread.start()
        if duration_s > 0:
            threading.Timer(duration_s, stop.set).start()
        try:
            watch(settings, codec, names, stop, report)
        finally:
            stop.set()
            for source in sources:
                source.stop()
            for thread in threads:
                thread.join(30)
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, previous_term)
    if errors:
        raise errors[0]
    return seen
