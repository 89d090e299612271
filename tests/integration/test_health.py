"""The health server on the real broker: /metrics counters move by exactly what a write-back run
did, /readyz follows the component and Kafka, /healthz answers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from socialstream.processors.writeback.app import Writeback
from socialstream.runtime.health import HealthServer, KafkaReachable
from socialstream.runtime.lag import ConsumerLag
from socialstream.runtime.settings import (
    KafkaSettings,
    TopicSettings,
)
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.records import produce, scored_documents
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.integration.polling_harness import running, settled, wait_for
from tests.integration.talkwalker_harness import (
    connector_env,
    start_connector,
    wait_for_results,
)
from tests.integration.writeback_harness import free_port, ready, settings_for


def get(server: HealthServer, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def samples(server: HealthServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(server, "/metrics")
    assert status == 200
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_what_a_writeback_run_did_and_readyz_follows_it(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    docs = scored_documents(Corpus(seed=31, timeframes=1, per_timeframe=300))
    rejected = [d["document"]["url"] for d in docs[:7]]
    with TalkwalkerSimulator(Corpus()) as sim:
        for url in rejected:
            sim.documents.fail(url, "16", times=None)
        produce(
            kafka,
            topics,
            "documents.scored",
            [(d["document"]["document_id"], d, None) for d in docs],
        )
        settings = settings_for(kafka, topics, sim)
        writeback = Writeback(settings)
        server = HealthServer(
            "127.0.0.1", 0, {"kafka": KafkaReachable(kafka), "component": writeback.not_ready}
        ).start()
        try:
            assert get(server, "/healthz")[0] == 200
            status, body = get(server, "/readyz")
            assert status == 503 and json.loads(body)["failing"] == {"component": "starting"}
            before = samples(server)
            with running(writeback):
                settled(kafka, topics, "writeback.results", len(docs))
                assert get(server, "/readyz") == (200, b'{"ready": true, "failing": {}}')
                after = samples(server)
            status, body = get(server, "/readyz")
            assert status == 503 and json.loads(body)["failing"] == {"component": "stopping"}
        finally:
            server.stop()
        requests = sim.docs.requests

    results_topic = f"{topics.prefix}writeback.results"
    wb = "socialstream_records_out_total"
    assert delta(before, after, wb, component="writeback", topic=results_topic) == len(docs)
    read = "socialstream_records_in_total"
    scored_topic = f"{topics.prefix}documents.scored"
    assert delta(before, after, read, component="writeback", topic=scored_topic) == len(docs)
    dead = "socialstream_dead_letters_total"
    assert delta(before, after, dead, component="writeback", error_class="DocumentRejected") == 7
    outcomes = "socialstream_writeback_outcomes_total"
    assert delta(before, after, outcomes, outcome="OK") == len(docs) - 7
    assert delta(before, after, outcomes, outcome="FAILED") == 7
    calls = "socialstream_upstream_calls_total"
    assert delta(before, after, calls, host="127.0.0.1", status="200") == requests
    producer = f"writeback.{settings.writeback.instance_id}"
    committed = "socialstream_transactions_total"
    assert delta(before, after, committed, producer=producer, outcome="committed") >= 1
    assert after[("socialstream_writeback_pending", ())] == 0


def test_readyz_names_kafka_when_it_cannot_be_reached() -> None:
    port = free_port()  # nothing listens on it
    check = KafkaReachable(KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}"), timeout_s=1.0)
    server = HealthServer("127.0.0.1", 0, {"kafka": check}).start()
    try:
        status, body = get(server, "/readyz")
        assert status == 503
        assert json.loads(body)["failing"]["kafka"].startswith("Kafka unreachable")
        assert get(server, "/healthz")[0] == 200  # alive, though not ready
    finally:
        server.stop()


def test_consumer_lag_counts_what_the_group_has_not_read_yet(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    apply_topics(kafka, topics)
    docs = scored_documents(Corpus(seed=37, timeframes=1, per_timeframe=120))
    first, later = docs[:100], docs[100:]
    with TalkwalkerSimulator(Corpus()) as sim:
        settings = settings_for(kafka, topics, sim)
        lag = ConsumerLag(kafka, settings.writeback.consumer_group, cache_s=0)
        produce(
            kafka,
            topics,
            "documents.scored",
            [(d["document"]["document_id"], d, None) for d in first],
        )
        assert lag.lags() == {}  # the group has committed nothing yet
        with running(Writeback(settings)):
            settled(kafka, topics, "writeback.results", len(first))
            # Caught up: only each partition's last transaction marker is left, which a
            # consumer never reads (kafka-consumer-groups.sh shows the same 1 a partition).
            wait_for(lambda: set(lag.lags().values()) == {1}, 30, "a caught-up group")
        caught_up = lag.lags()
        # With the processor stopped, one key's records wait on one partition.
        produce(kafka, topics, "documents.scored", [("one-key", d, None) for d in later])
        grown = {tp: n - caught_up[tp] for tp, n in lag.lags().items() if n != caught_up[tp]}
    scored_topic = f"{topics.prefix}documents.scored"
    assert {topic for topic, _ in caught_up} == {scored_topic}
    assert len(caught_up) == topics.partitions
    assert list(grown.values()) == [len(later) + 1]  # the records and their marker
    registry = CollectorRegistry()
    registry.register(lag)
    family = next(iter(registry.collect()))
    assert family.name == "socialstream_consumer_lag"
    assert sum(s.value for s in family.samples) == sum(caught_up.values()) + len(later) + 1


def test_status_reads_a_running_component_and_names_the_unreachable(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    port, nobody = free_port(), free_port()
    with TalkwalkerSimulator(Corpus(seed=5, timeframes=200, per_timeframe=500)) as sim:
        env = {
            **connector_env(kafka, topics, sim),
            "SOCIALSTREAM_HEALTH__PORT": str(port),
            "SOCIALSTREAM_HEALTH__HOST": "127.0.0.1",
        }
        process = start_connector(env, tmp_path / "connector.log")
        try:
            wait_for(lambda: ready(port), 60, "the connector to be ready")
            wait_for_results(kafka, topics, 1000, 60, process)
            result = subprocess.run(
                [sys.executable, "-m", "socialstream", "status", "--json",
                 f"http://127.0.0.1:{port}", f"http://127.0.0.1:{nobody}"],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    assert result.returncode == 1, result.stderr  # one of the two is unreachable
    running_one, missing = json.loads(result.stdout)
    assert running_one["reachable"] and running_one["ready"], running_one
    results_topic = f"{topics.prefix}talkwalker.results"
    assert running_one["records_out"][results_topic] >= 1000
    assert running_one["records_per_s"][results_topic] > 0  # still streaming
    assert missing["reachable"] is False and missing["error"]
