"""The compiled Avro encoder against fastavro, on every shipped schema.

Records drawn from each schema must encode to fastavro's exact bytes through the compiled path
(not its fastavro fallback); records with values of the wrong type anywhere must give what
fastavro gives, the same bytes or the same kind of error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialstream.runtime.avro_compiled import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN
from socialstream.runtime.codec import _body, shipped
from socialstream.schemas import load_schema, schema_names

SCHEMAS = schema_names()

wrong = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "CT_RESULT", ""]),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.tuples(st.text(max_size=4), st.none()),
)


def values(schema: Any, named: dict[str, Any], namespace: str, garbage: bool) -> Any:
    """A strategy for values of `schema` (some of the wrong type anywhere, if `garbage`)."""
    right = _right(schema, named, namespace, garbage)
    return st.one_of(right, wrong) if garbage else right


def _right(schema: Any, named: dict[str, Any], namespace: str, garbage: bool) -> Any:
    if isinstance(schema, str):
        key = schema if schema in named else f"{namespace}.{schema}"
        if key in named:
            return values(named[key], named, namespace, garbage)
        schema = {"type": schema}
    if isinstance(schema, list):
        return st.one_of([values(b, named, namespace, garbage) for b in schema])
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return values(kind, named, namespace, garbage)
    if kind in ("record", "enum", "fixed"):
        space = schema.get("namespace", namespace)
        named[f"{space}.{schema['name']}"] = schema
    simple = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(INT_MIN, INT_MAX),
        "long": st.integers(LONG_MIN, LONG_MAX),
        "float": st.floats(width=32, allow_nan=False),
        "double": st.floats(allow_nan=False),
        "string": st.text(max_size=40),
        "bytes": st.binary(max_size=10),
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "array":
        return st.lists(values(schema["items"], named, namespace, garbage), max_size=3)
    if kind == "map":
        inner = values(schema["values"], named, namespace, garbage)
        return st.dictionaries(st.text(max_size=6), inner, max_size=3)
    assert kind == "record", kind
    space = schema.get("namespace", namespace)
    return st.fixed_dictionaries(
        {f["name"]: values(f["type"], named, space, garbage) for f in schema["fields"]}
    )


def _records(garbage: bool) -> Any:
    return st.sampled_from(SCHEMAS).flatmap(
        lambda name: st.tuples(st.just(name), values(load_schema(name), {}, "", garbage))
    )


def _fastavro(name: str, record: dict[str, Any]) -> bytes:
    schemas = shipped()
    return _body(schemas.parsed(name), record, schemas.union_plans[name])


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_shipped_schema_compiles(name: str) -> None:
    assert shipped().compiled[name] is not None


@given(_records(garbage=False))
def test_well_typed_records_encode_to_fastavros_bytes_on_the_compiled_path(
    case: tuple[str, dict[str, Any]],
) -> None:
    name, record = case
    compiled = shipped().compiled[name]
    assert compiled is not None
    assert compiled(record) == _fastavro(name, record)


@given(_records(garbage=True))
def test_any_record_encodes_as_fastavro_would_or_fails_as_it_would(
    case: tuple[str, Any],
) -> None:
    name, record = case
    schemas = shipped()
    try:
        expected: bytes | type[BaseException] = _fastavro(name, record)
    except Exception as exc:
        expected = type(exc)
    try:
        got: bytes | type[BaseException] = _body(
            schemas.parsed(name), record, schemas.union_plans[name], schemas.compiled[name]
        )
    except Exception as exc:
        got = type(exc)
    assert got == expected
