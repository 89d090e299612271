"""Avro binary readers compiled from a schema: how the processors read every input record.

fastavro's reader took 30-80 µs a record here (a tweet, a Talkwalker result), more than the
processors' own work. `compile_reader` turns a record schema, once, into a plan of nodes that the
C executor (`_avro_native.pyx`) walks: 8-11 µs a Talkwalker result. Where that extension was not
built (no C compiler at install), it writes Python source instead that reads the fields in order
with the common one- and two-byte varints inline (40-55 µs).

Like the writer (`avro_writer`), it is exact or it refuses: bytes it does not expect (a union
index out of range, a length past the end, a number past 64 bits, invalid UTF-8) raise, and the
codec reads that record with fastavro, whose answer (value or error) is then the one given. It
reads only records written with the same schema (no schema resolution); timestamp-millis values
come back as aware datetimes, as fastavro gives them. Schemas with other logical types are not
compiled (None).

A reader can also be compiled for some top-level fields only (`fields`): the others are checked
as the whole reader checks them (lengths, UTF-8, ranges, union and enum indexes) but not built,
so a projection refuses the bytes the whole reader refuses, apart from timestamps out of Python's
range. A projection gives its top-level timestamps as epoch milliseconds (ints): the processors
want numbers, and a datetime made and unmade cost more than reading the field.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

from socialstream.runtime.avro_compiler import (
    INT_MAX,
    INT_MIN,
    PRIMITIVES,
    Mismatch,
    SchemaCompiler,
    Unsupported,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

native: ModuleType | None
try:
    from socialstream.runtime import _avro_native as native
except ImportError:  # installed without a C compiler: the generated Python readers serve
    native = None

# The plan node kinds of `_avro_native` (the numbers its C switch uses).
KINDS = {
    "null": 0, "boolean": 1, "int": 2, "long": 3, "float": 4, "double": 5, "bytes": 6,
    "string": 7, "timestamp-millis": 8, "enum": 9, "fixed": 10, "array": 11, "map": 12,
    "record": 13, "union": 14,
}  # fmt: skip


def _to_time(millis: int) -> datetime:
    return EPOCH + timedelta(microseconds=millis * 1000)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at `pos`: (value, position after it)."""
    shift = n = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 63:
            raise Mismatch("varint longer than 10 bytes")
    if n >= 1 << 64:
        raise Mismatch("varint past 64 bits")
    return (n >> 1) ^ -(n & 1), pos


