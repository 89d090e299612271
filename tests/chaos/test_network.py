"""Network faults and a broker restart, at random moments (seeded): the connector's link to the
upstream is cut, its link to the broker is cut for longer than the transaction timeout, and the
broker restarts under the Talkwalker source and enrichment together. The checker then finds
every record exactly once, and the faults recorded where they should be."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialstream.deploy.kafka.launcher import KafkaBroker, free_port
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.server import STREAM_PATH
from tests.chaos.harness import Component, Proxy, check, codec, committed, count, seeds
from tests.integration.polling_harness import as_env, base_env, wait_for
from tests.integration.talkwalker_harness import connector_env, expected_urls

pytestmark = pytest.mark.chaos


def _progress_to(kafka: KafkaSettings, topics: TopicSettings, topic: str, target: float,
                 component: Component, timeout_s: float = 120) -> None:  # fmt: skip
    """Wait until `topic` holds `target` records; fail at once if the component exits."""

    def reached() -> bool:
        if not component.alive():
            raise AssertionError(f"{component.name} exited: {component.tail()}")
        return count(kafka, topics, topic) >= target

    wait_for(reached, timeout_s, f"{topic} to reach {target:.0f}: {component.tail()}")


@pytest.mark.parametrize("seed", seeds(2, base=5000))
def test_the_upstream_link_is_cut_mid_stream(
    seed: int, kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    apply_topics(kafka, topics)
    corpus = Corpus(seed=seed, timeframes=8, per_timeframe=1200)
    expected = expected_urls(corpus, list(corpus.streams))
    share, outage = rng.uniform(0.1, 0.7), rng.uniform(4.0, 10.0)
    # Upstream faults too: a malformed line and a split chunk early in the first connection.
    malformed_at, split_at = rng.randint(5, 300), rng.randint(5, 300)
    plan = FaultPlan().add(
        Fault(FaultKind.MALFORMED, path=STREAM_PATH, request=1, at_line=malformed_at,
              body=b'{"chunk_type": "CT_RESULT", "chunk_result": [{"data": '),
        Fault(FaultKind.SPLIT, path=STREAM_PATH, request=1, at_line=split_at,
              split_at=rng.randint(1, 60)),
    )  # fmt: skip
    with TalkwalkerSimulator(corpus, window_s=6.0, plan=plan) as sim:
        proxy = Proxy(sim.server.port)
        env = {
            **connector_env(kafka, topics, sim),
            "SOCIALSTREAM_TALKWALKER__BASE_URL": f"http://127.0.0.1:{proxy.port}",
            "SOCIALSTREAM_TALKWALKER__STALL_TIMEOUT_S": "2",
        }
        component = Component("talkwalker", env, tmp_path / "log")
        component.start()
        try:
            _progress_to(kafka, topics, "talkwalker.results", share * len(expected), component)
            proxy.cut()
            time.sleep(outage)
            proxy.restore()
            _progress_to(kafka, topics, "talkwalker.results", len(expected), component, 240)
        finally:
            proxy.close()
            assert component.stop() == 0, component.tail()
    report = check(kafka, topics, "talkwalker.results", expected, lambda r: str(r["url"]))
    transport = [
        codec.decode(m.value()).value
        for m in committed(kafka, topics, "talkwalker.errors")
    ]  # fmt: skip
    print(
        f"chaos upstream-cut seed={seed} at {share:.0%} for {outage:.1f}s, malformed line "
        f"{malformed_at}, split line {split_at}: {report}; {len(transport)} error records"
    )
    assert report.exact, report
    dead = committed(kafka, topics, "talkwalker.dlq")
    assert len(dead) == 1, "the one malformed line, and only it, is a dead letter"
    # The cut was seen and recorded: a stall (no byte within the read timeout) or a failed
    # reconnect while the link was down.
    assert any(e["origin"] == "TRANSPORT" for e in transport), transport


@pytest.fixture
def broker_behind_proxy(tmp_path: Path) -> Iterator[tuple[KafkaBroker, Proxy]]:
    """A broker whose clients reach it only through a proxy the test can cut."""
    port, advertised = free_port(), free_port()
    proxy = Proxy(port, listen_port=advertised)
    broker = KafkaBroker.create(tmp_path / "kafka", port=port, advertised_port=advertised)
    broker.start()
    try:
        yield broker, proxy
    finally:
        proxy.close()
        broker.stop()


@pytest.mark.timeout(900)
def test_the_broker_link_is_cut_longer_than_the_transaction_timeout(
    broker_behind_proxy: tuple[KafkaBroker, Proxy], tmp_path: Path
) -> None:
    (seed,) = seeds(1, base=6000)
    rng = random.Random(seed)
    _, proxy = broker_behind_proxy
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{proxy.port}",
        transactional_id_prefix=f"cut-{uuid.uuid4().hex[:6]}",
    )
    topics = TopicSettings(prefix="cut.", partitions=2)
    apply_topics(kafka, topics)
    corpus = Corpus(seed=seed, timeframes=10, per_timeframe=1500)
    expected = expected_urls(corpus, list(corpus.streams))
    share, outage = rng.uniform(0.1, 0.6), rng.uniform(12.0, 18.0)
    with TalkwalkerSimulator(corpus, window_s=6.0) as sim:
        env = {
            **connector_env(kafka, topics, sim),
            "SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000",
        }
        component = Component("talkwalker", env, tmp_path / "log")
        component.start()
        try:
            _progress_to(kafka, topics, "talkwalker.results", share * len(expected), component)
            proxy.cut()  # mid-stream, with a transaction open
            time.sleep(outage)
            proxy.restore()
            _progress_to(kafka, topics, "talkwalker.results", len(expected), component, 300)
        finally:
            assert component.stop() == 0, component.tail()
    report = check(kafka, topics, "talkwalker.results", expected, lambda r: str(r["url"]))
    print(f"chaos broker-cut seed={seed} at {share:.0%} for {outage:.1f}s: {report}; "
          f"{proxy.connections} broker connections")  # fmt: skip
    assert report.exact, report


@pytest.mark.timeout(900)
def test_the_broker_restarts_under_a_source_and_a_processor(tmp_path: Path) -> None:
    (seed,) = seeds(1, base=7000)
    rng = random.Random(seed)
    broker = KafkaBroker.create(tmp_path / "kafka").start()
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers,
            transactional_id_prefix=f"restart-{uuid.uuid4().hex[:6]}",
        )
        topics = TopicSettings(prefix="rs.", partitions=2)
        apply_topics(kafka, topics)
        corpus = Corpus(seed=seed, timeframes=10, per_timeframe=1500)
        expected = expected_urls(corpus, list(corpus.streams))
        share, down = rng.uniform(0.1, 0.6), rng.uniform(5.0, 15.0)
        with TalkwalkerSimulator(corpus, window_s=6.0) as sim:
            tx = {"SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000"}
            source = Component(
                "talkwalker", {**connector_env(kafka, topics, sim), **tx}, tmp_path / "tw.log"
            )
            enrichment = Component(
                "enrichment",
                {
                    **base_env(kafka, topics), **tx,
                    "SOCIALSTREAM_ENRICHMENT__CONSUMER_GROUP": f"e-{seed}",
                    "SOCIALSTREAM_ENRICHMENT__STATE_DIR": str(tmp_path / "state"),
                    "SOCIALSTREAM_ENRICHMENT__COMMIT_INTERVAL_S": "0.2",
                    "SOCIALSTREAM_KAFKA__PROPERTIES": as_env({"session.timeout.ms": "6000"}),
                },
                tmp_path / "enrichment.log",
            )  # fmt: skip
            source.start()
            enrichment.start()
            try:
                _progress_to(kafka, topics, "talkwalker.results", share * len(expected), source)
                broker.stop()  # both have transactions open
                time.sleep(down)
                broker.start()
                _progress_to(kafka, topics, "talkwalker.results", len(expected), source, 300)
                _progress_to(kafka, topics, "documents.enriched", len(expected), enrichment, 300)
            finally:
                codes = (source.stop(), enrichment.stop())
        assert codes == (0, 0), (source.tail(), enrichment.tail())
        results = check(kafka, topics, "talkwalker.results", expected, lambda r: str(r["url"]))
        documents = check(kafka, topics, "documents.enriched", expected, lambda d: str(d["url"]))
    finally:
        broker.stop()
    print(f"chaos broker-restart seed={seed} at {share:.0%}, down {down:.1f}s: "
          f"{results}; {documents}")  # fmt: skip
    assert results.exact and documents.exact, (results, documents)
