"""Write-back's parts without a broker: the mapping, request packing, the per-partition commit
order, and reading the documents API's answers (against the simulator's real HTTP server)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest

from socialstream.processors.writeback.batching import (
    PartitionLog,
    Pending,
    offsets_after,
    pack,
    request_body,
)
from socialstream.processors.writeback.client import (
    DocumentsClient,
    RequestFailure,
    Verdict,
    classify,
    read_bulk_answer,
)
from socialstream.processors.writeback.mapping import (
    Operation,
    Reject,
    Skip,
    operation_for,
    vendor_scale,
)
from socialstream.runtime.settings import TalkwalkerSettings, WritebackSettings
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.records import scored_documents
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator


def scored(**document: Any) -> dict[str, Any]:
    base = {
        "document_id": "tw:1",
        "source": "TALKWALKER",
        "url": "https://example.com/1",
        "title": "A title",
        "text": "Some content",
        "published_at": 1_700_000_000_000,
        "language": "en",
        "vendor_sentiment": None,
        "reach": 10,
        "engagement": 3,
    }
    base.update(document)
    return {
        "document": base,
        "sentiment_bucket": {"sentiment": 0.5},
        "join_status": "JOINED",
    }


def body_of(operation: Operation) -> dict[str, Any]:
    decoded = orjson.loads(operation.encoded)
    assert list(decoded) == [operation.operation]
    result: dict[str, Any] = decoded[operation.operation]
    return result


def test_mapping_sends_the_writable_fields_and_the_joined_sentiment() -> None:
    body = body_of(operation_for(scored(), WritebackSettings()))
    assert body == {
        "url": "https://example.com/1",
        "title": "A title",
        "content": "Some content",
        "published": 1_700_000_000_000,
        "lang": "en",
        "sentiment": 2,  # the bucket's 0.5 on Talkwalker's -5..5 scale, rounded
        "reach": 10,
        "engagement": 3,
        "+tags_customer": ["socialstream/sentiment/positive"],
    }
    assert vendor_scale(-1.0) == -5 and vendor_scale(3.0) == 5


def test_mapping_prefers_the_vendors_sentiment_and_keeps_only_the_chosen_fields() -> None:
    settings = WritebackSettings(fields=["content", "published", "sentiment"])
    body = body_of(operation_for(scored(vendor_sentiment=-0.4), settings))
    assert body == {
        "url": "https://example.com/1",
        "content": "Some content",
        "published": 1_700_000_000_000,
        "sentiment": -2,
    }


def test_mapping_filters_and_rejects_with_reasons() -> None:
    settings = WritebackSettings(sources=["TALKWALKER"])
    with pytest.raises(Skip, match="INSIGHTSTRACK"):
        operation_for(scored(source="INSIGHTSTRACK"), settings)
    with pytest.raises(Reject, match="no url"):
        operation_for(scored(url=None), settings)
    with pytest.raises(Reject, match="content"):
        operation_for(scored(text=""), settings)
    update = body_of(operation_for(scored(text=""), WritebackSettings(operation="update")))
    assert "content" not in update  # an update may leave the content as it is


def test_content_is_cut_to_the_configured_length() -> None:
    long = "x" * 60_000
    assert len(body_of(operation_for(scored(text=long), WritebackSettings()))["content"]) == 50_000
    whole = WritebackSettings(content_max_chars=None)
    assert len(body_of(operation_for(scored(text=long), whole))["content"]) == 60_000


def test_settings_refuse_a_create_without_its_required_fields() -> None:
    with pytest.raises(ValueError, match="content and published"):
        WritebackSettings(fields=["title"])
    with pytest.raises(ValueError, match="unknown"):
        WritebackSettings(fields=["content", "published", "titel"])


def pending(offset: int, url: str, size: int = 10, partition: int = 0) -> Pending:
    item = Pending("t", partition, offset, b"", None, None, url=url)
    item.operation = Operation(f"id{offset}", url, "create", b"x" * size)
    return item


def test_pack_fills_to_the_byte_limit_and_never_repeats_or_races_a_url() -> None:
    items = [pending(n, f"u{n}", 100) for n in range(10)]
    batch = pack(items, max_bytes=2 + 5 * 101 - 1, max_operations=100, busy_urls=set())
    assert [p.offset for p in batch] == [0, 1, 2, 3, 4]
    assert len(request_body(p.operation.encoded for p in batch if p.operation)) <= 2 + 5 * 101 - 1
    same = [pending(0, "a"), pending(1, "a"), pending(2, "b")]
    assert [p.offset for p in pack(same, 10_000, 100, set())] == [0, 2]
    assert [p.offset for p in pack(same, 10_000, 100, {"a"})] == [2]
    assert len(pack(items, 10_000, 3, set())) == 3


def test_offsets_advance_only_past_final_records() -> None:
    log = PartitionLog()
    items = [pending(n, f"u{n}") for n in range(5)]
    for item in items:
        log.add(item)
    items[0].finish("OK")
    items[2].finish("OK")
    done = log.pop_final()
    assert [p.offset for p in done] == [0]
    assert offsets_after(done) == {("t", 0): 1}
    items[1].finish("FAILED")
    assert offsets_after(log.pop_final()) == {("t", 0): 3}  # 1 and 2; 3 is not final
    assert log.pop_final() == []


def test_operation_codes_are_read_against_the_vendor_table() -> None:
    assert classify("0", "").verdict is Verdict.OK
    assert classify("1", "Internal Server Error").verdict is Verdict.RETRYABLE
    assert classify("8", "").verdict is Verdict.RETRYABLE
    assert classify("16", "bad").verdict is Verdict.PERMANENT
    assert classify("3", "missing").verdict is Verdict.PERMANENT


def test_answers_out_of_order_are_matched_by_url_and_a_missing_one_is_retried() -> None:
    payload = {
        "status_code": "49",
        "result_bulk": {
            "data": [
                {"create": {"url": "b", "status_code": "16", "status_message": "no"}},
                {"create": {"url": "a", "status_code": "0"}},
            ]
        },
    }
    outcome = read_bulk_answer(payload, ["a", "b", "c"])
    assert outcome.results is not None
    assert [r.verdict for r in outcome.results] == [
        Verdict.OK,
        Verdict.PERMANENT,
        Verdict.RETRYABLE,
    ]
    assert read_bulk_answer({"status_code": "0"}, ["a"]).results == [classify("0", "")]
    assert read_bulk_answer("not json", ["a"]).failure is RequestFailure.RETRY_LATER


def test_the_client_against_the_simulator() -> None:
    plan = FaultPlan().add(
        Fault(FaultKind.STATUS, path="/api/v2/docs", request=2, status=503, retry_after="7")
    )
    with TalkwalkerSimulator(Corpus(), plan=plan) as sim:
        sim.documents.fail("u2", "1", times=1)
        settings = TalkwalkerSettings(base_url=sim.url, access_token=sim.token)
        client = DocumentsClient(settings, WritebackSettings(project_id=sim.project_id))
        ops = [
            json.dumps({"create": {"url": u, "content": "c", "published": 1}}).encode()
            for u in ("u1", "u2")
        ]
        first = client.bulk(request_body(ops), ["u1", "u2"])
        assert first.results is not None
        assert [r.verdict for r in first.results] == [Verdict.OK, Verdict.RETRYABLE]
        unavailable = client.bulk(request_body(ops), ["u1", "u2"])
        assert unavailable.failure is RequestFailure.RETRY_LATER
        assert unavailable.retry_after_s == 7.0
        big = client.bulk(b"[" + b" " * (5120 * 1024) + b"]", [])
        assert big.failure is RequestFailure.SPLIT and "413" in big.reason
        bad_token = DocumentsClient(
            TalkwalkerSettings(base_url=sim.url, access_token="wrong-token"),
            WritebackSettings(project_id=sim.project_id),
        )
        refused = bad_token.bulk(request_body(ops), ["u1", "u2"])
        assert refused.failure is RequestFailure.STOP and "access token" in refused.reason
        assert "wrong-token" not in refused.reason
        assert set(sim.documents.live()) == {"u1"}


def test_scored_documents_for_tests_are_valid_records() -> None:
    from socialstream.runtime.codec import SingleObjectCodec

    docs = scored_documents(Corpus(seed=3, timeframes=1, per_timeframe=30))
    codec = SingleObjectCodec()
    for doc in docs:
        assert codec.decode(codec.encode("scored_document", doc)).value["join_status"] in (
            "JOINED",
            "NO_SENTIMENT",
        )


def test_a_network_failure_is_retried_later_not_failed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = DocumentsClient(
        TalkwalkerSettings(base_url="http://127.0.0.1:9", access_token="t"),
        WritebackSettings(project_id="p"),
        transport=httpx.MockTransport(refuse),
    )
    assert client.bulk(b"[]", []).failure is RequestFailure.RETRY_LATER