class _Compiler(SchemaCompiler):
    """Writes one Python function a named record; everything else is inlined."""

    def __init__(self) -> None:
        super().__init__()
        self.skippers: dict[str, str] = {}  # record full name -> its skipping function

    def _resolve(self, schema: Any, namespace: str) -> tuple[Any, str]:
        """(schema, kind): references followed, logical types checked."""
        if isinstance(schema, str) and schema not in PRIMITIVES:
            named = self.named_type(schema, namespace)
            return named, str(named["type"])
        if isinstance(schema, str):
            return schema, schema
        if isinstance(schema, list):
            return schema, "union"
        kind = str(schema["type"])
        logical = schema.get("logicalType")
        if kind in PRIMITIVES and logical is not None:
            if logical == "timestamp-millis" and kind == "long":
                return schema, "timestamp-millis"
            raise Unsupported(f"logical type {logical}")
        return schema, kind

    def record(self, schema: dict[str, Any], namespace: str) -> str:
        function, space, new = self.claim_record(schema, namespace)
        if not new:
            return function
        lines = [f"def {function}(b, p):"]
        names = []
        for field in schema["fields"]:
            var = self.fresh("v")
            names.append((field["name"], var))
            lines += self.value(field["type"], var, space, "    ")
        body = ", ".join(f"{name!r}: {var}" for name, var in names)
        lines.append(f"    return {{{body}}}, p")
        self.sources.append("\n".join(lines))
        return function

    def projected(self, schema: dict[str, Any], namespace: str, fields: frozenset[str]) -> str:
        """The top-level record's function, building only `fields` and stepping over the rest."""
        full = self.full_name(schema, namespace)
        self.named[full] = schema
        space = full.rpartition(".")[0]
        function = self.fresh("projected_")
        lines = [f"def {function}(b, p):"]
        names = []
        for field in schema["fields"]:
            if field["name"] in fields:
                var = self.fresh("v")
                names.append((field["name"], var))
                lines += self.top_value(field["type"], var, space, "    ")
            else:
                lines += self.skip(field["type"], space, "    ")
        body = ", ".join(f"{name!r}: {var}" for name, var in names)
        lines.append("    if p > len(b): raise Mismatch('length')")
        lines.append(f"    return {{{body}}}, p")
        self.sources.append("\n".join(lines))
        return function

    def top_value(self, schema: Any, var: str, namespace: str, indent: str) -> list[str]:
        """`value`, but a timestamp (or a union's) as its epoch milliseconds: a projection's
        top-level times, which every processor wants as numbers."""
        resolved, kind = self._resolve(schema, namespace)
        if kind == "timestamp-millis":
            return self._long(var, indent)
        if kind == "union":
            return self._union(
                resolved,
                indent,
                lambda branch, inner: self.top_value(branch, var, namespace, inner),
            )
        return self.value(schema, var, namespace, indent)

    def _skipper(self, schema: dict[str, Any], namespace: str) -> str:
        """A function stepping over a record of `schema` (one a named record, like `record`)."""
        full = self.full_name(schema, namespace)
        self.named.setdefault(full, schema)
        if full in self.skippers:
            return self.skippers[full]
        function = self.skippers[full] = self.fresh("skip_")
        space = full.rpartition(".")[0]
        lines = [f"def {function}(b, p):"]
        for field in schema["fields"]:
            lines += self.skip(field["type"], space, "    ")
        lines.append("    return p")
        self.sources.append("\n".join(lines))
        return function

    def skip(self, schema: Any, namespace: str, indent: str) -> list[str]:
        """Lines that advance `p` past one value of `schema`, checking it as `value` would
        (UTF-8, ranges, union and enum indexes) without building records, lists or times."""
        schema, kind = self._resolve(schema, namespace)
        i = indent
        if kind in ("null", "boolean", "int", "long", "string", "bytes", "enum"):
            return self.value(schema, self.fresh("u"), namespace, i)
        if kind == "timestamp-millis":
            return self._long(self.fresh("u"), i)
        if kind in ("float", "double", "fixed"):
            width = {"float": 4, "double": 8}.get(kind) or int(schema["size"])
            if kind == "fixed":
                self.named.setdefault(self.full_name(schema, namespace), schema)
            return [f"{i}p += {width}", f"{i}if p > len(b): raise Mismatch('length')"]
        if kind in ("array", "map"):
            count, inner = self.fresh("k"), i + "        "
            items = self.skip(schema["items"], namespace, inner) if kind == "array" else [
                *self.skip("string", namespace, inner),
                *self.skip(schema["values"], namespace, inner),
            ]  # fmt: skip
            return [
                f"{i}while True:",
                *self._count(count, i + "    "),
                f"{i}    if not {count}: break",
                f"{i}    for _ in range({count}):",
                *(items or [f"{inner}pass"]),
            ]
        if kind == "record":
            return [f"{i}p = {self._skipper(schema, namespace)}(b, p)"]
        if kind == "union":
            return self._union(schema, i, lambda branch, inner: self.skip(branch, namespace, inner))
        raise Unsupported(f"type {kind}")

    def _union(
        self, branches: list[Any], i: str, each: Callable[[Any, str], list[str]]
    ) -> list[str]:
        """Lines choosing a union's branch by its index, then `each(branch, indent)`'s lines."""
        byte = self.fresh("c")
        lines = [f"{i}{byte} = b[p]", f"{i}p += 1"]
        for position, branch in enumerate(branches):
            keyword = "if" if position == 0 else "elif"
            lines.append(f"{i}{keyword} {byte} == {position * 2}:")
            lines += each(branch, i + "    ") or [f"{i}    pass"]
        lines.append(f"{i}else: raise Mismatch('union index')")
        return lines

    def _long(self, var: str, i: str) -> list[str]:
        """A varint: one and two bytes inline (lengths up to 8 KiB), longer ones by a call."""
        byte, second = self.fresh("c"), self.fresh("d")
        return [
            f"{i}{byte} = b[p]",
            f"{i}if {byte} < 128:",
            f"{i}    {var} = ({byte} >> 1) ^ -({byte} & 1)",
            f"{i}    p += 1",
            f"{i}elif ({second} := b[p + 1]) < 128:",
            f"{i}    {byte} = ({byte} & 127) | ({second} << 7)",
            f"{i}    {var} = ({byte} >> 1) ^ -({byte} & 1)",
            f"{i}    p += 2",
            f"{i}else:",
            f"{i}    {var}, p = read_long(b, p)",
        ]

    def _sized(self, var: str, i: str, text: bool) -> list[str]:
        size, end = self.fresh("n"), self.fresh("e")
        return [
            *self._long(size, i),
            f"{i}{end} = p + {size}",
            f"{i}if {size} < 0 or {end} > len(b): raise Mismatch('length')",
            f"{i}{var} = b[p:{end}]{'.decode()' if text else ''}",
            f"{i}p = {end}",
        ]

    def _count(self, var: str, i: str) -> list[str]:
        """A block count; a negative one is followed by the block's size in bytes."""
        skipped = self.fresh("s")
        return [
            *self._long(var, i),
            f"{i}if {var} < 0:",
            f"{i}    {var} = -{var}",
            f"{i}    {skipped}, p = read_long(b, p)",
            f"{i}if {var} > len(b) - p: raise Mismatch('count')",
        ]

    def value(self, schema: Any, var: str, namespace: str, indent: str) -> list[str]:
        """Lines that read one value of `schema` into `var`, advancing `p`."""
        schema, kind = self._resolve(schema, namespace)
        i = indent
        if kind == "null":
            return [f"{i}{var} = None"]
        if kind == "boolean":
            byte = self.fresh("c")
            return [
                f"{i}{byte} = b[p]",
                f"{i}p += 1",
                f"{i}if {byte} > 1: raise Mismatch('boolean')",
                f"{i}{var} = {byte} == 1",
            ]
        if kind == "long":
            return self._long(var, i)
        if kind == "int":
            return [
                *self._long(var, i),
                f"{i}if not {INT_MIN} <= {var} <= {INT_MAX}: raise Mismatch('int')",
            ]
        if kind == "timestamp-millis":
            millis = self.fresh("m")
            return [
                *self._long(millis, i),
                f"{i}{var} = EPOCH + timedelta(microseconds={millis} * 1000)",
            ]
        if kind in ("float", "double"):
            unpack, width = ("FLOAT", 4) if kind == "float" else ("DOUBLE", 8)
            return [f"{i}{var} = {unpack}(b, p)[0]", f"{i}p += {width}"]
        if kind in ("string", "bytes"):
            return self._sized(var, i, text=kind == "string")
        if kind == "enum":
            self.named.setdefault(self.full_name(schema, namespace), schema)
            symbols = self.fresh("SYMBOLS_")
            self.constants[symbols] = tuple(schema["symbols"])
            index = self.fresh("x")
            return [
                *self._long(index, i),
                f"{i}if not 0 <= {index} < {len(schema['symbols'])}: raise Mismatch('enum')",
                f"{i}{var} = {symbols}[{index}]",
            ]
        if kind == "fixed":
            self.named.setdefault(self.full_name(schema, namespace), schema)
            width = int(schema["size"])
            return [
                f"{i}if p + {width} > len(b): raise Mismatch('fixed')",
                f"{i}{var} = b[p:p + {width}]",
                f"{i}p += {width}",
            ]
        if kind in ("array", "map"):
            count, item, key = self.fresh("k"), self.fresh("x"), self.fresh("y")
            inner = i + "        "
            if kind == "array":
                read = self.value(schema["items"], item, namespace, inner)
                store = f"{inner}{var}.append({item})"
            else:
                read = self._sized(key, inner, text=True)
                read += self.value(schema["values"], item, namespace, inner)
                store = f"{inner}{var}[{key}] = {item}"
            return [
                f"{i}{var} = {'[]' if kind == 'array' else '{}'}",
                f"{i}while True:",
                *self._count(count, i + "    "),
                f"{i}    if not {count}: break",
                f"{i}    for _ in range({count}):",
                *read,
                store,
            ]
        if kind == "record":
            function = self.record(schema, namespace)
            return [f"{i}{var}, p = {function}(b, p)"]
        if kind == "union":
            return self._union(
                schema, i, lambda branch, inner: self.value(branch, var, namespace, inner)
            )
        raise Unsupported(f"type {kind}")


