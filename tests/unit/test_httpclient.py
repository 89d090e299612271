"""The HTTP client against a real loopback simulator: Retry-After, rate limits, faults."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from socialstream.runtime.httpclient import (
    RetryPolicy,
    UpstreamUnavailable,
    make_client,
    retry_after_seconds,
)
from socialstream.runtime.ratelimit import TokenBucket
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.linestream import LineStreamSimulator, corpus

TOKEN = "sim-token"
PARAMS = {"access_token": TOKEN, "count": "20", "seed": "3"}


def _lines(client: httpx.Client) -> list[bytes]:
    with client.stream("GET", "/stream", params=PARAMS) as response:
        assert response.status_code == 200
        return [line.encode() for line in response.iter_lines() if line]


def test_retry_after_is_waited_out_before_retrying() -> None:
    plan = FaultPlan().add(
        Fault(FaultKind.STATUS, path="/stream", request=1, status=503, retry_after="1"),
        Fault(FaultKind.STATUS, path="/stream", request=2, status=429, retry_after="1"),
    )
    with LineStreamSimulator(token=TOKEN, plan=plan) as sim, make_client(sim.url) as client:
        assert _lines(client) == list(corpus(3, 20))
    stream_calls = [c for c in sim.server.calls if c.path == "/stream"]
    assert [c.status for c in stream_calls] == [503, 429, 200]
    gaps = [b.time - a.time for a, b in itertools.pairwise(stream_calls)]
    assert all(gap >= 0.95 for gap in gaps), gaps


def test_retry_after_http_date_is_understood() -> None:
    future = time.time() + 30
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(future))
    assert retry_after_seconds(header) == pytest.approx(30, abs=1.5)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("soon") is None


def test_rate_limit_spaces_calls() -> None:
    bucket = TokenBucket(rate=10.0, capacity=1)  # one call every 100 ms
    with LineStreamSimulator(token=TOKEN) as sim, make_client(sim.url, rate_limit=bucket) as c:
        for _ in range(5):
            assert c.get("/ping", params={"access_token": TOKEN}).status_code == 200
    times = [call.time for call in sim.server.calls]
    assert times[-1] - times[0] >= 0.38  # 4 gaps of 100 ms, minus scheduling noise


def test_token_bucket_allows_burst_then_waits_with_fake_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=5 / 60, capacity=5, clock=lambda: now[0], sleep=sleep)
    waits = [bucket.acquire() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(12.0)
    assert waits[6] == pytest.approx(12.0)
    assert now[0] == pytest.approx(24.0)


def test_split_lines_are_reassembled() -> None:
    plan = FaultPlan().add(
        Fault(FaultKind.SPLIT, path="/stream", at_line=2, split_at=7),
        Fault(FaultKind.SPLIT, path="/stream", at_line=5, split_at=1),
    )
    with LineStreamSimulator(token=TOKEN, plan=plan) as sim, make_client(sim.url) as client:
        assert _lines(client) == list(corpus(3, 20))


def test_malformed_line_is_delivered_for_the_caller_to_reject() -> None:
    plan = FaultPlan().add(Fault(FaultKind.MALFORMED, path="/stream", at_line=4, body=b"{oops"))
    with LineStreamSimulator(token=TOKEN, plan=plan) as sim, make_client(sim.url) as client:
        lines = _lines(client)
    assert lines[4] == b"{oops"
    assert lines[:4] + lines[5:] == list(corpus(3, 20))


def test_disconnect_mid_stream_raises_a_transport_error() -> None:
    plan = FaultPlan().add(Fault(FaultKind.DISCONNECT, path="/stream", at_line=5))
    with LineStreamSimulator(token=TOKEN, plan=plan) as sim, make_client(sim.url) as client:
        received: list[str] = []
        with (
            pytest.raises(httpx.TransportError),
            client.stream("GET", "/stream", params=PARAMS) as response,
        ):
            for line in response.iter_lines():
                received.append(line)
    assert len([line for line in received if line]) == 5


def test_stall_hits_the_read_timeout_not_the_os_tcp_timeout() -> None:
    plan = FaultPlan().add(Fault(FaultKind.STALL, path="/stream", at_line=3, seconds=5))
    timeout = httpx.Timeout(5.0, read=0.5)
    with (
        LineStreamSimulator(token=TOKEN, plan=plan) as sim,
        make_client(sim.url, timeout=timeout) as client,
    ):
        started = time.monotonic()
        with (
            pytest.raises(httpx.ReadTimeout),
            client.stream("GET", "/stream", params=PARAMS) as response,
        ):
            for _ in response.iter_lines():
                pass
        assert time.monotonic() - started < 2.0


def test_gives_up_after_max_attempts_on_persistent_503() -> None:
    plan = FaultPlan().add(
        *[Fault(FaultKind.STATUS, path="/ping", request=n, status=503) for n in range(1, 10)]
    )
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.01)
    with (
        LineStreamSimulator(token=TOKEN, plan=plan) as sim,
        make_client(sim.url, retry=policy) as client,
    ):
        response = client.get("/ping", params={"access_token": TOKEN})
    assert response.status_code == 503
    assert len(sim.server.calls) == 3


def test_connect_errors_are_retried_then_reported() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.01)
    with (
        pytest.raises(UpstreamUnavailable, match="after 3 attempt"),
        make_client("http://127.0.0.1:9", retry=policy) as client,
    ):
        client.get("/ping")
