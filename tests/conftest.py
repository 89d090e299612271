"""Shared fixtures: a real Kafka broker, per-test topic namespaces, the example simulator.

The broker, in order of preference: KAFKA_BOOTSTRAP_SERVERS if set; testcontainers' Kafka where
a Docker engine answers; otherwise the project's own launcher (deploy/kafka), which runs the real
Apache Kafka jars on a free loopback port.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialstream.runtime.redaction import secrets
from socialstream.runtime.settings import KafkaSettings, TopicSettings

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts or "chaos" in parts:
            item.add_marker(pytest.mark.integration)
        if "chaos" in parts:
            item.add_marker(pytest.mark.chaos)


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from socialstream.deploy.kafka.launcher import running_broker

    with running_broker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        transactional_id_prefix=f"test-{uuid.uuid4().hex[:8]}",
        transaction_timeout_ms=30_000,
    )


@pytest.fixture
def topics() -> TopicSettings:
    """A fresh topic namespace per test, so tests never see each other's records."""
    return TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=2)


@pytest.fixture(autouse=True)
def _isolated_secrets() -> Iterator[None]:
    secrets.clear()
    yield
    secrets.clear()