class _Planner(_Compiler):
    """Builds the tree of `_avro_native.Node`s the C executor walks: the same schema walk as the
    generated source, so both refuse the same schemas."""

    def __init__(self, module: ModuleType) -> None:
        super().__init__()
        self.native = module
        self.nodes: dict[str, Any] = {}  # record full name -> its node (recursion)

    def node(
        self,
        schema: Any,
        namespace: str,
        fields: frozenset[str] | None = None,
        millis: bool = False,
    ) -> Any:
        """The node of `schema`; a projection's record (`fields`), or with `millis` a timestamp
        (or a union's) read as epoch milliseconds, as `top_value` reads it."""
        schema, kind = self._resolve(schema, namespace)
        Node = self.native.Node
        if kind == "record":
            full = self.full_name(schema, namespace)
            if fields is None and full in self.nodes:
                return self.nodes[full]
            self.named[full] = schema
            node = Node(KINDS["record"])
            if fields is None:
                self.nodes[full] = node
            space = full.rpartition(".")[0]
            names = tuple(str(f["name"]) for f in schema["fields"])
            node.names = names
            node.built = tuple(fields is None or name in fields for name in names)
            node.children = tuple(
                self.node(f["type"], space, millis=fields is not None) for f in schema["fields"]
            )
            return node
        if kind in ("enum", "fixed"):
            self.named.setdefault(self.full_name(schema, namespace), schema)
        if kind == "union":
            branches = tuple(self.node(b, namespace, millis=millis) for b in schema)
            return Node(KINDS[kind], children=branches)
        if kind == "array":
            return Node(KINDS[kind], children=(self.node(schema["items"], namespace),))
        if kind == "map":
            return Node(KINDS[kind], children=(self.node(schema["values"], namespace),))
        if kind == "enum":
            return Node(KINDS[kind], symbols=tuple(schema["symbols"]))
        if kind == "fixed":
            return Node(KINDS[kind], size=int(schema["size"]))
        if kind == "timestamp-millis":
            return Node(KINDS[kind], to_time=None if millis else _to_time)
        if kind not in KINDS:
            raise Unsupported(f"type {kind}")
        return Node(KINDS[kind])


