"""The join writes a ScoredDocument around the document's own bytes: the same bytes as a whole
encoding, and documents an earlier release decoded whole still write."""

from __future__ import annotations

from base64 import b64encode

from socialstream.processors.sentiment_join.app import BODY_KEY, scored_bytes
from socialstream.runtime.codec import SingleObjectCodec
from tests.sample_records import full_record, plain


def test_a_carried_body_and_a_whole_document_give_the_same_scored_document() -> None:
    codec = SingleObjectCodec()
    document = plain(full_record("document"))
    scored = {**plain(full_record("scored_document")), "document": document}
    whole = codec.encode("scored_document", scored, "t")
    assert scored_bytes(codec, scored, "t") == whole  # no body: the earlier release's path
    body = codec.body(codec.encode("document", document), "document")
    carried = {"document_id": document["document_id"], BODY_KEY: b64encode(body).decode()}
    assert scored_bytes(codec, {**scored, "document": carried}, "t") == whole
    assert plain(codec.decode(whole).value) == scored
