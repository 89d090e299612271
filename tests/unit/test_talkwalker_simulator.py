"""The Talkwalker simulator follows the vendor document, faults included."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator, select_streams

TOKEN = "tw-sim-token"
PATH = "/api/v2/stream/s/{}/results"


def chunks(sim: TalkwalkerSimulator, selector: str = "*", **params: Any) -> list[dict[str, Any]]:
    query = {"access_token": TOKEN, **{k: str(v) for k, v in params.items()}}
    with httpx.stream("GET", sim.url + PATH.format(selector), params=query, timeout=10) as r:
        assert r.status_code == 200, r.read()
        return [json.loads(line) for line in r.iter_lines() if line.strip()]


def urls(items: list[dict[str, Any]]) -> list[str]:
    return [
        c["chunk_result"]["data"]["data"]["url"] for c in items if c["chunk_type"] == "CT_RESULT"
    ]


def test_selectors_follow_the_documented_syntax() -> None:
    defined = ["test1", "test2", "test3", "other"]
    assert select_streams("test1,test2", defined) == ["test1", "test2"]
    assert select_streams("test*", defined) == ["test1", "test2", "test3"]
    assert select_streams("*", defined) == defined
    assert select_streams("test*,-test1", defined) == ["test2", "test3"]
    assert select_streams("nope", defined) == []


def test_control_chunk_before_each_timeframe_and_resume_replays_in_another_order() -> None:
    corpus = Corpus(seed=2, timeframes=3, per_timeframe=40)
    with TalkwalkerSimulator(corpus, close_at_end=True, window_s=1) as sim:
        first = chunks(sim)
        types = [c["chunk_type"] for c in first]
        assert types.count("CT_CONTROL") == 3
        assert types[0] == "CT_CONTROL"
        second_start = corpus.timeframe_start(1)
        replay = chunks(sim, stream_resume=second_start)
    assert replay[0]["chunk_control"]["timeframe_start"] == second_start
    frame1_first = urls(first)[40:80]
    frame1_replay = urls(replay)[:40]
    assert sorted(frame1_first) == sorted(frame1_replay)
    assert frame1_first != frame1_replay  # unsorted, differently


def test_stream_stop_and_max_hits_end_with_a_resume_control_chunk() -> None:
    corpus = Corpus(seed=2, timeframes=5, per_timeframe=10)
    with TalkwalkerSimulator(corpus, close_at_end=True, window_s=1) as sim:
        stopped = chunks(sim, stream_stop=corpus.timeframe_start(2))
        assert len(urls(stopped)) == 20
        assert stopped[-1]["chunk_control"]["timeframe_start"] == corpus.timeframe_start(2)
        limited = chunks(sim, max_hits=15)
    # The timeframe in which max_hits is reached is still streamed whole.
    assert len(urls(limited)) == 20
    assert limited[-1]["chunk_control"]["timeframe_start"] == corpus.timeframe_start(2)


def test_rate_limit_answers_code_8_and_bad_token_code_7() -> None:
    corpus = Corpus(seed=2, timeframes=1, per_timeframe=1)
    with TalkwalkerSimulator(corpus, close_at_end=True, calls_per_window=2, window_s=60) as sim:
        chunks(sim)
        chunks(sim)
        third = httpx.get(sim.url + PATH.format("*"), params={"access_token": TOKEN})
        bad = httpx.get(sim.url + PATH.format("*"), params={"access_token": "nope"})
    assert (third.status_code, third.json()["status_code"]) == (401, "8")
    assert (bad.status_code, bad.json()["status_code"]) == (401, "7")


def test_unknown_stream_is_code_15() -> None:
    with TalkwalkerSimulator(Corpus(timeframes=1, per_timeframe=1)) as sim:
        response = httpx.get(sim.url + PATH.format("nope"), params={"access_token": TOKEN})
    assert (response.status_code, response.json()["status_code"]) == (404, "15")


def test_credits_run_out_then_code_9() -> None:
    corpus = Corpus(seed=2, timeframes=4, per_timeframe=10)
    with TalkwalkerSimulator(corpus, close_at_end=True, credits=15, window_s=1) as sim:
        first = chunks(sim)
        again = httpx.get(sim.url + PATH.format("*"), params={"access_token": TOKEN})
    # Billed per completed timeframe: two timeframes go out, then the stop control chunk.
    assert len(urls(first)) == 20
    assert first[-1]["chunk_control"]["timeframe_start"] == corpus.timeframe_start(2)
    assert (again.status_code, again.json()["status_code"]) == (401, "9")


def test_one_connection_per_account_newer_wins_with_code_24() -> None:
    corpus = Corpus(seed=2, timeframes=1, per_timeframe=5)
    with TalkwalkerSimulator(corpus, keepalive_s=0.1, window_s=1) as sim:
        received: list[str] = []

        def first() -> None:
            query = {"access_token": TOKEN}
            with httpx.stream("GET", sim.url + PATH.format("*"), params=query, timeout=10) as r:
                for line in r.iter_lines():
                    received.append(line)
                    if '"CT_ERROR"' in line:
                        return

        thread = threading.Thread(target=first)
        thread.start()
        deadline = time.monotonic() + 10
        while not any('"CT_RESULT"' in line for line in received):
            assert time.monotonic() < deadline, "the first connection got no result"
            time.sleep(0.01)
        query = {"access_token": TOKEN}
        with httpx.stream("GET", sim.url + PATH.format("*"), params=query, timeout=10) as r:
            assert r.status_code == 200
        thread.join(10)
    error = json.loads(next(line for line in received if '"CT_ERROR"' in line))
    assert error["chunk_error"]["status_code"] == "24"
    assert sim.state.superseded == 1


def test_gzip_when_asked() -> None:
    corpus = Corpus(seed=2, timeframes=1, per_timeframe=5)
    with TalkwalkerSimulator(corpus, close_at_end=True, window_s=1) as sim:
        response = httpx.get(
            sim.url + PATH.format("*"),
            params={"access_token": TOKEN},
            headers={"Accept-Encoding": "gzip"},
        )
    assert response.headers["content-encoding"] == "gzip"
    assert len([line for line in response.text.split("\r\n") if line]) == 6
