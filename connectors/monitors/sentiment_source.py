"""`socialstream run sentiment` and `backfill sentiment`: sentiment buckets into Kafka.

Each poll of a query asks for everything from where the last one got to (at least the trailing
`repoll_minutes` plus one interval, to catch revisions of complete buckets) up to now, and
follows `next` cursors to the end. A page's new or revised buckets and the checkpoint commit in
one transaction. The API never goes back more than 15 days: a gap older than that is reported,
not silently skipped. Every call's 5 credits are counted against the daily budget before the
call is made; deprecation notices are logged once each.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from socialstream.connectors.monitors.budget import BudgetExhausted, DailyBudget
from socialstream.connectors.monitors.poller import Poller
from socialstream.connectors.monitors.publishing import Outgoing, PollWriter, now_ms
from socialstream.connectors.monitors.sentiment_client import (
    COST_A_CALL,
    Page,
    SentimentAccessError,
    SentimentAPIError,
    SentimentClient,
    rfc3339,
)
from socialstream.connectors.monitors.sentiment_models import interval_minutes
from socialstream.connectors.monitors.sentiment_records import bucket_record, query_hash
from socialstream.runtime.codec import Codec, codec_from_settings
from socialstream.runtime.connector import StopConnector
from socialstream.runtime.httpclient import UpstreamError
from socialstream.runtime.metrics import CREDITS_USED, UPSTREAM_ERRORS
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.settings import SentimentQuery, Settings

log = logging.getLogger(__name__)

COMPONENT = "sentiment"
TOPIC = "sentiment.history"
MINUTE_MS = 60_000
LOOKBACK_MS = 15 * 24 * 60 * MINUTE_MS


class DeprecationLog:
    """Logs each distinct deprecation notice once (it comes with every response)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def note(self, page: Page) -> None:
        notice = page.deprecation
        if notice is None or not notice.message or notice.message in self.seen:
            return
        self.seen.add(notice.message)
        shutdown = rfc3339(notice.shutdown_date) if notice.shutdown_date else "unknown"
        log.warning(
            "sentiment-history API deprecation notice: %s (shutdown %s)", notice.message, shutdown
        )


def page_outgoing(query: SentimentQuery, page: Page) -> list[Outgoing]:
    params = query.params()
    fetched_at = now_ms()
    qhash = query_hash(params)
    return [
        Outgoing(
            f"{qhash}|{item.start_date}",
            bucket_record(params, item, page.interval, fetched_at),
            item.start_date,
            f"query={query.name};bucket={item.start_date}",
        )
        for item in page.items
    ]


def sentiment_writer(settings: Settings, codec: Codec, transactional: str) -> PollWriter:
    return PollWriter(settings, codec, COMPONENT, TOPIC, transactional)


