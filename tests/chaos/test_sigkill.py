"""SIGKILL at random points, against the real broker and the simulators: the Talkwalker source,
enrichment, the sentiment join and write-back, five seeds each (20 scenarios), two kills a
scenario at random moments after each (re)start. After the last restart finishes, the checker
reads the component's outputs read_committed: every expected record exactly once, nothing else.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from socialstream.runtime.lenient import epoch_ms
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.records import produce, scored_documents, talkwalker_results
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.chaos.harness import Component, check, count, kill_at_random, seeds
from tests.integration.polling_harness import as_env, base_env
from tests.integration.talkwalker_harness import connector_env, expected_urls

pytestmark = pytest.mark.chaos
KILLS = 2
STOPPED = (0, 143)  # a graceful stop, or a stop while the last restart was still starting


def _scenario(name: str, seed: int, kills: list[str], *reports: object) -> None:
    print(f"chaos {name} seed={seed} killed {kills}: " + "; ".join(map(str, reports)))
    assert len(kills) == KILLS


@pytest.mark.parametrize("seed", seeds(5, base=1000))
def test_talkwalker_source_killed_at_random(
    seed: int, kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    apply_topics(kafka, topics)
    corpus = Corpus(seed=seed, timeframes=8, per_timeframe=rng.randint(800, 1500))
    expected = expected_urls(corpus, list(corpus.streams))
    with TalkwalkerSimulator(corpus, window_s=6.0) as sim:
        component = Component("talkwalker", connector_env(kafka, topics, sim), tmp_path / "log")

        delays = kill_at_random(
            component, rng, KILLS, lambda: count(kafka, topics, "talkwalker.results"), len(expected)
        )
        assert component.stop() in STOPPED, component.tail()
    report = check(kafka, topics, "talkwalker.results", expected, lambda r: str(r["url"]))
    controls = check(
        kafka, topics, "talkwalker.control",
        [str(corpus.timeframe_start(tf)) for tf in range(corpus.timeframes)],
        lambda r: str(epoch_ms(r["timeframe_start"])),
    )  # fmt: skip
    _scenario("talkwalker", seed, delays, report, controls)
    assert report.exact and controls.exact, (report, controls)


def _processor_env(kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path) -> dict[str, str]:
    group = uuid.uuid4().hex[:8]
    return {
        **base_env(kafka, topics),
        "SOCIALSTREAM_ENRICHMENT__CONSUMER_GROUP": f"enrich-{group}",
        "SOCIALSTREAM_ENRICHMENT__STATE_DIR": str(tmp_path / "enrichment"),
        "SOCIALSTREAM_ENRICHMENT__COMMIT_INTERVAL_S": "0.2",
        "SOCIALSTREAM_SENTIMENT_JOIN__CONSUMER_GROUP": f"join-{group}",
        "SOCIALSTREAM_SENTIMENT_JOIN__STATE_DIR": str(tmp_path / "join"),
        "SOCIALSTREAM_SENTIMENT_JOIN__COMMIT_INTERVAL_S": "0.2",
        "SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000",
        # A killed member's partitions move after this (librdkafka's default is 45 s).
        "SOCIALSTREAM_KAFKA__PROPERTIES": as_env({"session.timeout.ms": "6000"}),
    }


@pytest.mark.parametrize("seed", seeds(5, base=2000))
def test_enrichment_killed_at_random(
    seed: int, kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    apply_topics(kafka, topics)
    results = talkwalker_results(Corpus(seed=seed, timeframes=4, per_timeframe=2500))
    produce(kafka, topics, "talkwalker.results", [(str(r["url"]), r, None) for r in results])
    component = Component("enrichment", _processor_env(kafka, topics, tmp_path), tmp_path / "log")

    delays = kill_at_random(
        component, rng, KILLS, lambda: count(kafka, topics, "documents.enriched"), len(results)
    )
    assert component.stop() in STOPPED, component.tail()
    report = check(
        kafka, topics, "documents.enriched", {str(r["url"]) for r in results},
        lambda d: str(d["url"]),
    )  # fmt: skip
    _scenario("enrichment", seed, delays, report)
    assert report.exact, report


@pytest.mark.parametrize("seed", seeds(5, base=3000))
def test_sentiment_join_killed_at_random(
    seed: int, kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    apply_topics(kafka, topics)
    documents = [
        s["document"] for s in scored_documents(Corpus(seed=seed, timeframes=4, per_timeframe=1500))
    ]
    produce(kafka, topics, "documents.enriched", [(d["document_id"], d, None) for d in documents])
    env = _processor_env(kafka, topics, tmp_path)
    component = Component("sentiment-join", env, tmp_path / "log")

    delays = kill_at_random(
        component, rng, KILLS, lambda: count(kafka, topics, "documents.scored"), len(documents)
    )
    assert component.stop() in STOPPED, component.tail()
    report = check(
        kafka, topics, "documents.scored", {d["document_id"] for d in documents},
        lambda s: str(s["document"]["document_id"]),
    )  # fmt: skip
    _scenario("sentiment-join", seed, delays, report)
    assert report.exact, report


@pytest.mark.parametrize("seed", seeds(5, base=4000))
def test_writeback_killed_at_random(
    seed: int, kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    apply_topics(kafka, topics)
    docs = scored_documents(Corpus(seed=seed, timeframes=4, per_timeframe=1000))
    produce(
        kafka, topics, "documents.scored", [(d["document"]["document_id"], d, None) for d in docs]
    )
    group = uuid.uuid4().hex[:8]
    with TalkwalkerSimulator(Corpus()) as sim:
        sim.docs.delay_s = 0.2  # requests take a while: kills land with requests in flight
        env = {
            **base_env(kafka, topics),
            "SOCIALSTREAM_TALKWALKER__BASE_URL": sim.url,
            "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": sim.token,
            "SOCIALSTREAM_WRITEBACK__PROJECT_ID": sim.project_id,
            "SOCIALSTREAM_WRITEBACK__CONSUMER_GROUP": f"wb-{group}",
            "SOCIALSTREAM_WRITEBACK__INSTANCE_ID": f"wb-{group}",
            "SOCIALSTREAM_WRITEBACK__MAX_OPERATIONS": "100",
        }
        component = Component("writeback", env, tmp_path / "log")

        delays = kill_at_random(
            component, rng, KILLS, lambda: count(kafka, topics, "writeback.results"), len(docs)
        )
        assert component.stop() in STOPPED, component.tail()
        live = sim.documents.live()
    report = check(
        kafka, topics, "writeback.results", {d["document"]["document_id"] for d in docs},
        lambda r: str(r["document_id"]),
    )  # fmt: skip
    _scenario("writeback", seed, delays, report)
    assert report.exact, report
    assert set(live) == {d["document"]["url"] for d in docs}  # every document is in the project
