"""Monitor API responses, parsed leniently and split into one window a record.

The API answers errors two ways: an HTTP error status, or HTTP 200 with `"status": "error"` in
the body (hexpy checks both). Dates come as `YYYY-MM-DDTHH:MM:SS` in the monitor's timezone, as
`date` alone for cumulative daily counts, and counts sometimes as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from socialstream.connectors.monitors.endpoints import Endpoint, Shape
from socialstream.runtime.lenient import LONG_LIMIT, LenientStr, VendorModel, to_epoch_ms

DAY_MS = 86_400_000


class MonitorResponseError(ValueError):
    """A body that is not what the endpoint documents (the reason says what is wrong)."""


class Envelope(VendorModel):
    """The fields every monitor response may carry."""

    status: LenientStr = None
    message: LenientStr = None


@dataclass(frozen=True)
class MetricWindow:
    """One metric of one monitor for one window: what becomes one MonitorMetric record."""

    monitor_id: int
    metric: str
    start_ms: int
    end_ms: int
    group_by: str | None
    payload: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.monitor_id}|{self.metric}|{self.start_ms}"


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _entry_window(entry: dict[str, Any]) -> tuple[int, int]:
    try:
        start = to_epoch_ms(entry.get("startDate") or entry.get("date"))
        end_value = entry.get("endDate")
        end = to_epoch_ms(end_value) if end_value else None
    except ValueError as exc:  # not a time the vendor could mean
        raise MonitorResponseError(f"an entry's dates are not times: {exc}") from None
    if start is None:
        raise MonitorResponseError("an entry has neither startDate nor date")
    end = end if end is not None else start + DAY_MS
    if end <= start:
        raise MonitorResponseError(f"an entry's endDate is not after its start ({start})")
    if end >= LONG_LIMIT:
        raise MonitorResponseError(f"an entry's window ends past the 64-bit range ({end})")
    return start, end


def split_windows(
    endpoint: Endpoint,
    monitor_id: int,
    body: dict[str, Any],
    start: date,
    end: date,
    group_by: str | None = None,
) -> list[MetricWindow]:
    """The windows of one successful response to a request for [start, end)."""
    payload = {k: v for k, v in body.items() if k != "status"}
    if endpoint.shape in (Shape.RANGE, Shape.SNAPSHOT):
        return [
            MetricWindow(monitor_id, endpoint.metric, day_ms(start), day_ms(end), None, payload)
        ]
    assert endpoint.list_field is not None
    entries = body.get(endpoint.list_field)
    if entries is None:
        entries = []  # no results for the range: an empty list, sometimes the field omitted
    if not isinstance(entries, list):
        raise MonitorResponseError(f"{endpoint.list_field} is not a list")
    windows = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise MonitorResponseError(f"an item of {endpoint.list_field} is not an object")
        first, last = _entry_window(entry)
        windows.append(
            MetricWindow(
                monitor_id,
                endpoint.metric,
                first,
                last,
                group_by if endpoint.shape is Shape.PERIODS else None,
                entry,
            )
        )
    return windows


def results_range(details: dict[str, Any]) -> tuple[date | None, date | None]:
    """`resultsStart` and `resultsEnd` of a monitor's details (the seed's usage example)."""

    def as_date(value: Any) -> date | None:
        ms = to_epoch_ms(value)
        return datetime.fromtimestamp(ms / 1000, UTC).date() if ms is not None else None

    try:
        return as_date(details.get("resultsStart")), as_date(details.get("resultsEnd"))
    except ValueError:
        return None, None


def next_day(day: date) -> date:
    return day + timedelta(1)