Reader = Callable[[bytes, int], dict[str, Any]]


def compile_reader(
    schema: dict[str, Any], fields: frozenset[str] | None = None, *, compiled_c: bool = True
) -> Reader | None:
    """A function reading a record of `schema` from bytes at an offset, or None. With `fields`,
    the record it gives holds those of its top-level fields only, times as epoch ms. It is the
    C executor's plan when `_avro_native` is built (and `compiled_c`), else generated Python."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    namespace = str(schema.get("namespace", ""))
    if native is not None and compiled_c:
        try:
            plan: Reader = _Planner(native).node(schema, namespace, fields)
        except (Unsupported, KeyError, TypeError, ValueError):
            return None
        return plan
    compiler = _Compiler()
    try:
        if fields is None:
            top = compiler.record(schema, namespace)
        else:
            top = compiler.projected(schema, namespace, fields)
    except (Unsupported, KeyError, TypeError):
        return None
    compiler.sources.append(f"def decode(b, p):\n    return {top}(b, p)[0]\n")
    helpers = {
        "read_long": read_long,
        "EPOCH": EPOCH,
        "timedelta": timedelta,
        "FLOAT": struct.Struct("<f").unpack_from,
        "DOUBLE": struct.Struct("<d").unpack_from,
    }
    reader: Reader = compiler.build("decode", f"reader {schema.get('name')}", helpers)
    return reader
