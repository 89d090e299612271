"""The Talkwalker source end to end: simulator -> connector process -> Kafka -> consumer."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.server import STREAM_PATH, error_chunk
from tests.integration.talkwalker_harness import (
    connector_env,
    expected_urls,
    max_calls_in_window,
    read_committed,
    start_connector,
    wait_for_results,
)

OUT_OF_RANGE = json.dumps(
    {
        "chunk_type": "CT_RESULT",
        "chunk_result": [{"data": {"url": "https://example.com/big", "sentiment": 2**40}}],
    }
).encode()


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()


def test_faulty_stream_of_52000_results_arrives_exactly_once(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    corpus = Corpus(seed=11, timeframes=20, per_timeframe=2600)
    plan = FaultPlan().add(
        # Connection 1: lines split across reads, a malformed line, then a disconnect mid-frame.
        Fault(FaultKind.SPLIT, path=STREAM_PATH, request=1, at_line=5, split_at=40),
        Fault(FaultKind.SPLIT, path=STREAM_PATH, request=1, at_line=2700, split_at=1),
        Fault(FaultKind.MALFORMED, path=STREAM_PATH, request=1, at_line=3000, body=b"{oops"),
        # A well-formed result with a value its record cannot hold (Avro int is 32 bits).
        Fault(FaultKind.MALFORMED, path=STREAM_PATH, request=1, at_line=4000, body=OUT_OF_RANGE),
        Fault(FaultKind.DISCONNECT, path=STREAM_PATH, request=1, at_line=9000),
        # Connection 2: Talkwalker is restarting.
        Fault(FaultKind.STATUS, path=STREAM_PATH, request=2, status=503, retry_after="2"),
        # Connection 3: an error chunk in the middle of a timeframe ("stream got disconnected").
        Fault(
            FaultKind.MALFORMED,
            path=STREAM_PATH,
            request=3,
            at_line=20_000,
            body=error_chunk("25", "Stream got disconnected: maintenance"),
        ),
    )
    apply_topics(kafka, topics)
    expected = expected_urls(corpus, list(corpus.streams))
    assert len(expected) == 52_000
    log = tmp_path / "connector.log"
    with TalkwalkerSimulator(corpus, plan=plan, gzip=True) as sim:
        process = start_connector(connector_env(kafka, topics, sim), log)
        try:
            seen = wait_for_results(kafka, topics, len(expected), 240, process)
        finally:
            _stop(process, log)
        calls = [c for c in sim.server.calls if c.path.startswith(STREAM_PATH)]
        rejected = sim.state.rejected_rate_limited
    seen = read_committed(kafka, topics)  # after the clean stop

    assert seen.duplicates == {}
    assert len(seen.result_keys) == len(expected)
    assert set(seen.result_urls) == expected
    # Every control chunk once: one a timeframe, in order.
    assert seen.controls == [corpus.timeframe_start(tf) for tf in range(corpus.timeframes)]
    origins = sorted(str(e["origin"]) for e in seen.errors)
    assert origins == ["CHUNK", "HTTP", "TRANSPORT"], seen.errors
    chunk_error = next(e for e in seen.errors if e["origin"] == "CHUNK")
    assert chunk_error["status_code"] == "25"
    assert "Stream got disconnected" in str(chunk_error["meaning"])
    http_error = next(e for e in seen.errors if e["origin"] == "HTTP")
    assert http_error["http_status"] == 503
    assert [d["raw"] for d in seen.dead_letters] == [b"{oops", OUT_OF_RANGE]
    assert "sentiment" in str(seen.dead_letters[1]["reason"])
    assert "outside the 32-bit range" in str(seen.dead_letters[1]["reason"])
    # The call log: 4 connections, never more than 5 a minute, Retry-After waited out.
    assert [c.status for c in calls] == [200, 503, 200, 200]
    assert max_calls_in_window([c.time for c in calls], 60.0) <= 5
    assert rejected == 0
    assert calls[2].time - calls[1].time >= 2.0
    assert "access_token=tw-sim-token" not in log.read_text()


def test_sigkill_at_random_points_still_exactly_once(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    seed = int(os.environ.get("SOCIALSTREAM_TEST_SEED", random.randrange(1 << 30)))
    print(f"SIGKILL schedule seed: {seed} (SOCIALSTREAM_TEST_SEED={seed} replays it)")
    rng = random.Random(seed)
    corpus = Corpus(seed=seed % 1000, timeframes=20, per_timeframe=2500)
    apply_topics(kafka, topics)
    expected = expected_urls(corpus, list(corpus.streams))
    log = tmp_path / "connector.log"
    # A scaled rate-limit window keeps 11+ connections quick; the limiter is the same code.
    with TalkwalkerSimulator(corpus, window_s=6.0, gzip=True) as sim:
        env = connector_env(kafka, topics, sim)
        kills = 0
        while kills < 10:
            process = start_connector(env, log)
            time.sleep(rng.uniform(1.5, 5.0))
            process.kill()  # SIGKILL: no cleanup, an open transaction left behind
            process.wait(10)
            kills += 1
        process = start_connector(env, log)
        try:
            seen = wait_for_results(kafka, topics, len(expected), 240, process)
        finally:
            _stop(process, log)
        rejected = sim.state.rejected_rate_limited
        calls = [c.time for c in sim.server.calls if c.path.startswith(STREAM_PATH)]
    seen = read_committed(kafka, topics)
    assert seen.duplicates == {}, f"seed {seed}"
    assert set(seen.result_urls) == expected, f"seed {seed}"
    assert len(seen.result_keys) == len(expected)
    assert seen.controls == [corpus.timeframe_start(tf) for tf in range(corpus.timeframes)]
    # Call times survive restarts: the vendor never saw more than its limit.
    assert rejected == 0
    assert max_calls_in_window(calls, 6.0) <= 5


def test_two_instances_one_writer_and_takeover(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    corpus = Corpus(seed=23, timeframes=20, per_timeframe=2500)
    apply_topics(kafka, topics)
    expected = expected_urls(corpus, list(corpus.streams))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    # The first connection pauses in the middle of timeframe 10, so the writer is killed
    # mid-stream however fast it is (on a quiet machine it streamed all 50,000 in under 3 s).
    pause = Fault(FaultKind.STALL, path=STREAM_PATH, request=1, at_line=10 * 2501 + 40, seconds=30)
    plan = FaultPlan().add(pause)
    with TalkwalkerSimulator(corpus, plan=plan, window_s=6.0, gzip=True) as sim:
        env = connector_env(kafka, topics, sim)
        processes = [start_connector(env, log) for log in logs]
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not pause.fired:
                time.sleep(0.2)
            assert pause.fired, [log.read_text()[-1000:] for log in logs]
            time.sleep(2.0)  # what came before the pause is committed
            writers = [i for i, log in enumerate(logs) if "lease acquired" in log.read_text()]
            assert len(writers) == 1, [log.read_text()[-1000:] for log in logs]
            assert sim.state.connections >= 1
            connections_before = sim.state.connections
            assert sim.state.results_sent < len(expected)  # the kill lands mid-stream
            leader = writers[0]
            processes[leader].kill()
            processes[leader].wait(10)
            killed_at = datetime.now()
            standby = 1 - leader
            seen = wait_for_results(kafka, topics, len(expected), timeout_s=240)
            lines = logs[standby].read_text().splitlines()
            acquired = [line[:23] for line in lines if "lease acquired" in line]
            assert acquired, logs[standby].read_text()[-2000:]
            # The standby became the writer only once the writer was gone.
            assert datetime.strptime(acquired[0], "%Y-%m-%d %H:%M:%S,%f") >= killed_at
            assert sim.state.connections > connections_before
        finally:
            for process, log in zip(processes, logs, strict=True):
                if process.poll() is None:
                    _stop(process, log)
        superseded = sim.state.superseded
    seen = read_committed(kafka, topics)
    assert seen.duplicates == {}
    assert set(seen.result_urls) == expected
    # Only the dead writer's connection can have been superseded: paused, the server had not
    # written to it since the kill, so it may not have noticed the peer gone.
    assert superseded <= 1


def test_invalid_token_stops_with_a_clear_message(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    corpus = Corpus(seed=1, timeframes=1, per_timeframe=10)
    apply_topics(kafka, topics)
    with TalkwalkerSimulator(corpus, token="the-right-token") as sim:
        env = connector_env(kafka, topics, sim)
        result = subprocess.run(
            [sys.executable, "-m", "socialstream", "run", "talkwalker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2
    assert "Talkwalker error 7 (Invalid, missing or inactive access token)" in result.stderr
    assert "tw-sim-token" not in result.stderr + result.stdout
    errors = read_committed(kafka, topics).errors
    assert [(e["origin"], e["status_code"]) for e in errors] == [("HTTP", "7")]
    assert json.dumps(errors, default=str).count("tw-sim-token") == 0
