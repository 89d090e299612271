"""Lenient parsing of vendor JSON: loose syntax, numbers as strings, ids as either, odd dates.

Vendors send (and document) JSON with missing commas, unescaped quotes, counts as strings and ids
as numbers or strings. `loads` accepts strict JSON fast and repairs the rest with `json_repair`,
saying that it did; the annotated types below normalise values inside pydantic models. What
cannot be understood raises `LenientParseError` or a pydantic `ValidationError`, never a crash.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Annotated, Any, get_args

import json_repair
import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict

LONG_LIMIT = 2**63  # Avro long: every count and time a record holds
MAX_DEPTH = 512  # no vendor document nests past a dozen levels; Python's parsers recurse


class LenientParseError(ValueError):
    """Input that is not JSON even after repair."""


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets open deeper than `limit` (strings ignored), before a recursive repair."""
    if text.count("{") + text.count("[") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if depth > limit:
                return True
        elif char in "}]":
            depth = max(0, depth - 1)
    return False


def loads(raw: bytes | str) -> tuple[Any, bool]:
    """Parse JSON, repairing vendor-style breakage. Returns (value, repaired)."""
    try:
        return orjson.loads(raw), False  # the fast path: well-formed JSON
    except orjson.JSONDecodeError:
        pass
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text), False  # what orjson refuses but JSON allows (ints > 64 bit)
    except json.JSONDecodeError:
        pass
    except RecursionError:  # hostile nesting: orjson stops at 1024 levels, json recurses
        raise LenientParseError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        raise LenientParseError(f"not JSON: starts with {stripped[:20]!r}")
    if _depth_exceeds(stripped, MAX_DEPTH):
        raise LenientParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json_repair.loads(stripped)
    except RecursionError:
        raise LenientParseError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except Exception as exc:  # json_repair raises assorted errors on garbage
        raise LenientParseError(f"not JSON even after repair: {exc}") from None
    if not isinstance(value, dict | list) or value in ({}, []):
        raise LenientParseError("not JSON: nothing recoverable")
    return value, True


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "null", "None"))


def to_int(value: Any) -> int | None:
    """12, "12", "1,234", 12.0 -> int; blank -> None; anything else, or a number outside the
    64-bit range every record field holds (Avro long), -> ValueError."""
    if type(value) is int and -LONG_LIMIT <= value < LONG_LIMIT:  # the common case, first
        return value
    try:  # counts as strings ("12"), next: int() reads them as the long way does
        number: int | None = int(value) if type(value) is str else _to_int(value)
    except ValueError:
        number = _to_int(value)
    if number is not None and not -LONG_LIMIT <= number < LONG_LIMIT:
        raise ValueError(f"{number} is outside the 64-bit range")
    return number


INT_LIMIT = 2**31  # Avro int: the Talkwalker levels and sentiment


def to_int32(value: Any) -> int | None:
    """Like `to_int`, for a field an Avro int holds: a number outside 32 bits -> ValueError."""
    number = to_int(value)
    if number is not None and not -INT_LIMIT <= number < INT_LIMIT:
        raise ValueError(f"{number} is outside the 32-bit range")
    return number


def _to_int(value: Any) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if not math.isfinite(number):
                raise ValueError("not a finite number") from None
            return int(number)
    raise ValueError(f"expected a number, got {type(value).__name__}")


def to_count(value: Any) -> int | None:
    """Like `to_int`, but an unreadable count becomes None instead of rejecting the record."""
    try:
        return to_int(value)
    except (ValueError, TypeError):
        return None


def to_float(value: Any) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except OverflowError:  # an integer past a double's range; a ValueError is what validates
        raise ValueError("outside the range of a double") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def to_str(value: Any) -> str | None:
    """Ids and codes: numbers become their decimal string; blank -> None."""
    if type(value) is str:  # the common case, first
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value).strip()
    raise ValueError(f"expected a string or number, got {type(value).__name__}")


def to_bool(value: Any) -> bool | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _seconds_as_ms(seconds: int | float | str) -> int:
    """Epoch seconds as whole milliseconds (floored, as a time's sub-millisecond part is)."""
    if type(seconds) is int:
        return seconds * 1000
    text = seconds.strip() if isinstance(seconds, str) else repr(seconds)
    try:
        return int((Decimal(text) * 1000).to_integral_value(rounding=ROUND_FLOOR))
    except InvalidOperation:  # a spelling float() reads and Decimal does not
        return int(float(text) * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (naive times as UTC). `int(t.timestamp() * 1000)`
    goes through a float and comes out a millisecond short for about one time in 170."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def to_epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch from epoch ms/s (number or string), ISO 8601/RFC 3339 or
    Twitter's `Thu Apr 13 17:04:50 +0000 2017`. Naive times are taken as UTC."""
    if type(value) is int and 100_000_000_000 <= abs(value) < LONG_LIMIT:  # epoch ms, usually
        return value
    if type(value) is str and len(value) <= 15 and value.isascii() and value.isdigit():
        digits = int(value)  # exact in a float too: the same as the general path below
        return digits if digits >= 100_000_000_000 else digits * 1000
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float) or (isinstance(value, str) and _numeric(value)):
        try:
            number = float(value)
        except OverflowError:  # an integer past a double's range
            raise ValueError("not a finite time") from None
        if not math.isfinite(number):
            raise ValueError("not a finite time")
        # Seconds until year 33658 would be ms; values below 1e11 are seconds, multiplied in
        # decimal: 1079337347.472 * 1000 is 1079337347471.9998 in binary floating point.
        ms = int(number) if abs(number) >= 1e11 else _seconds_as_ms(value)
        if not -LONG_LIMIT <= ms < LONG_LIMIT:
            raise ValueError(f"{ms} ms is outside the 64-bit range")
        return ms
    if not isinstance(value, str):
        raise ValueError(f"expected a time, got {type(value).__name__}")
    text = value.strip()
    twitter = _TWITTER_TIME.fullmatch(text)
    if twitter is not None:  # the commonest non-ISO form: strptime is ten times slower
        return _twitter_ms(twitter)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise ValueError(f"unrecognised time {text!r}") from None
    return epoch_ms(parsed)


