"""Lenient vendor JSON: loose syntax repaired, loose values normalised, garbage rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from socialstream.runtime.lenient import (
    LenientParseError,
    epoch_ms,
    loads,
    to_count,
    to_epoch_ms,
    to_float,
    to_int,
    to_int32,
    to_str,
    to_str_list,
)


def test_strict_json_is_not_marked_repaired() -> None:
    assert loads(b'{"a": 1}') == ({"a": 1}, False)


def test_missing_commas_and_unescaped_quotes_are_repaired() -> None:
    value, repaired = loads('{"a": "x" "b": "<a href="http://t.co">T</a>"}')
    assert repaired
    assert value == {"a": "x", "b": '<a href="http://t.co">T</a>'}


@pytest.mark.parametrize("raw", [b"", b"garbage", b"\xff\xfe", b"}{", b"{"])
def test_non_json_is_rejected_with_a_reason(raw: bytes) -> None:
    with pytest.raises(LenientParseError):
        loads(raw)


def test_numbers_from_strings() -> None:
    assert to_int("12") == 12
    assert to_int("1,234") == 1234
    assert to_int(12.0) == 12
    assert to_int("") is None
    assert to_count("n/a") is None
    with pytest.raises(ValueError):
        to_int("n/a")
    with pytest.raises(ValueError):
        to_int(True)


@pytest.mark.parametrize("value", [{}, [1.5], {"lat": 1}])
def test_a_coordinate_of_the_wrong_shape_is_rejected_not_a_crash(value: object) -> None:
    # A TypeError here escaped pydantic's validation and stopped the Talkwalker source.
    with pytest.raises(ValueError, match="expected a number"):
        to_float(value)


def test_an_integer_past_a_doubles_range_is_rejected_not_a_crash() -> None:
    # JSON integers have no size limit; float() raised OverflowError, which pydantic does not
    # turn into a validation error, and it stopped the Talkwalker source.
    with pytest.raises(ValueError, match="range of a double"):
        to_float(10**400)
    with pytest.raises(ValueError, match="not a finite time"):
        to_epoch_ms(-(10**400))


def test_a_field_an_avro_int_holds_refuses_numbers_past_32_bits() -> None:
    # fastavro refused to write such a sentiment, and the error stopped the Talkwalker source.
    assert to_int32("-2147483648") == -(2**31)
    assert to_int32(2**31 - 1) == 2**31 - 1
    assert to_int32(None) is None
    with pytest.raises(ValueError, match="outside the 32-bit range"):
        to_int32(2**31)
    with pytest.raises(ValueError, match="outside the 32-bit range"):
        to_int32(-(2**40))


def test_ids_as_numbers_or_strings() -> None:
    assert to_str(852568271115108352) == "852568271115108352"
    assert to_str(" abc ") == "abc"
    assert to_str(3.0) == "3"
    assert to_str_list("BLOG") == ["BLOG"]
    assert to_str_list(["A", 1, None]) == ["A", "1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1417999319393, 1417999319393),
        ("1417999319393", 1417999319393),
        (1417999319, 1417999319000),
        ("Thu Apr 13 17:04:50 +0000 2017", 1492103090000),
        ("2016-10-18T02:16:15.329Z", 1476756975329),
        ("1977-04-22T07:00:00.000+00:00", 230540400000),
        ("2022-02-02T00:00:00", 1643760000000),
    ],
)
def test_times_in_every_vendor_format(value: object, expected: int) -> None:
    assert to_epoch_ms(value) == expected


# Times whose float path (`int(t.timestamp() * 1000)`) comes out a millisecond short.
@pytest.mark.parametrize("ms", [1079337347472, 2165497250430, 2183226373411])
def test_times_with_milliseconds_read_exactly(ms: int) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert int(moment.timestamp() * 1000) == ms - 1  # the trap these values are chosen for
    assert epoch_ms(moment) == ms
    assert epoch_ms(moment.replace(tzinfo=None)) == ms  # naive: UTC
    assert to_epoch_ms(moment.isoformat()) == ms
    assert to_epoch_ms(moment.isoformat().replace("+00:00", "Z")) == ms
    assert to_epoch_ms(ms / 1000) == ms  # epoch seconds with a fraction, as JSON gives them
    assert to_epoch_ms(str(ms / 1000)) == ms
    assert to_epoch_ms(f" {ms / 1000} ") == ms


def test_unreadable_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="unrecognised time"):
        to_epoch_ms("<start time>")
