"""The codec's reading paths agree: a projection gives the same values whoever reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socialstream.runtime.codec import _body, _read_body, shipped


def test_a_projection_read_by_fastavro_gives_its_times_as_milliseconds_too() -> None:
    # The compiled projection gives epoch ms; when it refuses (or the writer schema is an older
    # one), fastavro reads the record, and its top-level datetimes are made ms alike.
    parsed = shipped().parsed("talkwalker_control")
    record: dict[str, Any] = {"timeframe_start": 1079337347472, "timeframe_end": None}
    payload = _body(parsed, {**record, "streams": [], "extra": None})
    whole = _read_body(payload, parsed, parsed)
    assert isinstance(whole["timeframe_start"], datetime)
    assert _read_body(payload, parsed, parsed, millis=True)["timeframe_start"] == 1079337347472
