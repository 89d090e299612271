"""What the poller tests share: settings for a simulator, reading records back, a thread."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from tests.sample_records import plain

codec = SingleObjectCodec()


def records(kafka: KafkaSettings, topics: TopicSettings, topic: str) -> list[tuple[str, Any]]:
    """(key, decoded value) of every committed record, in offset order within partitions."""
    found = []
    for msg in read_to_end(kafka, f"{topics.prefix}{topic}", timeout_s=60):
        key = msg.key().decode() if msg.key() is not None else ""
        found.append((key, plain(codec.decode(msg.value()).value)))
    return found


def settled(
    kafka: KafkaSettings, topics: TopicSettings, topic: str, expected: int, timeout_s: float = 60
) -> list[tuple[str, Any]]:
    """`records` once at least `expected` are visible. A commit returns before the coordinator
    has written its markers to every partition, so a read_committed reader right after it may
    briefly see only some partitions' records."""
    found: list[tuple[str, Any]] = []

    def enough() -> bool:
        nonlocal found
        found = records(kafka, topics, topic)
        return len(found) >= expected

    wait_for(enough, timeout_s, f"{expected} records on {topic}")
    return found


def base_env(kafka: KafkaSettings, topics: TopicSettings) -> dict[str, str]:
    return {
        **os.environ,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": kafka.transactional_id_prefix,
        "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
        "SOCIALSTREAM_TOPICS__PARTITIONS": str(topics.partitions),
        "SOCIALSTREAM_LOG__FORMAT": "text",
    }


def as_env(value: Any) -> str:
    return json.dumps(value)


def wait_for(condition: Callable[[], bool], timeout_s: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.2)


class Runnable(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


R = TypeVar("R", bound=Runnable)


@contextmanager
def running(connector: R) -> Iterator[R]:
    """Run a connector or processor in a thread; stop it and re-raise what it raised."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            connector.run()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield connector
    finally:
        connector.stop()
        thread.join(60)
    assert not thread.is_alive(), "it did not stop within 60 s"
    if failure:
        raise failure[0]
