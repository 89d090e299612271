"""The Prometheus metrics every component exports on its health server's `/metrics`.

Counted where the work happens, once for all components: records and dead letters where they
are produced (`Publisher`, `DeadLetterWriter`), transactions where they commit
(`TransactionalProducer`), upstream calls in the HTTP client's transport. Labels are bounded
(component, topic, error class, HTTP status, upstream host), never a document id or a token.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily


class TopicCounter:
    """A counter by (component, topic) kept in plain integers and read at scrape time: counted
    for every record, and prometheus_client's Counter takes a lock a step (1-2 µs, a few percent
    of a processor). Each component counts on the one thread that does its work."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.counts: dict[tuple[str, str], int] = {}
        REGISTRY.register(self)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=["component", "topic"])
        for (component, topic), value in list(self.counts.items()):
            family.add_metric([component, topic], value)
        yield family

    def describe(self) -> list[CounterMetricFamily]:
        return [CounterMetricFamily(self.name, self.documentation, labels=["component", "topic"])]


RECORDS_OUT = TopicCounter(
    "socialstream_records_out", "Records produced (committed or not yet), by component and topic."
)
RECORDS_IN = TopicCounter(
    "socialstream_records_in", "Records a processor consumed, by component and topic."
)
DEAD_LETTERS = Counter(
    "socialstream_dead_letters",
    "Inputs sent to a dead-letter topic, by component and error class.",
    ["component", "error_class"],
)
TRANSACTIONS = Counter(
    "socialstream_transactions",
    "Kafka transactions, by producer and outcome (committed, aborted).",
    ["producer", "outcome"],
)
COMMIT_SECONDS = Histogram(
    "socialstream_transaction_commit_seconds",
    "Time to flush and commit a transaction.",
    ["producer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UPSTREAM_CALLS = Counter(
    "socialstream_upstream_calls",
    "HTTP calls to an upstream API, by host and status (or `error` without an answer).",
    ["host", "status"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "socialstream_rate_limit_wait_seconds",
    "Seconds spent waiting for an upstream's rate limit.",
    ["host"],
)
WRITEBACK_OUTCOMES = Counter(
    "socialstream_writeback_outcomes",
    "Final write-back outcomes (OK, FAILED, SKIPPED).",
    ["outcome"],
)
WRITEBACK_PENDING = Gauge(
    "socialstream_writeback_pending",
    "Documents read by write-back and not yet committed with their outcome.",
)
WRITEBACK_PAUSED = Gauge(
    "socialstream_writeback_paused",
    "1 while write-back's consumer is paused by backpressure.",
)
UPSTREAM_ERRORS = Counter(
    "socialstream_upstream_errors",
    "Errors an upstream reported, by component and the vendor's code (or HTTP status).",
    ["component", "code"],
)
CREDITS_USED = Counter(
    "socialstream_credits_used",
    "Upstream credits spent, as the upstream reported them (sentiment history).",
    ["component"],
)
QUOTA_USAGE = Gauge(
    "socialstream_quota_usage",
    "A stream's quota usage from its latest control chunk (Talkwalker), by stream.",
    ["component", "stream"],
)
QUOTA_ALLOWANCE = Gauge(
    "socialstream_quota_allowance",
    "A stream's quota allowance from its latest control chunk (Talkwalker), by stream.",
    ["component", "stream"],
)
CHECKPOINT_AGE_SECONDS = Gauge(
    "socialstream_checkpoint_age_seconds",
    "Seconds since the component last wrote its checkpoint (in a transaction).",
    ["component"],
)


class ByTopic:
    """One component's share of a `TopicCounter`, its (component, topic) keys made once."""

    def __init__(self, counter: TopicCounter, component: str) -> None:
        self._counts = counter.counts
        self._component = component
        self._keys: dict[str, tuple[str, str]] = {}

    def inc(self, topic: str, amount: int = 1) -> None:
        key = self._keys.get(topic)
        if key is None:
            key = self._keys[topic] = (self._component, topic)
        counts = self._counts
        counts[key] = counts.get(key, 0) + amount
