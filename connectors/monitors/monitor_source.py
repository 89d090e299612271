"""`socialstream run monitors` and `backfill monitors`: Crimson Hexagon metrics into Kafka.

Each poll follows the seed's usage example: a monitor's details first (its `resultsStart` and
`resultsEnd` bound every range), then each scheduled metric from where the last poll got to,
re-fetching the trailing `repoll_days` to pick up late data. Windows whose content did not
change are not published again; a revision is a new record with the same key. Records and the
checkpoint (how far each metric got, the hashes of the re-poll window, the day's call count)
commit in one Kafka transaction, so a restart neither skips nor repeats a window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from socialstream.connectors.monitors.budget import BudgetExhausted, DailyBudget
from socialstream.connectors.monitors.endpoints import ENDPOINTS, Endpoint, Shape, request_ranges
from socialstream.connectors.monitors.monitor_client import (
    MonitorAPIError,
    MonitorAuthError,
    MonitorClient,
)
from socialstream.connectors.monitors.monitor_models import (
    MetricWindow,
    MonitorResponseError,
    day_ms,
    results_range,
    split_windows,
)
from socialstream.connectors.monitors.monitor_records import metric_record
from socialstream.connectors.monitors.poller import Poller
from socialstream.connectors.monitors.publishing import Outgoing, PollWriter, now_ms
from socialstream.runtime.codec import Codec, codec_from_settings
from socialstream.runtime.connector import StopConnector
from socialstream.runtime.httpclient import UpstreamError
from socialstream.runtime.metrics import UPSTREAM_ERRORS
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import MonitorJob, Settings

log = logging.getLogger(__name__)

COMPONENT = "monitors"
TOPIC = "monitor.metrics"


def utc_day(clock: Callable[[], float] = time.time) -> date:
    return datetime.fromtimestamp(clock(), UTC).date()


def outgoing(windows: list[MetricWindow]) -> list[Outgoing]:
    fetched_at = now_ms()
    return [
        Outgoing(
            w.key,
            metric_record(w, fetched_at),
            w.start_ms,
            f"monitor={w.monitor_id};metric={w.metric};window={w.start_ms}",
        )
        for w in windows
    ]


def metric_writer(settings: Settings, codec: Codec, transactional: str) -> PollWriter:
    return PollWriter(settings, codec, COMPONENT, TOPIC, transactional)


def describe(endpoint: Endpoint, monitor: int, start: date | None, end: date | None) -> str:
    span = f";start={start};end={end}" if start is not None else ""
    return f"GET {endpoint.path}?id={monitor}{span}"


class MonitorPoller(Poller):
    """Polls the schedule forever; one writer a poller name."""

    component = COMPONENT
    topic = TOPIC
    budget_unit = "calls"

    def __init__(
        self, settings: Settings, codec: Codec | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.ms = settings.monitors
        if self.ms.token is None:
            raise StopConnector("set SOCIALSTREAM_MONITORS__TOKEN")
        if not self.ms.schedule:
            raise StopConnector("nothing to poll: set monitors.schedule (see the README)")
        super().__init__(
            settings,
            self.ms.name,
            self.ms.lease_session_timeout_ms,
            codec or codec_from_settings(settings),
            self.ms.daily_call_budget,
            clock,
        )
        self.stats = dict.fromkeys(
            ("polls", "calls", "records", "unchanged", "dead_letters", "budget_stops"), 0
        )

    def poll_forever(self) -> None:
        with MonitorClient(self.ms) as client:
            self._client = client
            self._loop()

    def _loop(self) -> None:
        schedule = self.ms.schedule
        due = [0.0] * len(schedule)
        while not self._stop.is_set() and self._lease.held:
            for index, job in enumerate(schedule):
                if time.monotonic() < due[index]:
                    continue
                try:
                    self._poll(job)
                    self.stats["polls"] += 1
                    self.blocked = None
                    due[index] = time.monotonic() + job.every_s
                except BudgetExhausted as exc:
                    log.error("%s", exc)
                    self.stats["budget_stops"] += 1
                    due = [time.monotonic() + exc.resets_in_s] * len(schedule)
                    break
                except MonitorAuthError as exc:
                    raise StopConnector(str(exc)) from None
                except UpstreamError as exc:  # still failing after every retry
                    UPSTREAM_ERRORS.labels(self.component, str(exc.status or "error")).inc()
                    self.blocked = f"upstream failing: {redact_text(str(exc))[:200]}"
                    retry_s = min(job.every_s, 60.0)
                    log.error("monitor poll failed, retrying in %.0f s: %s", retry_s, exc)
                    due[index] = time.monotonic() + retry_s
            self._stop.wait(min(1.0, max(0.0, min(due) - time.monotonic())))

    def _call(
        self,
        endpoint: Endpoint,
        monitor: int,
        start: date | None,
        end: date | None,
        job: MonitorJob,
    ) -> dict[str, Any] | None:
        """The body, or None when the API refused for good (then the call is dead-lettered)."""
        if self._budget.limit is not None:  # commit the spend before making the call
            self._budget.spend(1)
            self._writer.commit([], self.name, self._position)
        self.stats["calls"] += 1
        try:
            return self._client.fetch(endpoint, monitor, start, end, job)
        except MonitorAuthError:
            raise
        except MonitorAPIError as exc:
            if not exc.permanent:
                raise
            self.stats["dead_letters"] += 1
            where = describe(endpoint, monitor, start, end)
            self._writer.dead_letter(where.encode(), exc, where, self.name, self._position)
            return None

    def _poll(self, job: MonitorJob) -> None:
        today = utc_day(self.clock)
        for monitor in job.monitors:
            if self._stop.is_set() or not self._lease.held:
                return
            details = self._call(ENDPOINTS["details"], monitor, None, None, job)
            if details is None:
                continue
            first, last = results_range(details)
            for metric in job.metrics:
                self._poll_metric(job, monitor, ENDPOINTS[metric], details, first, last, today)
        longest = max(j.repoll_days for j in self.ms.schedule)
        self._revisions.prune(day_ms(today - timedelta(longest + 1)))

    def _poll_metric(
        self,
        job: MonitorJob,
        monitor: int,
        endpoint: Endpoint,
        details: dict[str, Any],
        first: date | None,
        last: date | None,
        today: date,
    ) -> None:
        tomorrow = today + timedelta(1)
        if endpoint.shape is Shape.SNAPSHOT:
            body = details if endpoint.metric == "details" else None
            if body is None:
                body = self._call(endpoint, monitor, None, None, job)
            if body is not None:
                self._publish(split_windows(endpoint, monitor, body, today, tomorrow), endpoint)
            return
        key = f"{monitor}|{endpoint.metric}"
        repoll_from = today - timedelta(job.repoll_days)
        through = (
            date.fromisoformat(self._through[key])
            if key in self._through
            else (job.first_day or repoll_from)
        )
        start, end = min(through, repoll_from), tomorrow
        if first is not None:
            start = max(start, first)
        if last is not None:
            end = min(end, last)
        for a, b in request_ranges(endpoint, start, end, self.ms.max_range_days, job.group_by):
            if self._stop.is_set() or not self._lease.held:
                return
            body = self._call(endpoint, monitor, a, b, job)
            windows: list[MetricWindow] = []
            if body is not None:
                try:
                    windows = split_windows(endpoint, monitor, body, a, b, job.group_by)
                except MonitorResponseError as exc:
                    self._through[key] = min(b, today).isoformat()
                    self.stats["dead_letters"] += 1
                    where = describe(endpoint, monitor, a, b)
                    self._writer.dead_letter(where.encode(), exc, where, self.name, self._position)
                    continue
            self._through[key] = min(b, today).isoformat()  # today is always fetched again
            self._publish(windows, endpoint)

    def _publish(self, windows: list[MetricWindow], endpoint: Endpoint) -> None:
        published, unchanged = self._writer.commit(
            outgoing(windows), self.name, self._position, self._revisions
        )
        self.stats["records"] += published
        self.stats["unchanged"] += unchanged
        if published:
            log.debug("%s: %d new or revised windows", endpoint.metric, published)


# --- backfill ---------------------------------------------------------------------------------


def backfill_plan(job: MonitorJob, start: date, end: date, max_days: int) -> list[list[Any]]:
    """Every request of a backfill, in order: [monitor, metric, start, end]."""
    plan: list[list[Any]] = []
    for monitor in job.monitors:
        for metric in job.metrics:
            endpoint = ENDPOINTS[metric]
            if endpoint.shape is Shape.SNAPSHOT:
                continue  # no history to fill: the poller publishes them
            for a, b in request_ranges(endpoint, start, end, max_days, job.group_by):
                plan.append([monitor, metric, a.isoformat(), b.isoformat()])
    return plan


class BackfillStopped(Exception):
    """The backfill stopped early (budget, refused token); running it again continues."""


def backfill_monitors(
    settings: Settings,
    job: MonitorJob,
    start: date,
    end: date,
    progress: Callable[[str], None],
    codec: Codec | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Fetch every window of [start, end) once; restartable where it stopped."""
    ms = settings.monitors
    plan = backfill_plan(job, start, end, ms.max_range_days)
    plan_id = hashlib.sha256(json.dumps([plan, job.group_by, job.country]).encode()).hexdigest()[
        :12
    ]
    key = f"backfill-{plan_id}"
    writer = metric_writer(
        settings, codec or codec_from_settings(settings), f"{COMPONENT}.backfill.{plan_id}"
    )
    stats = {"requests": len(plan), "done": 0, "records": 0, "dead_letters": 0}
    try:
        position = writer.store.load(key) or {}
        done = int(position.get("done", 0))
        budget = DailyBudget(ms.daily_call_budget, "calls", position.get("budget"))

        def state() -> dict[str, Any]:
            return {
                "done": done,
                "total": len(plan),
                "from": start.isoformat(),
                "to": end.isoformat(),
                "budget": budget.state(),
            }

        if done:
            progress(f"resuming backfill {plan_id} at request {done + 1} of {len(plan)}")
        with MonitorClient(ms) as client:
            while done < len(plan):
                if stop():
                    raise BackfillStopped(f"stopped at request {done + 1} of {len(plan)}")
                monitor, metric, a_text, b_text = plan[done]
                a, b = date.fromisoformat(a_text), date.fromisoformat(b_text)
                endpoint = ENDPOINTS[metric]
                try:
                    if budget.limit is not None:
                        budget.spend(1)
                        writer.commit([], key, state)
                except BudgetExhausted as exc:
                    raise BackfillStopped(str(exc)) from None
                try:
                    body = client.fetch(endpoint, monitor, a, b, job)
                    windows = split_windows(endpoint, monitor, body, a, b, job.group_by)
                except MonitorAuthError as exc:
                    raise BackfillStopped(str(exc)) from None
                except (MonitorAPIError, MonitorResponseError) as exc:
                    if isinstance(exc, MonitorAPIError) and not exc.permanent:
                        raise
                    done += 1
                    stats["dead_letters"] += 1
                    where = describe(endpoint, monitor, a, b)
                    writer.dead_letter(where.encode(), exc, where, key, state)
                    progress(f"[{done}/{len(plan)}] {metric} of {monitor} {a}..{b}: refused: {exc}")
                    continue
                done += 1
                published, _ = writer.commit(outgoing(windows), key, state)
                stats["records"] += published
                progress(
                    f"[{done}/{len(plan)}] {metric} of {monitor} {a}..{b}: {published} records"
                )
        stats["done"] = done
        return stats
    finally:
        writer.close()
