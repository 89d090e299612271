"""Monitor metric windows as the Avro records of monitor.metrics.

Typed fields hold what most consumers chart (volume; the positive / neutral / negative shares of
sentiment_and_categories); `payload` holds the vendor's JSON for the window verbatim, so no
endpoint's data is lost, however long its tail.
"""

from __future__ import annotations

import json
from typing import Any

from socialstream.connectors.monitors.monitor_models import MetricWindow
from socialstream.runtime.lenient import to_count, to_float

VOLUME_FIELDS = ("numberOfDocuments", "totalVolume")


def volume_of(payload: dict[str, Any]) -> int | None:
    for name in VOLUME_FIELDS:
        if name in payload:
            return to_count(payload[name])
    return None


def sentiment_shares(payload: dict[str, Any]) -> dict[str, float | None]:
    """Shares (0-1) of the Basic Positive / Neutral / Negative categories, where present."""
    shares: dict[str, float | None] = {"positive": None, "neutral": None, "negative": None}
    categories = payload.get("categories")
    if not isinstance(categories, list):
        return shares
    for category in categories:
        if not isinstance(category, dict):
            continue
        name = str(category.get("category") or category.get("name") or "").lower()
        for label in shares:
            if label in name:
                try:
                    shares[label] = to_float(category.get("proportion"))
                except (TypeError, ValueError):
                    shares[label] = None
    return shares


def payload_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def metric_record(window: MetricWindow, fetched_at: int) -> dict[str, Any]:
    """A `MonitorMetric` record."""
    shares = sentiment_shares(window.payload)
    return {
        "monitor_id": window.monitor_id,
        "metric": window.metric,
        "window_start": window.start_ms,
        "window_end": window.end_ms,
        "group_by": window.group_by,
        "volume": volume_of(window.payload),
        "positive": shares["positive"],
        "neutral": shares["neutral"],
        "negative": shares["negative"],
        "payload": payload_json(window.payload),
        "fetched_at": fetched_at,
    }
