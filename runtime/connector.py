"""The lifecycle every single-writer source shares, as Kafka Connect's runtime gives its tasks one.

A connector subclass says how to stream while it is the writer (`run_as_writer`); this base keeps
the instance on standby until it holds the lease, hands over when the lease or the transactional
id moves to another instance, and stops on `stop()` or on a `StopConnector` the subclass raises.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Any

from confluent_kafka import KafkaException

from socialstream.runtime.lease import LeaseError, SingleWriterLease
from socialstream.runtime.producer import DeliveryFailed, ProducerFenced
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import Settings

log = logging.getLogger(__name__)


class StopConnector(Exception):
    """A condition retrying cannot fix (bad credentials, unknown stream...); says which."""


class LeaseLost(Exception):
    """Another instance is the writer now."""


class SingleWriterConnector(ABC):
    """Stand by, write while holding the lease, stand by again when it moves."""

    component: str = "connector"

    def __init__(self, settings: Settings, name: str, session_timeout_ms: int) -> None:
        self.settings = settings
        self.name = name
        self._session_timeout_ms = session_timeout_ms
        self._stop = threading.Event()
        self._state = "starting"
        self.blocked: str | None = None  # set by a subclass while upstream refuses (credits...)

    def stop(self) -> None:
        self._stop.set()

    def not_ready(self) -> str | None:
        """For /readyz: None while this instance is the writer and upstream lets it read; else
        why not (starting, standby behind another writer, Kafka unavailable, out of credits)."""
        if self._stop.is_set():
            return "stopping"
        if self._state != "writer":
            return self._state
        return self.blocked

    def stats_summary(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def run_as_writer(self, lease: SingleWriterLease) -> None:
        """Stream while `lease.held`; return when stopped or when the lease is gone."""

    def run(self) -> None:
        lease = SingleWriterLease(
            self.settings.kafka,
            self.settings.topics,
            f"{self.component}.{self.name}",
            self._session_timeout_ms,
        )
        backoff = 1.0
        try:
            while not self._stop.is_set():
                try:
                    if not lease.wait(1.0):
                        self._state = "standby: another instance is the writer"
                        continue
                except LeaseError as exc:
                    raise StopConnector(str(exc)) from None
                try:
                    self._state = "writer"
                    self.run_as_writer(lease)
                    backoff = 1.0
                except (ProducerFenced, LeaseLost) as exc:
                    self._state = "standby: fenced by another writer"
                    log.warning("no longer the writer, standing by: %s", exc)
                except (KafkaException, DeliveryFailed, TimeoutError) as exc:
                    self._state = "Kafka unavailable"
                    # The cluster is unreachable or busy. Everything committed is safe and the
                    # writer rebuilds its state from Kafka, so starting over is always correct.
                    log.error(
                        "Kafka unavailable, retrying in %.0f s: %s", backoff, redact_text(str(exc))
                    )
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 60.0)
        finally:
            lease.close()
            log.info("%s stopped", self.component, extra={"stats": self.stats_summary()})
