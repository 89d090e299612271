"""The line reader: complete lines in order, oversize lines cut off, faults reported."""

from __future__ import annotations

import time

import httpx

from socialstream.runtime.linestream import EventKind, LineReader, StreamEvent
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.linestream import LineStreamSimulator, corpus

TOKEN = "sim-token"


def events(plan: FaultPlan, max_line_bytes: int = 1 << 20) -> list[StreamEvent]:
    with LineStreamSimulator(token=TOKEN, plan=plan) as sim, httpx.Client() as client:
        params = {"access_token": TOKEN, "count": "50", "seed": "4"}
        request = client.build_request("GET", sim.url + "/stream", params=params)
        response = client.send(request, stream=True)
        reader = LineReader(response, max_line_bytes=max_line_bytes)
        out = []
        while True:
            event = reader.get(10)
            assert event is not None, "no event within 10 s"
            out.append(event)
            if event.kind in (EventKind.END, EventKind.ERROR):
                reader.close()
                return out


def lines_of(found: list[StreamEvent]) -> list[bytes]:
    return [line for e in found if e.kind is EventKind.LINES for line in e.lines]


def test_lines_arrive_complete_and_in_order_across_split_reads() -> None:
    plan = FaultPlan().add(Fault(FaultKind.SPLIT, path="/stream", at_line=3, split_at=5))
    found = events(plan)
    assert lines_of(found) == list(corpus(4, 50))
    assert found[-1].kind is EventKind.END and found[-1].data == b""


def test_an_oversize_line_is_cut_off_and_the_stream_goes_on() -> None:
    huge = b'{"x": "' + b"a" * 50_000 + b'"}'
    plan = FaultPlan().add(Fault(FaultKind.MALFORMED, path="/stream", at_line=10, body=huge))
    found = events(plan, max_line_bytes=4096)
    oversize = [e for e in found if e.kind is EventKind.OVERSIZE]
    assert len(oversize) == 1 and oversize[0].data == huge[:1024]
    assert lines_of(found) == list(corpus(4, 50))


def test_a_dropped_connection_is_an_error_event() -> None:
    plan = FaultPlan().add(Fault(FaultKind.DISCONNECT, path="/stream", at_line=20))
    found = events(plan)
    assert lines_of(found) == list(corpus(4, 50))[:20]
    assert found[-1].kind is EventKind.ERROR and not found[-1].stalled


def test_a_stall_is_detected_within_the_configured_limit() -> None:
    plan = FaultPlan().add(Fault(FaultKind.STALL, path="/stream", at_line=5, seconds=20))
    limit = 1.0
    with (
        LineStreamSimulator(token=TOKEN, plan=plan) as sim,
        httpx.Client(timeout=httpx.Timeout(5.0, read=limit)) as client,
    ):
        params = {"access_token": TOKEN, "count": "50", "seed": "4"}
        response = client.send(
            client.build_request("GET", sim.url + "/stream", params=params), stream=True
        )
        reader = LineReader(response)
        started = time.monotonic()
        while True:
            event = reader.get(10)
            assert event is not None
            if event.kind is EventKind.ERROR:
                break
        waited = time.monotonic() - started
        reader.close()
    assert event.stalled
    assert waited < limit + 1.0  # the read timeout, not the OS's TCP timeout (minutes)