class SentimentPoller(Poller):
    """Polls every configured query forever; one writer a poller name."""

    component = COMPONENT
    topic = TOPIC
    budget_unit = "credits"

    def __init__(
        self, settings: Settings, codec: Codec | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.ss = settings.sentiment
        if self.ss.token is None:
            raise StopConnector("set SOCIALSTREAM_SENTIMENT__TOKEN")
        if not self.ss.queries:
            raise StopConnector("nothing to poll: set sentiment.queries (see the README)")
        for query in self.ss.queries:
            try:
                interval_minutes(query.interval)
            except ValueError as exc:
                raise StopConnector(f"query {query.name}: {exc}") from None
        super().__init__(
            settings,
            self.ss.name,
            self.ss.lease_session_timeout_ms,
            codec or codec_from_settings(settings),
            self.ss.daily_credit_budget,
            clock,
        )
        self.deprecations = DeprecationLog()
        self.stats = dict.fromkeys(
            ("polls", "calls", "credits", "records", "unchanged", "dead_letters", "budget_stops"),
            0,
        )

    def poll_forever(self) -> None:
        with SentimentClient(self.ss) as client:
            self._client = client
            self._loop()

    def _loop(self) -> None:
        next_poll = 0.0
        while not self._stop.is_set() and self._lease.held:
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.ss.every_s
                try:
                    for query in self.ss.queries:
                        if self._stop.is_set() or not self._lease.held:
                            return
                        self._poll(query)
                    self.stats["polls"] += 1
                    self.blocked = None
                except BudgetExhausted as exc:
                    log.error("%s", exc)
                    self.stats["budget_stops"] += 1
                    next_poll = time.monotonic() + exc.resets_in_s
                except SentimentAccessError as exc:
                    raise StopConnector(str(exc)) from None
                except UpstreamError as exc:  # still failing after every retry
                    UPSTREAM_ERRORS.labels(self.component, str(exc.status or "error")).inc()
                    self.blocked = f"upstream failing: {redact_text(str(exc))[:200]}"
                    log.error("sentiment poll failed, retrying next poll: %s", exc)
            self._stop.wait(min(1.0, max(0.0, next_poll - time.monotonic())))

    def _poll(self, query: SentimentQuery) -> None:
        params = query.params()
        qhash = query_hash(params)
        step = interval_minutes(query.interval) * MINUTE_MS
        now = int(self.clock() * 1000)
        repoll_from = now - self.ss.repoll_minutes * MINUTE_MS - step
        through = self._through.get(qhash, now - self.ss.first_lookback_minutes * MINUTE_MS)
        start = min(through, repoll_from)
        floor = now - LOOKBACK_MS
        if through < floor:
            log.warning(
                "sentiment query %s: buckets from %s to %s are older than the API's 15-day "
                "look-back and can no longer be fetched",
                query.name,
                rfc3339(through),
                rfc3339(floor),
            )
        start = max(start, floor)
        cursor: str | None = None
        while not self._stop.is_set() and self._lease.held:
            page = self._call(query, start, now, cursor)
            if page is None:
                return
            outgoing = page_outgoing(query, page)
            if outgoing:
                last_end = max(item.end_date for item in page.items)
                self._through[qhash] = max(self._through.get(qhash, 0), last_end)
            for raw, reason in page.invalid:
                self.stats["dead_letters"] += 1
                self._writer.dead_letter(
                    raw, reason, f"query={query.name}", self.name, self._position
                )
            # Only the re-poll window's hashes are kept: a long first look-back (15 days of
            # 1-minute buckets) would otherwise grow the checkpoint past Kafka's 1 MB record limit.
            self._revisions.prune(repoll_from - step, prefix=f"{qhash}|")
            published, unchanged = self._writer.commit(
                outgoing, self.name, self._position, self._revisions
            )
            self.stats["records"] += published
            self.stats["unchanged"] += unchanged
            cursor = page.next_cursor
            if cursor is None:
                break
        self._revisions.prune(repoll_from - step, prefix=f"{qhash}|")

    def _call(self, query: SentimentQuery, start: int, end: int, cursor: str | None) -> Page | None:
        """A page, or None when the API refused the query (then it is dead-lettered)."""
        if self._budget.limit is not None:  # commit the spend before making the call
            self._budget.spend(COST_A_CALL)
            self._writer.commit([], self.name, self._position)
        self.stats["calls"] += 1
        try:
            page = self._client.page(query.params(), start, end, self.ss.page_limit, cursor)
        except SentimentAccessError:
            raise
        except SentimentAPIError as exc:
            if exc.status != 400:
                raise
            self.stats["dead_letters"] += 1
            self._writer.dead_letter(
                str(query.params()).encode(), exc, f"query={query.name}", self.name, self._position
            )
            return None
        self.stats["credits"] += page.cost
        CREDITS_USED.labels(self.component).inc(page.cost)
        if self._budget.limit is not None:
            self._budget.adjust(COST_A_CALL, page.cost)
        self.deprecations.note(page)
        return page


# --- backfill ---------------------------------------------------------------------------------


class SentimentBackfillStopped(Exception):
    """The backfill stopped early (budget, refused token); running it again continues."""


def backfill_sentiment(
    settings: Settings,
    queries: list[SentimentQuery],
    start_ms: int,
    end_ms: int,
    progress: Callable[[str], None],
    codec: Codec | None = None,
    stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.time,
) -> dict[str, int]:
    """Every bucket of [start, end) for each query, through cursors; restartable at its page."""
    ss = settings.sentiment
    codec = codec or codec_from_settings(settings)
    stats = {"queries": len(queries), "pages": 0, "records": 0, "dead_letters": 0, "credits": 0}
    deprecations = DeprecationLog()
    with SentimentClient(ss) as client:
        for query in queries:
            qhash = query_hash(query.params())
            run_id = hashlib.sha256(f"{qhash}|{start_ms}|{end_ms}".encode()).hexdigest()[:12]
            key = f"backfill-{run_id}"
            writer = sentiment_writer(settings, codec, f"{COMPONENT}.backfill.{run_id}")
            try:
                _backfill_query(
                    writer, client, query, key, start_ms, end_ms, progress, stop, clock,
                    ss.page_limit, ss.daily_credit_budget, stats, deprecations,
                )  # fmt: skip
            finally:
                writer.close()
    return stats


def _backfill_query(
    writer: PollWriter,
    client: SentimentClient,
    query: SentimentQuery,
    key: str,
    start_ms: int,
    end_ms: int,
    progress: Callable[[str], None],
    stop: Callable[[], bool],
    clock: Callable[[], float],
    limit: int,
    budget_limit: int | None,
    stats: dict[str, int],
    deprecations: DeprecationLog,
) -> None:
    position = writer.store.load(key) or {}
    if position.get("done"):
        progress(f"{query.name}: already backfilled")
        return
    cursor: str | None = position.get("cursor")
    pages = int(position.get("pages", 0))
    budget = DailyBudget(budget_limit, "credits", position.get("budget"), clock)
    now = int(clock() * 1000)
    floor = now - LOOKBACK_MS
    if cursor is None and start_ms < floor:
        progress(
            f"{query.name}: {rfc3339(start_ms)} to {rfc3339(min(floor, end_ms))} is older than "
            "the API's 15-day look-back and cannot be fetched; fetching what the API keeps"
        )
    end = min(end_ms, now)
    done = False

    def state() -> dict[str, Any]:
        return {"cursor": cursor, "pages": pages, "done": done, "budget": budget.state()}

    if pages:
        progress(f"{query.name}: resuming after page {pages}")
    while not done:
        if stop():
            raise SentimentBackfillStopped(f"{query.name}: stopped after page {pages}")
        try:
            if budget.limit is not None:
                budget.spend(COST_A_CALL)
                writer.commit([], key, state)
        except BudgetExhausted as exc:
            raise SentimentBackfillStopped(f"{query.name}: {exc}") from None
        try:
            page = client.page(query.params(), start_ms, end, limit, cursor)
        except SentimentAccessError as exc:
            raise SentimentBackfillStopped(str(exc)) from None
        except SentimentAPIError as exc:
            if exc.status != 400:
                raise
            done = True
            stats["dead_letters"] += 1
            writer.dead_letter(str(query.params()).encode(), exc, f"query={query.name}", key, state)
            progress(f"{query.name}: refused: {exc}")
            return
        if budget.limit is not None:
            budget.adjust(COST_A_CALL, page.cost)
        deprecations.note(page)
        stats["credits"] += page.cost
        rejected = [(raw, reason, f"query={query.name}") for raw, reason in page.invalid]
        stats["dead_letters"] += len(rejected)
        pages += 1
        cursor = page.next_cursor
        done = cursor is None
        published, _ = writer.commit(page_outgoing(query, page), key, state, rejected=rejected)
        stats["pages"] += 1
        stats["records"] += published
        progress(f"{query.name}: page {pages}: {published} buckets{'' if cursor else ' (done)'}")
