"""A token in a request URL or header never shows in a log line (any level) or str(exception)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from socialstream.runtime.httpclient import (
    RetryPolicy,
    UpstreamHTTPError,
    UpstreamUnavailable,
    make_client,
    raise_for_status,
)
from socialstream.runtime.logs import setup_logging
from socialstream.runtime.redaction import redact_headers, redact_text, redact_url
from socialstream.simulators.linestream import LineStreamSimulator

TOKEN = "tw-4c1d-SECRET-9f2e"
BEARER = "AAAA-bearer-SECRET-zz"


@pytest.fixture
def simulator() -> Iterator[LineStreamSimulator]:
    with LineStreamSimulator(token=TOKEN) as sim:
        yield sim


@pytest.fixture(params=["json", "text"])
def log_output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    setup_logging("DEBUG", request.param, stream)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.DEBUG)
    yield stream
    setup_logging("WARNING", "text")


def test_redact_url_masks_token_parameters_and_userinfo() -> None:
    url = f"https://user:pw123@api.example.com/api/v2/stream/s/a/results?access_token={TOKEN}&q=x"
    safe = redact_url(url)
    assert TOKEN not in safe and "pw123" not in safe
    assert "q=x" in safe and "access_token=" in safe and "user:" in safe


def test_redact_headers_and_text() -> None:
    headers = redact_headers({"Authorization": f"Bearer {BEARER}", "Accept": "x"})
    assert headers == {"Authorization": "**********", "Accept": "x"}
    assert BEARER not in redact_text(f"sent Authorization: Bearer {BEARER}")
    assert TOKEN not in redact_text(f"GET /x?foo=1&access_token={TOKEN} failed")


def test_token_never_in_logs_at_any_level(
    simulator: LineStreamSimulator, log_output: io.StringIO
) -> None:
    with make_client(simulator.url, headers={"Authorization": f"Bearer {BEARER}"}) as client:
        response = client.get("/ping", params={"access_token": TOKEN})
        assert response.status_code == 200
        log = logging.getLogger("socialstream.test")
        url = str(response.request.url)
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
            log.log(level, "called %s with %s", url, dict(response.request.headers))
        log.info(
            "structured", extra={"url": url, "auth": response.request.headers["authorization"]}
        )
        try:
            raise RuntimeError(f"failed calling {url}")
        except RuntimeError:
            log.exception("with traceback")
    output = log_output.getvalue()
    assert "called http://127.0.0.1" in output  # the lines were written
    assert "HTTP Request" in output  # httpx's own request log was captured too
    assert TOKEN not in output
    assert BEARER not in output


def test_token_never_in_http_error_exceptions(simulator: LineStreamSimulator) -> None:
    with make_client(simulator.url) as client:
        response = client.get("/ping", params={"access_token": "wrong-" + TOKEN})
        with pytest.raises(UpstreamHTTPError) as error:
            raise_for_status(response)
    assert error.value.status == 401
    assert TOKEN not in str(error.value)
    assert "access_token=**********" in str(error.value)
    assert error.value.__cause__ is None and error.value.__context__ is None


def test_token_never_in_unreachable_upstream_exceptions() -> None:
    client = make_client(
        "http://127.0.0.1:9",  # discard port: nothing listens
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01),
        headers={"Authorization": f"Bearer {BEARER}"},
    )
    with pytest.raises(UpstreamUnavailable) as error, client:
        client.get("/stream", params={"access_token": TOKEN})
    text = str(error.value) + repr(error.value)
    assert "failed after 2 attempt(s)" in text
    assert TOKEN not in text and BEARER not in text
    assert error.value.__cause__ is None


def test_httpx_status_error_would_leak_which_is_why_we_wrap_it(
    simulator: LineStreamSimulator,
) -> None:
    # Documents the hazard the wrapper exists for: httpx puts the full URL in its message.
    with httpx.Client(base_url=simulator.url) as client:
        response = client.get("/ping", params={"access_token": "bad-" + TOKEN})
        with pytest.raises(httpx.HTTPStatusError) as error:
            response.raise_for_status()
    assert TOKEN in str(error.value)
