"""Consumer lag of a processor's group, computed when Prometheus scrapes `/metrics`.

Lag is what a read_committed consumer still has to read: the partition's last stable offset
minus the group's committed offset. Asked from the cluster (admin API) rather than the
processor's own consumer, so it is the same for Quix and plain consumers, keeps counting while
the processor is stuck, and costs nothing between scrapes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from socialstream.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)


class ConsumerLag(Collector):
    """`socialstream_consumer_lag{group,topic,partition}` for one consumer group."""

    def __init__(
        self, kafka: KafkaSettings, group: str, timeout_s: float = 5.0, cache_s: float = 5.0
    ) -> None:
        self._admin = AdminClient(kafka.client_config())
        self.group = group
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._at = 0.0
        self._lags: dict[tuple[str, int], int] = {}

    def lags(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> records behind, for the partitions the group has committed."""
        with self._lock:
            if time.monotonic() - self._at >= self._cache_s:
                try:
                    self._lags = self._read()
                except Exception as exc:  # a scrape must not fail because Kafka is away
                    log.warning("consumer lag of %s not available: %s", self.group, exc)
                    self._lags = {}
                self._at = time.monotonic()
            return dict(self._lags)

    def _read(self) -> dict[tuple[str, int], int]:
        request = [ConsumerGroupTopicPartitions(self.group)]
        future = self._admin.list_consumer_group_offsets(request, request_timeout=self._timeout_s)
        committed = future[self.group].result(timeout=self._timeout_s).topic_partitions or []
        positions = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
        if not positions:
            return {}
        latest = self._admin.list_offsets(
            {TopicPartition(t, p): OffsetSpec.latest() for t, p in positions},
            isolation_level=IsolationLevel.READ_COMMITTED,
            request_timeout=self._timeout_s,
        )
        lags = {}
        for tp, answer in latest.items():
            end = answer.result(timeout=self._timeout_s).offset
            lags[(tp.topic, tp.partition)] = max(0, end - positions[(tp.topic, tp.partition)])
        return lags

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "socialstream_consumer_lag",
            "Records a read_committed consumer group still has to read, by topic and partition.",
            labels=["group", "topic", "partition"],
        )
        for (topic, partition), lag in sorted(self.lags().items()):
            family.add_metric([self.group, topic, str(partition)], lag)
        yield family
