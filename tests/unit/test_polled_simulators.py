"""The Crimson Hexagon and sentiment-history simulators follow their seed documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData
from socialstream.simulators.sentiment_history import (
    Deprecation,
    SentimentHistorySimulator,
    SentimentSeries,
)
from socialstream.simulators.sentiment_history.series import rfc3339

TODAY = date(2026, 11, 20)
Params = dict[str, str | int]
CH: Params = {"auth": "ch-sim-token", "id": 101}


@pytest.fixture
def ch_sim() -> Iterator[CrimsonHexagonSimulator]:
    with CrimsonHexagonSimulator(MonitorData(today=TODAY), calls_per_minute=5) as sim:
        yield sim


@pytest.fixture
def ch(ch_sim: CrimsonHexagonSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{ch_sim.url}/api/monitor") as client:
        yield client


def test_ch_start_is_inclusive_and_end_exclusive(ch: httpx.Client) -> None:
    body = ch.get("/results", params={**CH, "start": "2026-11-01", "end": "2026-11-04"}).json()
    assert [r["startDate"][:10] for r in body["results"]] == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
    ]


@pytest.mark.parametrize(
    "params,status,message",
    [
        ({"start": "2026-11-04", "end": "2026-11-01"}, 400, "after the start"),
        ({"start": "2026-09-01", "end": "2026-11-01"}, 400, "cannot exceed 31 days"),
        ({"start": "01/11/2026", "end": "2026-11-02"}, 400, "YYYY-MM-DD"),
        ({"id": 999, "start": "2026-11-01", "end": "2026-11-02"}, 404, "not found"),
        ({"auth": "wrong", "start": "2026-11-01", "end": "2026-11-02"}, 401, "Authentication"),
    ],
)
def test_ch_errors_have_the_error_body(
    ch: httpx.Client, params: Params, status: int, message: str
) -> None:
    response = ch.get("/volume", params={**CH, **params})
    assert response.status_code == status
    assert response.json()["status"] == "error"
    assert message in response.json()["message"]


def test_ch_rate_limit_answers_429_with_retry_after(ch: httpx.Client) -> None:
    statuses = [ch.get("/detail", params=CH).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    response = ch.get("/detail", params=CH)
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_ch_revisions_change_recent_days_only(ch_sim: CrimsonHexagonSimulator) -> None:
    sim = ch_sim
    start, end = TODAY - timedelta(5), TODAY + timedelta(1)
    before = sim.expected(101, "results", start, end)["results"]
    assert sim.data.revise(2) == [TODAY, TODAY - timedelta(1)]
    after = sim.expected(101, "results", start, end)["results"]
    assert before[:4] == after[:4]
    assert before[4] != after[4] and before[5] != after[5]


@pytest.mark.parametrize(
    "group_by,start,end,periods",
    [
        ("MONTHLY", "2026-10-01", "2026-11-01", [("2026-10-01", "2026-11-01")]),
        ("MONTHLY", "2026-10-15", "2026-11-15", []),  # no whole month inside
        ("WEEKLY", "2026-11-01", "2026-11-15", [("2026-11-02", "2026-11-09")]),
        ("DAILY", "2026-11-01", "2026-11-03", [("2026-11-01", "2026-11-02"),
                                               ("2026-11-02", "2026-11-03")]),
    ],
)  # fmt: skip
def test_ch_volume_groups_whole_units_only(
    ch: httpx.Client, group_by: str, start: str, end: str, periods: list[tuple[str, str]]
) -> None:
    params: Params = {**CH, "start": start, "end": end, "groupBy": group_by}
    body = ch.get("/volume", params=params).json()
    assert [(v["startDate"][:10], v["endDate"][:10]) for v in body["volume"]] == periods
    assert body["groupBy"] == group_by


SH_TOKEN = {"Authorization": "Bearer sh-sim-token"}
NOW = 1_795_000_000.0  # fixed clock: 2026-11-18T... UTC
MIN = 60_000


@pytest.fixture
def sh() -> Iterator[httpx.Client]:
    with (
        SentimentHistorySimulator(
            SentimentSeries(seed=2), credits=50, calls_per_minute=100, clock=lambda: NOW
        ) as sim,
        httpx.Client(base_url=sim.url, headers=SH_TOKEN) as client,
    ):
        yield client


def _iso(ms: int) -> str:
    return rfc3339(ms)


def test_sh_default_is_the_last_hour_of_whole_buckets(sh: httpx.Client) -> None:
    body = sh.get("/sentiment/history", params={"interval": "1m", "limit": 1000}).json()
    now_ms = int(NOW * 1000)
    assert len(body["items"]) == 60
    assert body["items"][-1]["endDate"] == _iso(now_ms - now_ms % MIN)  # the open bucket is out
    assert body["requestedInterval"] == 1
    assert body["status"]["cost"] == 5


def test_sh_start_aligns_down_and_the_end_bucket_is_excluded(sh: httpx.Client) -> None:
    start = int(NOW * 1000) - 10 * 3_600_000 + 17 * MIN  # inside an hour bucket
    end = start + 3 * 3_600_000  # inside another
    params: Params = {"interval": "1h", "startDate": _iso(start), "endDate": _iso(end), "limit": 10}
    items = sh.get("/sentiment/history", params=params).json()["items"]
    assert items[0]["startDate"] == _iso(start - start % 3_600_000)
    assert items[-1]["endDate"] == _iso(end - end % 3_600_000)
    assert len(items) == 3


def test_sh_never_goes_back_more_than_15_days(sh: httpx.Client) -> None:
    now_ms = int(NOW * 1000)
    params: Params = {"interval": "1d", "startDate": _iso(now_ms - 40 * 86_400_000), "limit": 100}
    items = sh.get("/sentiment/history", params=params).json()["items"]
    assert len(items) == 15


def test_sh_cursors_page_through_everything_once(sh: httpx.Client) -> None:
    params: Params = {"interval": "1m", "limit": 7, "keywords": "acme"}
    seen: list[str] = []
    cursor: str | None = None
    calls = 0
    while True:
        page: Params = {**params, **({"cursor": cursor} if cursor else {})}
        body = sh.get("/sentiment/history", params=page).json()
        calls += 1
        seen += [i["startDate"] for i in body["items"]]
        cursor = body["pagination"].get("next")
        if cursor is None:
            break
        assert body["pagination"]["self"] and (calls == 1 or "prev" in body["pagination"])
        if calls > 9:
            break
    assert len(seen) == len(set(seen)) == 60 and calls == 9  # ceil(60 / 7)


@pytest.mark.parametrize(
    "params,message",
    [
        ({"interval": "11y"}, "10 years"),
        ({"interval": "0m"}, "1 minute"),
        ({"interval": "1q"}, "interval"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"startDate": "2026-11-01 10:00:00"}, "RFC 3339"),
        ({"sourceType": "tv"}, "sourceType"),
        ({"lang": "xx"}, "ISO 639-1"),
        ({"keywords": "a,b,c,d,e,f"}, "1 to 5"),
        ({"keywordsCondition": "xor", "keywords": "a"}, "and or or"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"domain": "Not A Domain"}, "domain"),
        ({"categoryId": "0"}, "categoryId"),
    ],
)
def test_sh_bad_parameters_are_400_with_the_error_body(
    sh: httpx.Client, params: dict[str, str], message: str
) -> None:
    response = sh.get("/sentiment/history", params=params)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"]["message"]
    assert body["error"]["code"] == 400 and body["status"]["cost"] == 0
    assert {"userId", "requestId"} <= body["error"].keys()


def test_sh_credits_run_out_with_403(sh: httpx.Client) -> None:
    statuses = [sh.get("/sentiment/history").status_code for _ in range(12)]
    assert statuses == [200] * 10 + [403] * 2  # 50 credits, 5 a call
    assert "credits" in sh.get("/sentiment/history").json()["error"]["message"]


def test_sh_unauthorised_and_rate_limited() -> None:
    with SentimentHistorySimulator(calls_per_minute=2, deprecation=Deprecation()) as sim:
        assert httpx.get(f"{sim.url}/sentiment/history").status_code == 401
        statuses = [
            httpx.get(f"{sim.url}/sentiment/history", headers=SH_TOKEN).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        limited = httpx.get(f"{sim.url}/sentiment/history", headers=SH_TOKEN)
        assert "retry-after" in limited.headers
        assert limited.json()["status"]["apiDeprecationNotice"]["shutdownDate"]


def test_sh_revisions_change_buckets_after_since() -> None:
    series = SentimentSeries(seed=3)
    start = 1_795_000_000_000 - 1_795_000_000_000 % MIN
    before = [series.item("q", 1, start + n * MIN) for n in range(10)]
    series.revise(start + 5 * MIN)
    after = [series.item("q", 1, start + n * MIN) for n in range(10)]
    assert before[:5] == after[:5]  # buckets that end by `since` keep their values
    assert all(b != a for b, a in zip(before[5:], after[5:], strict=True))
