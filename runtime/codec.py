"""Avro on the wire, in one of two encodings every Avro consumer understands.

* Without a schema registry: Avro single-object encoding (`C3 01`, the 8-byte little-endian
  CRC-64-AVRO fingerprint of the schema's canonical form, then the binary body). Any Avro library
  decodes it with the shipped `.avsc` files; `SingleObjectCodec().decode(value)` does it here.
* With `SCHEMA_REGISTRY_URL`: Confluent wire format (`00`, a 4-byte big-endian schema id, the
  body), schemas registered under `<topic>-value` with BACKWARD compatibility.

Decoding resolves the writer's schema against the current shipped schema of the same name, so
records written by an older release read with today's fields and defaults.
"""

from __future__ import annotations

import io
import json
import struct
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from socialstream.runtime.avro_reader import Reader, compile_reader
from socialstream.runtime.avro_writer import Encoder, compile_encoder
from socialstream.runtime.lenient import epoch_ms
from socialstream.schemas import BASELINE_DIR, full_name, load_schema, schema_names

if TYPE_CHECKING:
    from socialstream.runtime.settings import Settings

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class DecodeError(ValueError):
    """Bytes that are not a record this codec can read (wrong magic, unknown schema, bad body)."""


class Decoded(NamedTuple):
    """A decoded record: the Avro full name of its schema and its value (a tuple: processors
    decode one a record)."""

    schema: str
    value: dict[str, Any]


class Codec(Protocol):
    """What producers and consumers need from an encoding."""

    def encode(self, schema_name: str, record: dict[str, Any], topic: str) -> bytes: ...

    def decode(
        self, data: bytes, topic: str | None = None, fields: frozenset[str] | None = None
    ) -> Decoded:
        """The record in `data`; with `fields`, at least those of its top-level fields, their
        timestamps as epoch milliseconds (a processor that needs a few fields of a large record
        skips building the rest, and wants times as numbers)."""
        ...

    def body(self, data: bytes, schema_name: str) -> bytes:
        """The Avro body of the record in `data` as the shipped `schema_name` writes it: the
        bytes themselves when it was written so, else decoded and written again."""
        ...

    def frame(self, schema_name: str, body: bytes, topic: str) -> bytes:
        """A record of `schema_name` whose Avro body is `body`, framed as `encode` frames it."""
        ...


