"""Hostile answers cut off with a clear error instead of filling memory: a gzip bomb inflates in
bounded pieces, a body past the client's limit raises ResponseTooLarge, an error body is read
only so far, JSON nested past the limit is refused."""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from socialstream.runtime.httpclient import (
    ResponseTooLarge,
    RetryPolicy,
    make_client,
    read_capped,
)
from socialstream.runtime.lenient import LenientParseError, loads
from socialstream.simulators.base import SimulatorServer

MB = 1024 * 1024


BOMB = gzip.compress(b"\0" * (200 * MB), compresslevel=9)  # about 200 kB on the wire
SMALL = b'{"items": [1, 2, 3]}' * 1000


async def bomb(request: Request) -> Response:
    return Response(BOMB, headers={"Content-Encoding": "gzip"})


async def small(request: Request) -> Response:
    return Response(gzip.compress(SMALL), headers={"Content-Encoding": "gzip"})


async def big(request: Request) -> Response:
    return Response(b"x" * (3 * MB))


async def huge_error(request: Request) -> Response:
    return Response(b"e" * (50 * MB), status_code=503)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A real HTTP server on loopback serving the hostile answers."""
    routes = [Route("/bomb", bomb), Route("/small", small), Route("/big", big),
              Route("/error", huge_error)]  # fmt: skip
    with SimulatorServer(Starlette(routes=routes)) as server:
        yield server.url


def test_a_gzip_bomb_is_cut_off_at_the_limit_without_inflating_it_whole(upstream: str) -> None:
    assert len(BOMB) < 300_000
    client = make_client(upstream, retry=RetryPolicy(max_attempts=1), max_body_bytes=8 * MB)
    tracemalloc.start()
    with client, pytest.raises(ResponseTooLarge, match="longer than 8388608 bytes"):
        client.get("/bomb")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40 * MB, f"peak {peak / MB:.0f} MB"


def test_a_gzip_body_under_the_limit_reads_as_usual(upstream: str) -> None:
    with make_client(upstream, max_body_bytes=MB) as client:
        response = client.get("/small")
    assert response.content == SMALL
    assert "content-encoding" not in response.headers  # inflated once, by the transport


def test_a_plain_body_past_the_limit_is_refused_and_a_stream_may_be_unbounded(
    upstream: str,
) -> None:
    with make_client(upstream, max_body_bytes=MB) as client, pytest.raises(ResponseTooLarge):
        client.get("/big")
    with make_client(upstream, max_body_bytes=None) as client:
        assert len(client.get("/big").content) == 3 * MB


def test_an_error_body_is_read_only_as_far_as_needed(upstream: str) -> None:
    client = make_client(upstream, retry=RetryPolicy(max_attempts=1), max_body_bytes=None)
    with client:
        response = client.send(client.build_request("GET", "/error"), stream=True)
        assert response.status_code == 503
        assert len(read_capped(response, 64 * 1024)) == 64 * 1024
        assert response.is_closed


@pytest.mark.parametrize(
    "raw",
    [b"[" * 200_000, b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
)
def test_json_nested_past_the_limit_is_refused_with_the_reason(raw: bytes) -> None:
    with pytest.raises(LenientParseError, match="nested deeper than 512 levels"):
        loads(raw)


def test_json_nested_within_the_limit_still_parses() -> None:
    assert loads(b"[" * 400 + b"]" * 400)[0] is not None
    value, repaired = loads(b'{"a": [1, {"b": "[[[["}], "c": 2')  # truncated: repaired
    assert repaired and value == {"a": [1, {"b": "[[[["}], "c": 2}
