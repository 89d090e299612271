"""The join writes a ScoredDocument around the document's own bytes: the same bytes as a whole
encoding, and documents an earlier release decoded whole still write."""

from __future__ import annotations

import json
from base64 import b64encode
from typing import Any

import pytest
from quixstreams.models.serializers import SerializationContext

from socialstream.processors.sentiment_join.app import scored_bytes
from socialstream.processors.sentiment_join.carried import (
    BODY_KEY,
    CarriedDeserializer,
    CarriedSerializer,
    pack,
    unpack,
)
from socialstream.runtime.codec import SingleObjectCodec
from tests.sample_records import full_record, plain


def test_a_carried_body_and_a_whole_document_give_the_same_scored_document() -> None:
    codec = SingleObjectCodec()
    document = plain(full_record("document"))
    scored = {**plain(full_record("scored_document")), "document": document}
    whole = codec.encode("scored_document", scored, "t")
    assert scored_bytes(codec, scored, "t") == whole  # no body: the earlier release's path
    body = codec.body(codec.encode("document", document), "document")
    carried = {"document_id": document["document_id"], BODY_KEY: body}
    assert scored_bytes(codec, {**scored, "document": carried}, "t") == whole
    stored = {"document_id": document["document_id"], BODY_KEY: b64encode(body).decode()}
    assert scored_bytes(codec, {**scored, "document": stored}, "t") == whole  # from older state
    assert plain(codec.decode(whole).value) == scored


BODY = bytes(range(256)) + b"\n{not json}\n"  # any bytes: newlines and braces included
VALUES = {
    "a document": {"kind": "document", "value": {"document_id": "tw:1", BODY_KEY: BODY}},
    "a scored document": {
        "document": {"document_id": "x:2", "source": "INSIGHTSTRACK", BODY_KEY: BODY},
        "sentiment_bucket": None,
        "join_status": "NO_SENTIMENT",
        "scored_at": 5,
    },
    "a bucket": {"kind": "bucket", "value": {"query_hash": "q", "bucket_start": 0}},
    "a document of an earlier release": {"kind": "document", "value": {"document_id": "tw:3"}},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_repartitioned_values_come_back_as_they_went(value: dict[str, Any]) -> None:
    ctx = SerializationContext("repartition", "value")
    written = CarriedSerializer()(value, ctx)
    assert b64encode(BODY) not in written  # the body is carried as it is, not as base64
    assert CarriedDeserializer()(written, ctx) == value


def test_a_value_an_earlier_release_repartitioned_as_json_still_reads() -> None:
    ctx = SerializationContext("repartition", "value")
    old = {"kind": "document", "value": {"document_id": "tw:1", BODY_KEY: b64encode(BODY).decode()}}
    assert CarriedDeserializer()(json.dumps(old).encode(), ctx) == VALUES["a document"]


def test_a_waiting_document_is_stored_as_json_and_read_back_with_its_body() -> None:
    document = {"document_id": "tw:1", BODY_KEY: BODY}
    stored = json.loads(json.dumps(pack(document)))
    assert unpack(stored) == document
