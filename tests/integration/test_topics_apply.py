"""`socialstream topics apply` creates every declared topic once and then changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import TOPICS, Action, apply_topics, topic_name


def _cli(
    kafka: KafkaSettings, topics: TopicSettings, *args: str, output: str = "auto"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SOCIALSTREAM_OUTPUT": output,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
        "SOCIALSTREAM_TOPICS__PARTITIONS": str(topics.partitions),
    }
    return subprocess.run(
        [sys.executable, "-m", "socialstream", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_apply_twice_second_run_changes_nothing_and_says_so(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    first = _cli(kafka, topics, "topics", "apply", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["created"] == len(TOPICS)
    assert report["changed"] is True

    second = _cli(kafka, topics, "topics", "apply", "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["created"] == 0
    assert again["changed"] is False
    assert {t["action"] for t in again["topics"]} == {"unchanged"}

    # The text form says so in words too.
    text = _cli(kafka, topics, "topics", "apply", output="text")
    assert "nothing changed" in text.stdout

    admin = AdminClient(kafka.client_config())
    existing = admin.list_topics(timeout=10).topics
    for spec in TOPICS:
        name = topic_name(spec, topics)
        assert len(existing[name].partitions) == spec.partitions(topics)
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        config = admin.describe_configs([resource])[resource].result()
        assert config["cleanup.policy"].value == ("compact" if spec.compacted else "delete")


def test_drift_is_reported_not_changed(kafka: KafkaSettings, topics: TopicSettings) -> None:
    admin = AdminClient(kafka.client_config())
    wrong = topic_name(TOPICS[0], topics)
    admin.create_topics([NewTopic(wrong, num_partitions=1, replication_factor=1)])[wrong].result()

    reports = {r.topic: r for r in apply_topics(kafka, topics)}
    drift = reports[wrong]
    assert drift.action is Action.DRIFT
    assert any("partitions: has 1, declared 2" in d for d in drift.drift)
    assert len(admin.list_topics(timeout=10).topics[wrong].partitions) == 1
    assert sum(r.action is Action.CREATED for r in reports.values()) == len(TOPICS) - 1