_MONTHS = {
    m: n
    for n, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_TWITTER_TIME = re.compile(
    r"(?i:mon|tue|wed|thu|fri|sat|sun) ([A-Za-z]{3}) (\d\d) (\d\d):(\d\d):(\d\d) "
    r"([+-]\d\d)(\d\d) (\d{4})"
)


@cache
def _zone(hours: str, minutes: str) -> timezone:
    if int(minutes) >= 60:
        raise ValueError(f"unrecognised UTC offset {hours}{minutes}")
    offset = timedelta(hours=abs(int(hours)), minutes=int(minutes))
    return timezone(-offset if hours[0] == "-" else offset)


def _twitter_ms(match: re.Match[str]) -> int:
    """`Thu Apr 13 17:04:50 +0000 2017` as epoch ms, exactly as strptime would read it."""
    month = _MONTHS.get(match[1].lower())
    if month is None:
        raise ValueError(f"unrecognised time {match[0]!r}")
    hour, minute, second = int(match[3]), int(match[4]), int(match[5])
    zone = _zone(match[6], match[7])
    parsed = datetime(int(match[8]), month, int(match[2]), hour, minute, second, 0, zone)
    return epoch_ms(parsed)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_str_list(value: Any) -> list[str]:
    """A list of strings from a list, a single value or nothing."""
    if _blank(value):
        return []
    items = value if isinstance(value, list) else [value]
    return [
        s for s in (to_str(item) if not isinstance(item, dict) else None for item in items) if s
    ]


# How `extra` is written: json.dumps(value, sort_keys=True, default=str), with the encoder built
# once (json.dumps builds one on every call given options; the fast paths write one a record).
dump_extra = json.JSONEncoder(sort_keys=True, default=str).encode


class FastPathMiss(Exception):
    """A shape a hand-written fast path (beside the models) does not read: the models decide."""


def object_or_none(value: Any) -> dict[str, Any] | None:
    """A nested model's input as a fast path takes it: None or a JSON object, else a miss
    (anything else fails the model's validation, which explains it)."""
    if value is None or type(value) is dict:
        return value
    raise FastPathMiss


def unknown_keys(value: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The entries of `value` no model field names: what `VendorModel.unknown_fields` keeps."""
    if known.issuperset(value):  # the common case, tested in C
        return {}
    return {k: v for k, v in value.items() if k not in known}


LenientInt = Annotated[int | None, BeforeValidator(to_int)]
LenientInt32 = Annotated[int | None, BeforeValidator(to_int32)]
Count = Annotated[int | None, BeforeValidator(to_count)]
LenientFloat = Annotated[float | None, BeforeValidator(to_float)]
LenientStr = Annotated[str | None, BeforeValidator(to_str)]
LenientBool = Annotated[bool | None, BeforeValidator(to_bool)]
EpochMillis = Annotated[int | None, BeforeValidator(to_epoch_ms)]
StrList = Annotated[list[str], BeforeValidator(to_str_list)]


@cache
def _model_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Names of the fields whose type can hold a nested VendorModel (computed once a class)."""

    def holds_model(annotation: Any) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, VendorModel):
            return True
        return any(holds_model(arg) for arg in get_args(annotation))

    return tuple(
        name for name, field in model.model_fields.items() if holds_model(field.annotation)
    )


class VendorModel(BaseModel):
    """Base of every vendor model: unknown fields are kept (for `extra`), never rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)

    def unknown_fields(self) -> dict[str, Any]:
        """Fields no model attribute holds, nested ones under their parent's name."""
        found: dict[str, Any] = dict(self.model_extra or {})
        for name in _model_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, VendorModel):
                nested = value.unknown_fields()
                if nested:
                    found[name] = nested
            elif isinstance(value, list | dict):
                items = value.values() if isinstance(value, dict) else value
                inner = [v.unknown_fields() for v in items if isinstance(v, VendorModel)]
                if any(inner):
                    found[name] = inner
        return found

    def extra_json(self) -> str | None:
        """`unknown_fields()` as a JSON object string, None when there are none."""
        extra = self.unknown_fields()
        return dump_extra(extra) if extra else None