def _parse(schema: dict[str, Any]) -> Any:
    return fastavro.parse_schema(schema)


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The CRC-64-AVRO fingerprint of a schema's canonical form, as single-object encoding
    writes it."""
    # fastavro returns the CRC-64-AVRO value as little-endian hex, the byte order the spec wants.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


# Where a record has ["null", <record>] fields: (field, branch full name, plan for the branch).
UnionPlan = list[tuple[str, str | None, "UnionPlan"]]


def _union_plan(schema: Any, namespace: str = "", named: dict[str, Any] | None = None) -> UnionPlan:
    """Find the nullable-record fields of a record schema (recursively).

    fastavro validates a whole record to choose a union branch before writing it, which doubled
    the cost of our nested records; naming the branch (fastavro's `(name, value)` form) skips that.
    """
    named = {} if named is None else named
    plan: UnionPlan = []
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return plan
    namespace = schema.get("namespace", namespace)
    named[f"{namespace}.{schema['name']}".lstrip(".")] = schema
    for field in schema["fields"]:
        kind = field["type"]
        branches = kind if isinstance(kind, list) else [kind]
        records = []
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") == "record":
                records.append(branch)
                named[f"{branch.get('namespace', namespace)}.{branch['name']}".lstrip(".")] = branch
            elif isinstance(branch, str):
                known = named.get(branch) or named.get(f"{namespace}.{branch}")
                if known is not None:
                    records.append(known)
        if len(records) != 1:
            continue
        record = records[0]
        full = f"{record.get('namespace', namespace)}.{record['name']}".lstrip(".")
        sub = _union_plan(record, record.get("namespace", namespace), named)
        if isinstance(kind, list):
            plan.append((field["name"], full, sub))
        elif sub:
            plan.append((field["name"], None, sub))
    return plan


def _hinted(record: dict[str, Any], plan: UnionPlan) -> dict[str, Any]:
    """A shallow copy of `record` with each nullable-record value as `(branch name, value)`."""
    out = dict(record)
    for name, branch, sub in plan:
        value = out.get(name)
        if not isinstance(value, dict):
            continue
        if sub:
            value = _hinted(value, sub)
        out[name] = (branch, value) if branch is not None else value
    return out


def _body(
    parsed: Any,
    record: dict[str, Any],
    plan: UnionPlan | None = None,
    compiled: Encoder | None = None,
) -> bytes:
    if compiled is not None:
        try:
            return compiled(record)
        except Exception:  # noqa: S110 - not a record it writes exactly: fastavro decides
            pass
    out = io.BytesIO()
    try:
        fastavro.schemaless_writer(out, parsed, _hinted(record, plan) if plan else record)
    except UnicodeEncodeError:
        # JSON may escape half a surrogate pair ("\ud800"), which UTF-8 cannot hold: replace
        # such halves (U+FFFD) and write again. Only failing records pay for the walk.
        out = io.BytesIO()
        scrubbed = _scrub(record)
        fastavro.schemaless_writer(out, parsed, _hinted(scrubbed, plan) if plan else scrubbed)
    return out.getvalue()


def _scrub(value: Any) -> Any:
    """`value` with every string made UTF-8 encodable (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _read_body(
    payload: bytes,
    writer: Any,
    reader: Any | None,
    compiled: Reader | None = None,
    start: int = 0,
    millis: bool = False,
) -> dict[str, Any]:
    """The record in `payload[start:]`: read by the compiled reader when the bytes were written
    with the shipped schema, else (or when it refuses) by fastavro. `millis`: top-level times as
    epoch milliseconds, as a projection gives them."""
    if compiled is not None:
        try:
            return compiled(payload, start)
        except Exception:  # noqa: S110 - not bytes it reads exactly: fastavro decides
            pass
    if start:
        payload = payload[start:]
    try:
        value = fastavro.schemaless_reader(io.BytesIO(payload), writer, reader)
    except Exception as exc:  # fastavro raises many types on corrupt bytes
        raise DecodeError(f"corrupt Avro body: {type(exc).__name__}: {exc}") from None
    if not isinstance(value, dict):
        raise DecodeError("Avro body is not a record")
    if millis:
        return {k: epoch_ms(v) if isinstance(v, datetime) else v for k, v in value.items()}
    return value


def field_encoder(schema_name: str, first: int) -> Callable[[dict[str, Any]], bytes]:
    """Writes the fields of a shipped record schema from position `first` on. A record's Avro
    body is its fields' bodies in order, so a processor that holds the first fields' bytes (the
    sentiment join, a whole `Document`) writes only the rest of the record."""
    key = (schema_name, first)
    if key not in _field_encoders:
        schema = load_schema(schema_name)
        tail = {
            **schema,
            "name": f"{schema['name']}From{first}",
            "fields": schema["fields"][first:],
        }
        parsed, plan, compiled = _parse(tail), _union_plan(tail), compile_encoder(tail)
        _field_encoders[key] = lambda record: _body(parsed, record, plan, compiled)
    return _field_encoders[key]


_field_encoders: dict[tuple[str, int], Callable[[dict[str, Any]], bytes]] = {}


class _ShippedSchemas:
    """The shipped schemas parsed once: by name, by full name and by fingerprint."""

    def __init__(self) -> None:
        self.by_name: dict[str, Any] = {}
        self.by_full_name: dict[str, Any] = {}
        self.fingerprints: dict[str, bytes] = {}
        self.by_fingerprint: dict[bytes, tuple[str, Any]] = {}
        self.union_plans: dict[str, UnionPlan] = {}
        self.compiled: dict[str, Encoder | None] = {}
        self.readers: dict[bytes, Reader | None] = {}  # by fingerprint: shipped schemas only
        self._raw: dict[bytes, dict[str, Any]] = {}
        self._projections: dict[tuple[bytes, frozenset[str]], Reader | None] = {}
        for name in schema_names():
            raw = load_schema(name)
            parsed = _parse(raw)
            self.by_name[name] = parsed
            self.union_plans[name] = _union_plan(raw)
            self.compiled[name] = compile_encoder(raw)
            self.by_full_name[full_name(name)] = parsed
            fp = schema_fingerprint(raw)
            self.fingerprints[name] = fp
            self.by_fingerprint[fp] = (full_name(name), parsed)
            self.readers[fp] = compile_reader(raw)
            self._raw[fp] = raw
        # Older released versions stay decodable after a compatible change.
        for path in BASELINE_DIR.glob("*.avsc"):
            raw = json.loads(path.read_text(encoding="utf-8"))
            fp = schema_fingerprint(raw)
            if fp not in self.by_fingerprint:
                name = f"{raw.get('namespace', '')}.{raw['name']}".lstrip(".")
                self.by_fingerprint[fp] = (name, _parse(raw))

    def reader(self, fp: bytes, fields: frozenset[str] | None) -> Reader | None:
        """The compiled reader of a shipped schema, projected to `fields` if given (compiled on
        first use: a race compiles it twice, harmlessly)."""
        if fields is None or fp not in self._raw:
            return self.readers.get(fp)
        key = (fp, fields)
        if key not in self._projections:
            self._projections[key] = compile_reader(self._raw[fp], fields)
        return self._projections[key]

    def write_body(self, schema_name: str, record: dict[str, Any]) -> bytes:
        """The Avro body of `record` in the shipped schema `schema_name`."""
        parsed = self.parsed(schema_name)
        return _body(parsed, record, self.union_plans[schema_name], self.compiled[schema_name])

    def parsed(self, schema_name: str) -> Any:
        try:
            return self.by_name[schema_name]
        except KeyError:
            raise KeyError(f"no schema named {schema_name!r}") from None


_shipped: _ShippedSchemas | None = None
_shipped_lock = threading.Lock()


def shipped() -> _ShippedSchemas:
    global _shipped
    with _shipped_lock:
        if _shipped is None:
            _shipped = _ShippedSchemas()
        return _shipped


class SingleObjectCodec:
    """Avro single-object encoding with the shipped schemas; needs no registry."""

    def __init__(self) -> None:
        self._schemas = shipped()

    def encode(self, schema_name: str, record: dict[str, Any], topic: str = "") -> bytes:
        return self.frame(schema_name, self._schemas.write_body(schema_name, record))

    def decode(
        self, data: bytes, topic: str | None = None, fields: frozenset[str] | None = None
    ) -> Decoded:
        if len(data) < 10 or data[:2] != SINGLE_OBJECT_MAGIC:
            raise DecodeError("not Avro single-object encoded (missing C3 01 marker)")
        found = self._schemas.by_fingerprint.get(data[2:10])
        if found is None:
            raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()}")
        name, writer = found
        reader = self._schemas.by_full_name.get(name)
        compiled = self._schemas.reader(data[2:10], fields)
        millis = fields is not None
        return Decoded(name, _read_body(data, writer, reader, compiled, 10, millis))

    def body(self, data: bytes, schema_name: str) -> bytes:
        if (
            data[2:10] == self._schemas.fingerprints[schema_name]
            and data[:2] == SINGLE_OBJECT_MAGIC
        ):
            return data[10:]
        return self._schemas.write_body(schema_name, self.decode(data).value)

    def frame(self, schema_name: str, body: bytes, topic: str = "") -> bytes:
        return SINGLE_OBJECT_MAGIC + self._schemas.fingerprints[schema_name] + body


class ConfluentCodec:
    """Confluent wire format through confluent-kafka's Schema Registry client."""

    def __init__(
        self, url: str, basic_auth_user_info: str | None = None, auto_register: bool = True
    ) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        config: dict[str, Any] = {"url": url}
        if basic_auth_user_info:
            config["basic.auth.user.info"] = basic_auth_user_info
        self._client = SchemaRegistryClient(config)
        self._auto_register = auto_register
        self._schemas = shipped()
        self._ids: dict[tuple[str, str], int] = {}
        self._writers: dict[int, tuple[str, Any, bytes]] = {}
        self._lock = threading.Lock()

    def _schema_id(self, schema_name: str, topic: str) -> int:
        from confluent_kafka.schema_registry import Schema

        key = (schema_name, topic)
        with self._lock:
            cached = self._ids.get(key)
        if cached is not None:
            return cached
        subject = f"{topic}-value"
        schema = Schema(json.dumps(load_schema(schema_name)), "AVRO")
        if self._auto_register:
            self._client.set_compatibility(subject_name=subject, level="BACKWARD")
            schema_id = self._client.register_schema(subject, schema)
        else:
            schema_id = self._client.lookup_schema(subject, schema).schema_id
        with self._lock:
            self._ids[key] = int(schema_id)
        return int(schema_id)

    def encode(self, schema_name: str, record: dict[str, Any], topic: str) -> bytes:
        return self.frame(schema_name, self._schemas.write_body(schema_name, record), topic)

    def frame(self, schema_name: str, body: bytes, topic: str) -> bytes:
        return CONFLUENT_MAGIC + struct.pack(">I", self._schema_id(schema_name, topic)) + body

    def _writer(self, data: bytes) -> tuple[str, Any, bytes]:
        """(full name, parsed schema, fingerprint) of the schema `data` was written with."""
        if len(data) < 5 or data[:1] != CONFLUENT_MAGIC:
            raise DecodeError("not Confluent wire format (missing magic byte 0)")
        (schema_id,) = struct.unpack(">I", data[1:5])
        with self._lock:
            found = self._writers.get(schema_id)
        if found is None:
            registered = self._client.get_schema(schema_id)
            raw = json.loads(registered.schema_str)
            name = f"{raw.get('namespace', '')}.{raw['name']}".lstrip(".")
            found = (name, _parse(raw), schema_fingerprint(raw))  # a shipped schema's twin compiles
            with self._lock:
                self._writers[schema_id] = found
        return found

    def body(self, data: bytes, schema_name: str) -> bytes:
        if self._writer(data)[2] == self._schemas.fingerprints[schema_name]:
            return data[5:]
        return self._schemas.write_body(schema_name, self.decode(data).value)

    def decode(
        self, data: bytes, topic: str | None = None, fields: frozenset[str] | None = None
    ) -> Decoded:
        name, writer, fp = self._writer(data)
        reader = self._schemas.by_full_name.get(name)
        compiled = self._schemas.reader(fp, fields)
        millis = fields is not None
        return Decoded(name, _read_body(data, writer, reader, compiled, 5, millis))


def codec_from_settings(settings: Settings) -> Codec:
    """The codec the settings ask for (registry URL and credentials included)."""
    registry = settings.schema_registry
    auth = registry.basic_auth_user_info
    return codec_for(registry.url, auth.get_secret_value() if auth else None)


def codec_for(schema_registry_url: str | None, basic_auth_user_info: str | None = None) -> Codec:
    """The Confluent codec when a registry URL is configured, single-object encoding otherwise."""
    if schema_registry_url:
        return ConfluentCodec(schema_registry_url, basic_auth_user_info)
    return SingleObjectCodec()
