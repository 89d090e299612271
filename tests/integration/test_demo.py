"""`socialstream demo` runs end to end: simulators -> connectors -> Kafka -> consumer."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from socialstream.runtime.settings import KafkaSettings, TopicSettings


def test_demo_shows_records_flowing(kafka: KafkaSettings, topics: TopicSettings) -> None:
    env = {
        **os.environ,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
        "SOCIALSTREAM_TOPICS__PARTITIONS": "2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "socialstream", "demo", "--duration", "70"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = re.search(r"records committed and read back: (.*)", result.stdout)
    assert summary, result.stdout[-2000:]
    counts = dict(item.split("=") for item in summary.group(1).split(", "))
    for topic in (
        "talkwalker.results",
        "talkwalker.control",
        "insightstrack.tweets",
        "insightstrack.summaries",
        "monitor.metrics",
        "sentiment.history",
        "documents.enriched",
        "documents.scored",
        "writeback.results",
    ):
        assert int(counts.get(f"{topics.prefix}{topic}", 0)) > 0, counts
    health = re.findall(
        r"lag: enrichment (\d+), join (\d+), writeback (\d+) \| dead letters (\d+)", result.stdout
    )
    assert len(health) >= 10, result.stdout[-2000:]  # one every 5 s of the 70
    assert "tw-sim-token" not in result.stdout + result.stderr
    assert "it-sim-token" not in result.stdout + result.stderr
    assert "ch-sim-token" not in result.stdout + result.stderr
    assert "sh-sim-token" not in result.stdout + result.stderr
