"""Hostile upstream answers are cut off with a clear reason, and the stream goes on: a 100 MB
line sent gzip-compressed (a gzip bomb of about 100 kB on the wire), JSON nested 200,000 deep, a
100 MB error body. The connector's memory stays bounded while it happens."""

from __future__ import annotations

import signal
from pathlib import Path

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.server import STREAM_PATH
from tests.integration.talkwalker_harness import (
    connector_env,
    expected_urls,
    read_committed,
    start_connector,
    wait_for_results,
)

HUNDRED_MB = 100 * 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_gzip_bomb_line_deep_nesting_and_a_huge_error_body_are_cut_off(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    apply_topics(kafka, topics)
    corpus = Corpus(seed=23, timeframes=4, per_timeframe=300)
    expected = expected_urls(corpus, list(corpus.streams))
    bomb = b'{"chunk_type": "CT_RESULT", "chunk_result": [{"data": {"url": "' + b"0" * HUNDRED_MB
    plan = FaultPlan().add(
        # Connection 1: a 503 whose body is 100 MB (read 64 kB of it, then retried).
        Fault(FaultKind.STATUS, path=STREAM_PATH, request=1, status=503, retry_after="1",
              status_body=b"x" * HUNDRED_MB),
        # Connection 2: the bomb and the nesting, among good lines.
        Fault(FaultKind.MALFORMED, path=STREAM_PATH, request=2, at_line=50, body=bomb + b'"}}]}'),
        Fault(FaultKind.MALFORMED, path=STREAM_PATH, request=2, at_line=120,
              body=b"[" * 200_000),
    )  # fmt: skip
    log = tmp_path / "connector.log"
    with TalkwalkerSimulator(corpus, plan=plan, gzip=True) as sim:
        process = start_connector(connector_env(kafka, topics, sim), log)
        try:
            wait_for_results(kafka, topics, len(expected), 180, process)
            assert process.poll() is None, log.read_text()[-3000:]
            peak = peak_rss_mb(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    seen = read_committed(kafka, topics)
    assert seen.duplicates == {}
    assert set(seen.result_urls) == expected
    reasons = sorted(str(d["reason"]) for d in seen.dead_letters)
    assert len(reasons) == 2, reasons
    assert any("longer than the 16 MiB limit" in r for r in reasons), reasons
    assert any("nested deeper than 512 levels" in r for r in reasons), reasons
    assert all(
        isinstance(d["raw"], bytes) and len(d["raw"]) <= 512 * 1024 for d in seen.dead_letters
    )
    http_errors = [e for e in seen.errors if e["origin"] == "HTTP"]
    assert len(http_errors) == 1 and "503" in str(http_errors[0])
    print(f"connector peak RSS {peak:.0f} MB")  # for the record (pytest -s)
    # 100 MB arrived twice; the connector never held either whole.
    assert peak < 250, f"peak RSS {peak:.0f} MB"
