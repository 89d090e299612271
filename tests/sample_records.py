"""Records that fill every field of a schema, so round-trip tests exercise every type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socialstream.runtime.lenient import epoch_ms
from socialstream.schemas import load_schema

TS = 1_700_000_123_456


def _value(schema: Any, named: dict[str, Any], depth: int) -> Any:
    if isinstance(schema, list):  # union: the first non-null branch
        branch = next(s for s in schema if s != "null")
        return _value(branch, named, depth)
    if isinstance(schema, str):
        if schema in named:
            return _value(named[schema], named, depth)
        return {
            "string": f"s{depth}-é",
            "long": 2**40 + depth,
            "int": 7 + depth,
            "double": 0.25 + depth,
            "float": 0.5,
            "boolean": True,
            "bytes": b"\x00\xffraw",
        }[schema]
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return TS + depth
    if kind == "record":
        named[schema["name"]] = schema
        return {f["name"]: _value(f["type"], named, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        named[schema["name"]] = schema
        return schema["symbols"][-1]
    if kind == "array":
        return [_value(schema["items"], named, depth + 1)]
    if kind == "map":
        return {"k": _value(schema["values"], named, depth + 1)}
    return _value(kind, named, depth)


def full_record(schema_name: str) -> dict[str, Any]:
    """A record of `schema_name` with every optional field set (non-null)."""
    value = _value(load_schema(schema_name), {}, 0)
    assert isinstance(value, dict)
    return value


def plain(value: Any) -> Any:
    """Decoded Avro as written: fastavro reads timestamp-millis back as datetimes."""
    if isinstance(value, datetime):
        return epoch_ms(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
