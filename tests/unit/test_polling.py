"""The pollers' building blocks: request ranges, windows, typed fields, revisions, budgets."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from socialstream.connectors.monitors.budget import BudgetExhausted, DailyBudget
from socialstream.connectors.monitors.endpoints import ENDPOINTS, request_ranges
from socialstream.connectors.monitors.monitor_client import MonitorAuthError, MonitorClient
from socialstream.connectors.monitors.monitor_models import (
    MonitorResponseError,
    day_ms,
    split_windows,
)
from socialstream.connectors.monitors.monitor_records import metric_record
from socialstream.connectors.monitors.revisions import RevisionFilter, content_hash
from socialstream.connectors.monitors.sentiment_client import (
    SentimentAccessError,
    SentimentAPIError,
    SentimentClient,
)
from socialstream.connectors.monitors.sentiment_models import interval_minutes
from socialstream.runtime.httpclient import RetryPolicy
from socialstream.runtime.settings import MonitorsSettings, SentimentSettings
from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator
from socialstream.simulators.sentiment_history import SentimentHistorySimulator

D = date.fromisoformat


def test_daily_ranges_are_split_to_the_longest_allowed() -> None:
    ranges = request_ranges(ENDPOINTS["age"], D("2026-01-01"), D("2026-03-01"), 31)
    assert ranges == [
        (D("2026-01-01"), D("2026-02-01")),
        (D("2026-02-01"), D("2026-03-01")),
    ]


def test_range_endpoints_are_asked_a_day_at_a_time() -> None:
    ranges = request_ranges(ENDPOINTS["word_cloud"], D("2026-01-30"), D("2026-02-02"), 31)
    assert ranges == [
        (D("2026-01-30"), D("2026-01-31")),
        (D("2026-01-31"), D("2026-02-01")),
        (D("2026-02-01"), D("2026-02-02")),
    ]


def test_weekly_and_monthly_volume_ask_for_whole_units() -> None:
    weekly = request_ranges(ENDPOINTS["volume"], D("2026-11-04"), D("2026-11-12"), 31, "WEEKLY")
    assert weekly == [(D("2026-11-02"), D("2026-11-16"))]  # the Mondays around the range
    monthly = request_ranges(ENDPOINTS["volume"], D("2026-10-20"), D("2026-11-02"), 31, "MONTHLY")
    assert monthly == [(D("2026-10-01"), D("2026-11-01")), (D("2026-11-01"), D("2026-12-01"))]


def test_windows_from_dated_and_date_only_entries() -> None:
    body = {
        "dailyResults": [
            {"date": "2026-11-01T00:00:00", "followers": "12"},
            {"startDate": "2026-11-02T00:00:00", "endDate": "2026-11-03T00:00:00"},
        ],
        "status": "success",
    }
    windows = split_windows(
        ENDPOINTS["twitter_followers"], 7, body, D("2026-11-01"), D("2026-11-03")
    )
    assert [(w.start_ms, w.end_ms) for w in windows] == [
        (day_ms(D("2026-11-01")), day_ms(D("2026-11-02"))),
        (day_ms(D("2026-11-02")), day_ms(D("2026-11-03"))),
    ]
    assert windows[0].key == f"7|twitter_followers|{day_ms(D('2026-11-01'))}"
    with pytest.raises(MonitorResponseError, match="not a list"):
        split_windows(ENDPOINTS["age"], 7, {"ageCounts": {}}, D("2026-11-01"), D("2026-11-02"))
    with pytest.raises(MonitorResponseError, match="neither startDate nor date"):
        split_windows(
            ENDPOINTS["age"], 7, {"ageCounts": [{"x": 1}]}, D("2026-11-01"), D("2026-11-02")
        )


def test_typed_fields_are_normalised_and_the_payload_kept() -> None:
    entry = {
        "startDate": "2026-11-01T00:00:00",
        "endDate": "2026-11-02T00:00:00",
        "numberOfDocuments": "1,234",
        "categories": [
            {"category": "Basic Positive", "proportion": "0.5"},
            {"category": "Basic Neutral", "proportion": 0.3},
            {"category": "Basic Negative", "proportion": 0.2},
        ],
    }
    window = split_windows(
        ENDPOINTS["sentiment_and_categories"],
        101,
        {"results": [entry]},
        D("2026-11-01"),
        D("2026-11-02"),
    )[0]
    record = metric_record(window, fetched_at=5)
    assert record["volume"] == 1234
    assert (record["positive"], record["neutral"], record["negative"]) == (0.5, 0.3, 0.2)
    assert '"numberOfDocuments":"1,234"' in record["payload"]  # the vendor's value, verbatim


def test_revision_filter_publishes_new_and_changed_only() -> None:
    revisions = RevisionFilter()
    record = {"a": 1, "fetched_at": 1}
    digest = content_hash(record)
    assert content_hash({**record, "fetched_at": 2}) == digest  # fetching again is no revision
    assert revisions.is_new("k", digest)
    revisions.remember("k", digest, 100)
    assert not revisions.is_new("k", digest)
    assert revisions.is_new("k", content_hash({"a": 2}))
    restored = RevisionFilter(revisions.state())
    assert not restored.is_new("k", digest)
    restored.remember("q|1", "h", 50)
    restored.prune(before_ms=80, prefix="q|")
    assert len(restored) == 1 and not restored.is_new("k", digest)


def test_budget_refuses_before_it_is_exceeded_and_resets_daily() -> None:
    now = [datetime(2026, 11, 23, 23, 0, tzinfo=UTC).timestamp()]
    budget = DailyBudget(12, "credits", clock=lambda: now[0])
    budget.spend(5)
    budget.spend(5)
    with pytest.raises(BudgetExhausted, match="budget of 12 credits reached: 10 used") as caught:
        budget.spend(5)
    assert budget.used == 10  # nothing charged for the refused call
    assert caught.value.resets_in_s == pytest.approx(3600)
    again = DailyBudget(12, "credits", budget.state(), clock=lambda: now[0])
    with pytest.raises(BudgetExhausted):
        again.check(5)  # a restart remembers what was spent
    now[0] += 3601  # the UTC day turns
    again.spend(5)
    assert again.used == 5


@pytest.mark.parametrize(
    "text,minutes", [("1", 1), ("90", 90), ("15m", 15), ("1h", 60), ("1d", 1440), ("2w", 20160),
                     ("1M", 43200), ("10y", 5256000)],
)  # fmt: skip
def test_interval_minutes(text: str, minutes: int) -> None:
    assert interval_minutes(text) == minutes


@pytest.mark.parametrize("text", ["0m", "11y", "1q", "", "h"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        interval_minutes(text)


def test_monitor_token_in_the_url_never_reaches_a_log() -> None:
    from socialstream.runtime.logs import setup_logging

    stream = io.StringIO()
    setup_logging("DEBUG", "text", stream=stream)
    token = "ch-token-VERY-SECRET-123"
    try:
        with CrimsonHexagonSimulator(token=token) as sim:
            good = MonitorsSettings(base_url=f"{sim.url}/api", token=token)
            with MonitorClient(good) as client:
                client.details(101)
            bad = MonitorsSettings(base_url=f"{sim.url}/api", token="wrong-token-ALSO-SECRET")
            with MonitorClient(bad) as client, pytest.raises(MonitorAuthError) as caught:
                client.details(101)
    finally:
        setup_logging("INFO", "text")
    assert "token refused" in str(caught.value)
    assert "ALSO-SECRET" not in str(caught.value)
    logged = stream.getvalue()
    assert "monitor/detail?id=101&auth=**********" in logged  # httpx's request line, masked
    assert token not in logged and "ALSO-SECRET" not in logged


def test_sentiment_client_errors_are_clear() -> None:
    with SentimentHistorySimulator(credits=5) as sim:
        base = {"base_url": sim.url, "calls_per_minute": 100}
        with (
            SentimentClient(SentimentSettings(**base, token="nope")) as client,
            pytest.raises(SentimentAccessError, match="HTTP 401: Missing or invalid"),
        ):
            client.page({}, None, None, 10)
        with SentimentClient(SentimentSettings(**base, token="sh-sim-token")) as client:
            with pytest.raises(SentimentAPIError, match="HTTP 400: interval") as bad:
                client.page({"interval": "0m"}, None, None, 10)
            assert bad.value.code == 400
            page = client.page({"interval": "1m"}, None, None, 10)
            assert page.cost == 5 and len(page.items) == 10 and page.next_cursor
            with pytest.raises(SentimentAccessError, match="HTTP 403: Not enough credits"):
                client.page({"interval": "1m"}, None, None, 10)


def test_sentiment_server_errors_are_retried_then_reported_with_the_request_id() -> None:
    from socialstream.simulators.base import Fault, FaultKind, FaultPlan

    plan = FaultPlan().add(
        Fault(FaultKind.STATUS, path="/sentiment/history", request=1, status=503, retry_after="0"),
        *(
            Fault(FaultKind.STATUS, path="/sentiment/history", request=n, status=500)
            for n in range(3, 9)
        ),
    )
    with SentimentHistorySimulator(plan=plan) as sim:
        settings = SentimentSettings(base_url=sim.url, token="sh-sim-token", calls_per_minute=100)
        fast = RetryPolicy(max_attempts=6, backoff_base_s=0.01, backoff_max_s=0.05)
        with SentimentClient(settings, retry=fast) as client:
            assert len(client.page({"interval": "1m"}, None, None, 5).items) == 5  # after the 503
            with pytest.raises(SentimentAPIError, match=r"HTTP 500: .*\(requestId [0-9a-f-]{36}\)"):
                client.page({"interval": "1m"}, None, None, 5)
