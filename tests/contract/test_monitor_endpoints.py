"""Every Crimson Hexagon monitor method the seed lists, called as the seed documents it.

The seed gives signatures, not response bodies: `signatures/crimson_hexagon.txt` holds each
method's signature line verbatim (with its line number, checked against the seed where it is
present). For each one, the client calls the simulator with the documented parameters and the
response becomes schema-valid records whose windows honour "start inclusive, end exclusive".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialstream.connectors.monitors.endpoints import ENDPOINTS, NOT_POLLED, Shape
from socialstream.connectors.monitors.monitor_client import MonitorAPIError, MonitorClient
from socialstream.connectors.monitors.monitor_models import day_ms, results_range, split_windows
from socialstream.connectors.monitors.monitor_records import metric_record
from socialstream.runtime.settings import MonitorJob, MonitorsSettings
from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData
from tests.contract.test_seed_examples import SEEDS, example_text, roundtrip

SIGNATURES = Path(__file__).parent / "signatures" / "crimson_hexagon.txt"
SIGNATURE = re.compile(r"^(\w+)\((.*?)\)\s*->")
DAY = date(2026, 11, 2)


def signatures() -> list[tuple[int, str]]:
    rows = []
    for row in SIGNATURES.read_text(encoding="utf-8").splitlines():
        line, text = row.split("|", 1)
        rows.append((int(line), text))
    return rows


def method(text: str) -> tuple[str, list[str]]:
    match = SIGNATURE.match(text)
    assert match, text
    params = [p.split(":")[0].strip() for p in match.group(2).split(",") if p.strip()]
    return match.group(1), params


@pytest.fixture(scope="module")
def sim() -> Iterator[CrimsonHexagonSimulator]:
    with CrimsonHexagonSimulator(MonitorData(seed=4, today=DAY + timedelta(10))) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client(sim: CrimsonHexagonSimulator) -> Iterator[MonitorClient]:
    settings = MonitorsSettings(base_url=f"{sim.url}/api", token="ch-sim-token")
    with MonitorClient(settings) as monitor_client:
        yield monitor_client


def test_every_seed_method_is_polled_or_explained() -> None:
    names = [method(text)[0] for _, text in signatures()]
    assert len(names) == 34
    assert set(names) == set(ENDPOINTS) | set(NOT_POLLED)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the vendor documents are not beside this clone")
def test_signatures_are_verbatim_from_the_seed() -> None:
    lines = (SEEDS / "crimson-hexagon-monitor-api.txt").read_text(encoding="utf-8").split("\n")
    for line, text in signatures():
        assert lines[line - 1] == text


POLLED = [(line, text) for line, text in signatures() if method(text)[0] in ENDPOINTS]


@pytest.mark.parametrize("line,text", POLLED, ids=[method(t)[0] for _, t in POLLED])
def test_seed_method_gives_records_for_its_window(
    line: int, text: str, sim: CrimsonHexagonSimulator, client: MonitorClient
) -> None:
    name, params = method(text)
    endpoint = ENDPOINTS[name]
    job = MonitorJob(monitors=[101], country="USA" if "country" in params else None)
    start, end = DAY, DAY + timedelta(3)
    body = client.fetch(endpoint, 101, start, end, job)
    windows = split_windows(endpoint, 101, body, start, end, job.group_by)
    for window in windows:
        record = roundtrip("monitor_metric", metric_record(window, fetched_at=1))
        assert record["metric"] == name
        assert record["monitor_id"] == 101
    if endpoint.shape is Shape.SNAPSHOT:
        assert "start" not in params  # the seed gives these no dates
        assert len(windows) == 1
    elif endpoint.shape is Shape.RANGE:
        assert [(w.start_ms, w.end_ms) for w in windows] == [(day_ms(start), day_ms(end))]
    else:  # one window a day: the start day is in, the end day is out
        starts = [w.start_ms for w in windows]
        assert starts == [day_ms(start + timedelta(n)) for n in range(3)]
        expected = sim.expected(101, endpoint.path.removeprefix("monitor/"), start, end, {})
        assert [w.payload for w in windows] == expected[endpoint.list_field or ""]
    assert {"monitor_id", "start", "end"} >= set(params) - {
        "filter_string", "daily", "document_source", "object_type", "top", "group_by",
        "aggregate_by_day", "use_local_time", "hide_excluded", "extend_limit", "full_contents",
        "geotagged", "country", "category",
    }  # fmt: skip


def test_volume_group_by_from_the_seed(sim: CrimsonHexagonSimulator, client: MonitorClient) -> None:
    """volume(..., group_by: str = "DAILY"): HOURLY gives 24 windows a day."""
    job = MonitorJob(monitors=[101], metrics=["volume"], group_by="HOURLY")
    body = client.fetch(ENDPOINTS["volume"], 101, DAY, DAY + timedelta(1), job)
    windows = split_windows(ENDPOINTS["volume"], 101, body, DAY, DAY + timedelta(1), "HOURLY")
    assert len(windows) == 24
    assert all(w.end_ms - w.start_ms == 3_600_000 for w in windows)
    daily = split_windows(
        ENDPOINTS["volume"],
        101,
        client.fetch(ENDPOINTS["volume"], 101, DAY, DAY + timedelta(1), MonitorJob(monitors=[1])),
        DAY,
        DAY + timedelta(1),
    )
    assert (
        sum(metric_record(w, 1)["volume"] for w in windows) == metric_record(daily[0], 1)["volume"]
    )


def test_training_posts_of_a_buzz_monitor_is_an_error_in_a_200(client: MonitorClient) -> None:
    """training_posts: "requests for other monitor types will return an error"."""
    with pytest.raises(MonitorAPIError, match="opinion monitors") as caught:
        client.fetch(ENDPOINTS["training_posts"], 102)
    assert caught.value.status == 200 and caught.value.permanent


def test_usage_example_details_then_posts(client: MonitorClient) -> None:
    """The seed's example: details' resultsStart / resultsEnd bound a posts call."""
    assert "monitor_client.posts(monitor_id, start, end)" in example_text(
        "crimson_hexagon__usage_example"
    )
    details = client.details(101)
    start, end = results_range(details)
    assert start is not None and end is not None and start < end
    body = client.fetch(ENDPOINTS["posts"], 101, end - timedelta(2), end - timedelta(1))
    assert body["totalPostsAvailable"] >= len(body["posts"]) > 0


def test_train_monitor_and_batch_train(sim: CrimsonHexagonSimulator, client: MonitorClient) -> None:
    items: list[dict[str, Any]] = [
        {"title": f"t{n}", "contents": "great coffee", "url": f"https://e.com/{n}"}
        for n in range(2500)
    ]
    assert "uploaded" in client.train(101, 1, items[:3])
    assert len(client.batch_train(101, 1, items)) == 3  # 1000 + 1000 + 500
    assert len(sim.log.trained) == 2503
    with pytest.raises(MonitorAPIError, match="opinion"):
        client.train(102, 1, items[:1])


def test_aggregate_composes_metrics_like_hexpy(client: MonitorClient) -> None:
    dates = [("2026-11-01", "2026-11-03"), ("2026-11-03", "2026-11-05")]
    result = client.aggregate([101, 102], dates, ["volume", "word_cloud"])
    assert [r["monitor_id"] for r in result] == [101, 102]
    assert [d["resultsStart"] for d in result[0]["results"]] == ["2026-11-01", "2026-11-03"]
    assert set(result[0]["results"][0]["results"]) == {"volume", "word_cloud"}
    with pytest.raises(ValueError, match="valid metrics"):
        client.aggregate(101, ("2026-11-01", "2026-11-02"), "age")
