"""The compiled Avro writer and reader against fastavro, on every shipped schema.

Records drawn from each schema must encode to fastavro's exact bytes through the compiled writer
and read back as fastavro reads them through the compiled reader (not their fastavro fallbacks);
records with values of the wrong type anywhere, and damaged bytes, must give what fastavro gives:
the same bytes or value, or the same kind of error.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialstream.runtime import avro_reader, avro_writer
from socialstream.runtime.avro_compiler import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, Mismatch
from socialstream.runtime.avro_reader import Reader, compile_reader
from socialstream.runtime.avro_writer import Encoder, compile_encoder, long_bytes
from socialstream.runtime.codec import DecodeError, _body, _read_body, shipped
from socialstream.runtime.lenient import epoch_ms
from socialstream.schemas import load_schema, schema_names

SCHEMAS = schema_names()
# Every reader and writer test runs on both engines: the C executor and the generated Python.
ENGINES = pytest.mark.parametrize("compiled_c", [True, False], ids=["c", "python"])


@cache
def _reader(name: str, fields: frozenset[str] | None, compiled_c: bool) -> Reader:
    reader = compile_reader(load_schema(name), fields, compiled_c=compiled_c)
    assert reader is not None
    return reader


@cache
def _encoder(name: str, compiled_c: bool) -> Encoder:
    encoder = compile_encoder(load_schema(name), compiled_c=compiled_c)
    assert encoder is not None
    return encoder


def test_the_c_executor_is_built_and_chosen() -> None:
    # `make install` builds it; a missing compiler would silently leave the slow path.
    assert avro_reader.native is not None
    assert isinstance(compile_reader(load_schema(SCHEMAS[0])), avro_reader.native.Node)
    assert isinstance(shipped().compiled[SCHEMAS[0]], avro_reader.native.Encoder)
    # the union dispatch order the C side hard-codes is the one the planner assumes
    assert avro_reader.native.UNION_TYPES == avro_writer._UNION_TYPES


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
    schemas = shipped()
    assert schemas.compiled[name] is not None
    assert schemas.readers[schemas.fingerprints[name]] is not None


def _top_fields(record: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """What a projection to `fields` gives of `record`: those fields, top-level times as ms."""
    return {
        k: epoch_ms(v) if isinstance(v, datetime) else v for k, v in record.items() if k in fields
    }


def _fastavro_read(name: str, payload: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(payload), shipped().parsed(name), None)


@ENGINES
@given(_records(garbage=False))
def test_records_read_back_as_fastavro_reads_them_on_the_compiled_path(
    compiled_c: bool, case: tuple[str, dict[str, Any]]
) -> None:
    name, record = case
    payload = _fastavro(name, record)
    reader = _reader(name, None, compiled_c)

    def outcome(read: Any) -> Any:
        try:
            return read()
        except Exception as exc:  # a time past year 9999: both refuse it alike
            return type(exc)

    compiled = outcome(lambda: reader(b"\xc3\x01" + payload, 2))
    assert compiled == outcome(lambda: _fastavro_read(name, payload))


@ENGINES
@given(_records(garbage=False), st.data())
def test_a_projected_reader_gives_the_chosen_fields_as_fastavro_reads_them(
    compiled_c: bool, case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    name, record = case
    names = [f["name"] for f in load_schema(name)["fields"]]
    fields = frozenset(data.draw(st.lists(st.sampled_from(names), unique=True)))
    reader = _reader(name, fields, compiled_c)
    payload = _fastavro(name, record)
    try:
        expected = _fastavro_read(name, payload)
    except (ValueError, OverflowError):  # a time past year 9999: refused only where it is read
        return
    assert reader(b"\xc3\x01" + payload, 2) == _top_fields(expected, fields)


@ENGINES
@given(
    _records(garbage=False),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3),
    st.integers(0, 400),
)
def test_damaged_bytes_read_as_fastavro_reads_them_or_fail_as_it_fails(
    compiled_c: bool, case: tuple[str, dict[str, Any]], flips: list[tuple[int, int]], cut: int
) -> None:
    name, record = case
    schemas = shipped()
    damaged = bytearray(_fastavro(name, record))
    for at, byte in flips:
        if damaged:
            damaged[at % len(damaged)] = byte
    payload = bytes(damaged[: max(cut, len(damaged) // 2)])
    parsed = schemas.parsed(name)

    def read(compiled: Any) -> Any:
        try:
            return _read_body(payload, parsed, parsed, compiled)
        except DecodeError:
            return DecodeError

    # repr: a damaged double may read as NaN, which equals nothing, not even itself
    assert repr(read(_reader(name, None, compiled_c))) == repr(read(None))


@ENGINES
@given(
    _records(garbage=False),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=3),
    st.data(),
)
def test_a_projection_reads_damaged_bytes_the_whole_reader_reads_to_the_same_fields(
    compiled_c: bool,
    case: tuple[str, dict[str, Any]],
    flips: list[tuple[int, int]],
    data: st.DataObject,
) -> None:
    name, record = case
    damaged = bytearray(_fastavro(name, record))
    for at, byte in flips:
        if damaged:
            damaged[at % len(damaged)] = byte
    names = [f["name"] for f in load_schema(name)["fields"]]
    fields = frozenset(data.draw(st.lists(st.sampled_from(names), unique=True)))
    whole, projected = _reader(name, None, compiled_c), _reader(name, fields, compiled_c)
    try:
        expected = whole(bytes(damaged), 0)
    except Exception:  # what the whole reader refuses, the projection may refuse too
        return
    # repr: a damaged double may read as NaN, which equals nothing, not even itself
    assert repr(projected(bytes(damaged), 0)) == repr(_top_fields(expected, fields))


@ENGINES
def test_a_projection_refuses_what_is_wrong_in_the_fields_it_steps_over(compiled_c: bool) -> None:
    schema = {
        "type": "record",
        "name": "Checked",
        "fields": [
            {"name": "text", "type": ["null", "string"]},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "small", "type": "int"},
            {"name": "n", "type": "long"},
        ],
    }
    reader = compile_reader(schema, frozenset({"n"}), compiled_c=compiled_c)
    assert reader is not None
    good = b"\x02" + long_bytes(2) + b"ok" + long_bytes(1) + long_bytes(5) + long_bytes(7)
    assert reader(good, 0) == {"n": 7}
    for bad in (
        b"\x04" + long_bytes(1) + long_bytes(5) + long_bytes(7),  # union index out of range
        b"\x02" + long_bytes(2) + b"\xff\xfe" + long_bytes(1) + long_bytes(5) + long_bytes(7),
        b"\x00" + long_bytes(2) + long_bytes(5) + long_bytes(7),  # enum index out of range
        b"\x00" + long_bytes(1) + long_bytes(2**40) + long_bytes(7),  # not an int
    ):
        with pytest.raises((Mismatch, UnicodeDecodeError)):
            reader(bad, 0)


@ENGINES
@given(_records(garbage=False))
def test_well_typed_records_encode_to_fastavros_bytes_on_the_compiled_path(
    compiled_c: bool, case: tuple[str, dict[str, Any]]
) -> None:
    name, record = case
    assert _encoder(name, compiled_c)(record) == _fastavro(name, record)


@ENGINES
@given(_records(garbage=True))
def test_any_record_encodes_as_fastavro_would_or_fails_as_it_would(
    compiled_c: bool, case: tuple[str, Any]
) -> None:
    name, record = case
    schemas = shipped()
    try:
        expected: bytes | type[BaseException] = _fastavro(name, record)
    except Exception as exc:
        expected = type(exc)
    try:
        got: bytes | type[BaseException] = _body(
            schemas.parsed(name), record, schemas.union_plans[name], _encoder(name, compiled_c)
        )
    except Exception as exc:
        got = type(exc)
    assert got == expected


@ENGINES
def test_arrays_written_in_sized_blocks_read_as_fastavro_reads_them(compiled_c: bool) -> None:
    # Writers may give a block a negative count followed by its size in bytes (Avro spec).
    schema = {
        "type": "record",
        "name": "Blocks",
        "fields": [{"name": "tags", "type": {"type": "array", "items": "string"}}],
    }
    first = long_bytes(1) + b"a"
    rest = b"".join(long_bytes(len(s)) + s for s in (b"bc", b"d"))
    payload = long_bytes(-1) + long_bytes(len(first)) + first + long_bytes(2) + rest + b"\x00"
    reader = compile_reader(schema, compiled_c=compiled_c)
    assert reader is not None
    expected = fastavro.schemaless_reader(io.BytesIO(payload), fastavro.parse_schema(schema), None)
    assert reader(payload, 0) == expected == {"tags": ["a", "bc", "d"]}


@ENGINES
def test_a_projection_steps_over_sized_blocks_and_maps(compiled_c: bool) -> None:
    schema = {
        "type": "record",
        "name": "Blocks",
        "fields": [
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "counts", "type": {"type": "map", "values": "long"}},
            {"name": "n", "type": "long"},
        ],
    }
    first = long_bytes(1) + b"a"
    rest = b"".join(long_bytes(len(s)) + s for s in (b"bc", b"d"))
    tags = long_bytes(-1) + long_bytes(len(first)) + first + long_bytes(2) + rest + b"\x00"
    counts = long_bytes(1) + long_bytes(1) + b"k" + long_bytes(300) + b"\x00"
    payload = tags + counts + long_bytes(7)
    expected = fastavro.schemaless_reader(io.BytesIO(payload), fastavro.parse_schema(schema), None)
    assert expected == {"tags": ["a", "bc", "d"], "counts": {"k": 300}, "n": 7}
    reader = compile_reader(schema, frozenset({"n"}), compiled_c=compiled_c)
    assert reader is not None and reader(payload, 0) == {"n": 7}
    for cut in (len(tags) - 1, len(tags) + 3, len(payload) - 1):  # truncated: refused
        with pytest.raises((IndexError, Mismatch)):
            reader(payload[:cut], 0)


LINKED = {
    "type": "record",
    "name": "Link",
    "fields": [{"name": "n", "type": "long"}, {"name": "next", "type": ["null", "Link"]}],
}


@ENGINES
def test_a_recursive_schema_reads_and_writes_nesting_and_refuses_hostile_depth(
    compiled_c: bool,
) -> None:
    reader = compile_reader(LINKED, compiled_c=compiled_c)
    encoder = compile_encoder(LINKED, compiled_c=compiled_c)
    assert reader is not None and encoder is not None
    parsed = fastavro.parse_schema(LINKED)

    def chain(depth: int) -> dict[str, Any]:
        record: dict[str, Any] = {"n": depth, "next": None}
        for n in range(depth - 1, 0, -1):
            record = {"n": n, "next": record}
        return record

    payload = encoder(chain(50))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, chain(50))
    assert payload == out.getvalue()
    assert reader(payload, 0) == fastavro.schemaless_reader(io.BytesIO(payload), parsed, None)
    # 100,000 levels in 200 KB: refused (the codec then asks fastavro), never a crashed process
    hostile = b"\x02\x02" * 100_000 + b"\x02\x00"
    with pytest.raises((Mismatch, RecursionError)):
        reader(hostile, 0)
    with pytest.raises((Mismatch, RecursionError)):
        encoder(chain(100_000))


def test_an_inconsistent_plan_is_refused_not_read_out_of_bounds() -> None:
    native = avro_reader.native
    assert native is not None
    long_node = native.Node(avro_reader.KINDS["long"])
    record = native.Node(
        avro_reader.KINDS["record"], children=(long_node, long_node), names=("a",), built=(True,)
    )
    with pytest.raises(Mismatch):
        record(b"\x02\x04", 0)
    with pytest.raises(Mismatch):
        native.Encoder(record)({"a": 1})
    with pytest.raises(TypeError):  # a child that is not a node
        native.Node(avro_reader.KINDS["array"], children=("long",))(b"\x02\x02\x00", 0)
