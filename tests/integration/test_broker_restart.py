"""A broker restart in the middle of a stream: the connector waits, resumes, loses and repeats
nothing, and its /readyz says not ready while the broker is away and ready once it is back.
Runs its own broker (the launcher), because it stops it."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialstream.deploy.kafka.launcher import KafkaBroker
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.integration.polling_harness import wait_for
from tests.integration.talkwalker_harness import (
    connector_env,
    expected_urls,
    read_committed,
    start_connector,
    wait_for_results,
)
from tests.integration.writeback_harness import free_port


def readiness(port: int) -> tuple[int, dict[str, Any]]:
    """/readyz's status and body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    broker = KafkaBroker.create(tmp_path / "kafka").start()
    try:
        yield broker
    finally:
        broker.stop()


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(
    own_broker: KafkaBroker, tmp_path: Path
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=own_broker.bootstrap_servers,
        transactional_id_prefix=f"restart-{uuid.uuid4().hex[:6]}",
    )
    topics = TopicSettings(prefix="r.", partitions=2)
    apply_topics(kafka, topics)
    corpus = Corpus(seed=31, timeframes=20, per_timeframe=2000)
    expected = expected_urls(corpus, list(corpus.streams))
    log = tmp_path / "connector.log"
    with TalkwalkerSimulator(corpus, window_s=6.0) as sim:
        # An outage longer than the transaction timeout: the open transaction cannot survive it.
        port = free_port()
        env = {
            **connector_env(kafka, topics, sim),
            "SOCIALSTREAM_KAFKA__TRANSACTION_TIMEOUT_MS": "10000",
            "SOCIALSTREAM_HEALTH__PORT": str(port),
            "SOCIALSTREAM_HEALTH__HOST": "127.0.0.1",
        }
        process = start_connector(env, log)
        try:
            wait_for_results(kafka, topics, 8000, 120, process)
            assert readiness(port)[0] == 200
            own_broker.stop()  # mid-stream, with a transaction open
            wait_for(lambda: readiness(port)[0] == 503, 30, "/readyz to turn 503")
            assert "kafka" in readiness(port)[1]["failing"]
            time.sleep(10)
            own_broker.start()
            wait_for(lambda: readiness(port)[0] == 200, 120, "/readyz to turn 200 again")
            seen = wait_for_results(kafka, topics, len(expected), 240, process)
            assert process.poll() is None, log.read_text()[-3000:]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    seen = read_committed(kafka, topics)
    assert seen.duplicates == {}
    assert set(seen.result_urls) == expected
    assert "resuming from checkpoint" in log.read_text()  # state rebuilt from Kafka after it
