"""A document carried through the join as its own Avro body, and how that crosses Kafka and state.

The join decodes five fields of a document and writes the rest out as it came in, so each
document value holds its body as bytes under `BODY_KEY`. On the join's repartition topics a value
is its JSON without the body, a newline (JSON from orjson holds none) and then the body's bytes:
a base64 string inside the JSON cost more to write and read than the rest of the value. The
framework's state holds JSON only, so a document waiting there keeps its body as base64 (as every
earlier release wrote it, which `unpack` therefore also reads).
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from typing import Any

import orjson
from quixstreams.models.serializers import (
    Deserializer,
    SerializationContext,
    Serializer,
)

BODY_KEY = "_body"  # a document's Avro body, written out as it came in


def document_of(value: dict[str, Any]) -> dict[str, Any] | None:
    """The document a join value holds: a decoded input's (`{"kind", "value"}`) or a scored
    document's (`{"document", ...}`); None for a bucket or a dead letter."""
    if "kind" in value:
        return value["value"] if value["kind"] == "document" else None
    document: dict[str, Any] | None = value.get("document")
    return document


def body_of(document: dict[str, Any]) -> bytes | None:
    """A document's Avro body; None for one an earlier release decoded whole."""
    body = document.get(BODY_KEY)
    return b64decode(body) if isinstance(body, str) else body


def pack(document: dict[str, Any]) -> dict[str, Any]:
    """A document as the framework's JSON state can hold it."""
    body = document.get(BODY_KEY)
    if not isinstance(body, bytes):
        return document
    return {**document, BODY_KEY: b64encode(body).decode("ascii")}


def unpack(document: dict[str, Any]) -> dict[str, Any]:
    """A document read back from state, its body as bytes again."""
    body = document.get(BODY_KEY)
    if isinstance(body, str):
        document[BODY_KEY] = b64decode(body)
    return document


class CarriedSerializer(Serializer):
    """A join value for a repartition topic: JSON, a newline, then the document's body."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        document = document_of(value)
        body = document.get(BODY_KEY) if document is not None else None
        if document is None or not isinstance(body, bytes):
            return orjson.dumps(value) + b"\n"
        rest = {k: v for k, v in document.items() if k != BODY_KEY}
        holder = "value" if "kind" in value else "document"
        return orjson.dumps({**value, holder: rest}) + b"\n" + body


class CarriedDeserializer(Deserializer):
    """The join value a `CarriedSerializer` wrote (or an earlier release's plain JSON)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def __call__(self, value: bytes, ctx: SerializationContext) -> Any:
        head, newline, body = value.partition(b"\n")
        item = orjson.loads(head)
        document = document_of(item)
        if document is not None:
            if newline and body:
                document[BODY_KEY] = body
            else:
                unpack(document)
        return item
