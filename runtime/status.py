"""What `socialstream status` and the demo show: each component's readiness and its headline
numbers (records out, consumer lag, dead letters, upstream errors), from its health server.

A component is read through its `/readyz` and `/metrics`, so `status` works against any running
deployment (pods behind port-forwards, docker-compose services) without touching Kafka; the demo
reads the same summary from its own process's registry.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Summary:
    """The headline numbers of one metrics scrape (totals since the process started)."""

    records_out: dict[str, float] = field(default_factory=dict)  # by topic
    lag: dict[str, float] = field(default_factory=dict)  # by consumer group
    dead_letters: float = 0.0
    upstream_errors: float = 0.0
    aborted_transactions: float = 0.0

    @property
    def records_total(self) -> float:
        return sum(self.records_out.values())


def summarise(metrics_text: str) -> Summary:
    """A Summary of the Prometheus text format."""
    summary = Summary()
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "socialstream_records_out_total":
                topic = labels.get("topic", "")
                summary.records_out[topic] = summary.records_out.get(topic, 0.0) + value
            elif name == "socialstream_consumer_lag":
                group = labels.get("group", "")
                summary.lag[group] = summary.lag.get(group, 0.0) + value
            elif name == "socialstream_dead_letters_total":
                summary.dead_letters += value
            elif name == "socialstream_upstream_errors_total":
                summary.upstream_errors += value
            elif name == "socialstream_transactions_total" and labels.get("outcome") == "aborted":
                summary.aborted_transactions += value
    return summary


def local_summary() -> Summary:
    """This process's own metrics (the demo runs every component in one process)."""
    return summarise(generate_latest(REGISTRY).decode())


@dataclass
class ComponentStatus:
    """One health endpoint as `status` sees it."""

    url: str
    reachable: bool
    ready: bool = False
    failing: dict[str, str] = field(default_factory=dict)
    summary: Summary = field(default_factory=Summary)
    error: str | None = None

    def as_dict(self, rate: dict[str, float] | None = None) -> dict[str, object]:
        return {
            "url": self.url,
            "reachable": self.reachable,
            "ready": self.ready,
            "failing": self.failing,
            "records_out": self.summary.records_out,
            "records_per_s": rate or {},
            "lag": self.summary.lag,
            "dead_letters": self.summary.dead_letters,
            "upstream_errors": self.summary.upstream_errors,
            "aborted_transactions": self.summary.aborted_transactions,
            "error": self.error,
        }


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - the operator's URL
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def probe(base_url: str, timeout_s: float = 5.0) -> ComponentStatus:
    """Read one component's /readyz and /metrics."""
    base = base_url.rstrip("/")
    try:
        status, body = _get(f"{base}/readyz", timeout_s)
        readiness = json.loads(body or b"{}")
        _, metrics = _get(f"{base}/metrics", timeout_s)
    except (OSError, ValueError) as exc:
        return ComponentStatus(base, reachable=False, error=f"{type(exc).__name__}: {exc}")
    return ComponentStatus(
        base,
        reachable=True,
        ready=status == 200,
        failing=dict(readiness.get("failing") or {}),
        summary=summarise(metrics.decode("utf-8", "replace")),
    )


def rates(before: Summary, after: Summary, seconds: float) -> dict[str, float]:
    """Records a second by topic between two summaries."""
    if seconds <= 0:
        return {}
    return {
        topic: (count - before.records_out.get(topic, 0.0)) / seconds
        for topic, count in after.records_out.items()
    }


def probe_all(urls: Iterable[str], timeout_s: float = 5.0) -> list[ComponentStatus]:
    return [probe(url, timeout_s) for url in urls]
