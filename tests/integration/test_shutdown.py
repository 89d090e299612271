"""SIGTERM in the middle of a busy stream: the process exits cleanly within the grace period,
and a restart finishes the stream with nothing lost and nothing written twice."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from tests.integration.talkwalker_harness import (
    connector_env,
    expected_urls,
    read_committed,
    start_connector,
    wait_for_results,
)

GRACE_S = 10.0


def test_sigterm_mid_stream_exits_within_the_grace_period_and_restart_is_exact(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    corpus = Corpus(seed=47, timeframes=12, per_timeframe=2500)
    expected = expected_urls(corpus, list(corpus.streams))
    log = tmp_path / "connector.log"
    with TalkwalkerSimulator(corpus) as sim:
        env = {**connector_env(kafka, topics, sim), "SOCIALSTREAM_SHUTDOWN__GRACE_S": str(GRACE_S)}
        first = start_connector(env, log)
        try:
            busy = wait_for_results(kafka, topics, 5000, 120, first)
            assert first.poll() is None, log.read_text()[-3000:]
            assert len(busy.result_keys) < len(expected), "the stream must still be running"
            asked = time.monotonic()
            first.send_signal(signal.SIGTERM)
            code = first.wait(GRACE_S + 5)
            took = time.monotonic() - asked
        finally:
            if first.poll() is None:
                first.kill()
        assert code == 0, log.read_text()[-3000:]
        assert took < GRACE_S, f"took {took:.1f} s"
        stopped_at = len(read_committed(kafka, topics).result_keys)
        assert stopped_at < len(expected)

        second = start_connector(env, log)
        try:
            wait_for_results(kafka, topics, len(expected), 240, second)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(GRACE_S + 5)
    seen = read_committed(kafka, topics)
    assert seen.duplicates == {}
    assert set(seen.result_urls) == expected
    assert len(seen.result_keys) == len(expected)
    assert "resuming from checkpoint" in log.read_text()
