"""Records counted by topic show on /metrics as the counters they are."""

from __future__ import annotations

from prometheus_client import REGISTRY

from socialstream.runtime.metrics import RECORDS_IN, RECORDS_OUT, ByTopic


def sample(name: str, component: str, topic: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"component": component, "topic": topic})


def test_counts_by_topic_are_scraped_as_counter_samples() -> None:
    out = ByTopic(RECORDS_OUT, "test-metrics")
    again = ByTopic(RECORDS_OUT, "test-metrics")  # a second publisher of the same component
    out.inc("a")
    out.inc("a", 4)
    again.inc("a")
    out.inc("b", 2)
    ByTopic(RECORDS_IN, "test-metrics").inc("a", 7)
    assert sample("socialstream_records_out_total", "test-metrics", "a") == 6
    assert sample("socialstream_records_out_total", "test-metrics", "b") == 2
    assert sample("socialstream_records_in_total", "test-metrics", "a") == 7
    assert sample("socialstream_records_in_total", "test-metrics", "b") is None
