"""The as-of join of documents to sentiment buckets, with grace and revisions."""

from __future__ import annotations

from typing import Any

from socialstream.processors.sentiment_join.asof import JoinRules, QueryState

H = 3_600_000
RULES = JoinRules(grace_ms=2 * H, max_wait_ms=60_000, retention_ms=48 * H)


def bucket(hour: int, sentiment: float) -> dict[str, Any]:
    return {
        "query_hash": "q",
        "bucket_start": hour * H,
        "bucket_end": (hour + 1) * H,
        "sentiment": sentiment,
        "percentage_positive": 50.0,
        "percentage_negative": 10.0,
        "posts_count": 3,
    }


def doc(name: str) -> dict[str, Any]:
    return {"document_id": name}


def statuses(out: list[dict[str, Any]]) -> list[tuple[str, str, float | None]]:
    return [
        (
            o["document"]["document_id"],
            o["join_status"],
            o["sentiment_bucket"]["sentiment"] if o["sentiment_bucket"] else None,
        )
        for o in out
    ]


def test_a_document_joins_the_bucket_covering_its_time_latest_revision() -> None:
    state = QueryState(None)
    state.add_bucket(bucket(10, 0.1), RULES, now=0)
    state.add_bucket(bucket(10, 0.7), RULES, now=0)  # a revision replaces by start
    state.add_bucket(bucket(11, 0.2), RULES, now=0)
    out = state.add_document(doc("a"), 10 * H + 5, RULES, now=0)
    out += state.add_document(doc("b"), 11 * H, RULES, now=0)  # the start is in the bucket
    assert statuses(out) == [("a", "JOINED", 0.7), ("b", "JOINED", 0.2)]


def test_a_late_bucket_releases_the_documents_waiting_for_it() -> None:
    state = QueryState(None)
    assert state.add_document(doc("a"), 5 * H, RULES, now=0) == []
    assert len(state.pending) == 1
    restored = QueryState(state.stored())  # state survives a restart as stored
    out = restored.add_bucket(bucket(5, -0.4), RULES, now=10)
    assert statuses(out) == [("a", "JOINED", -0.4)]
    assert restored.pending == []


def test_grace_in_event_time_then_in_wall_time() -> None:
    state = QueryState(None)
    state.add_document(doc("old"), 5 * H, RULES, now=0)
    assert statuses(state.add_document(doc("new"), 7 * H - 1, RULES, now=0)) == []
    out = state.add_document(doc("newer"), 7 * H, RULES, now=0)  # the clock passes 5 h + grace
    assert ("old", "GRACE_EXPIRED", None) in statuses(out)
    out = state.add_document(doc("x"), 7 * H, RULES, now=RULES.max_wait_ms)  # waited too long
    assert {s[0] for s in statuses(out)} == {"new", "newer"}
    assert all(s[1] == "GRACE_EXPIRED" for s in statuses(out))


def test_old_buckets_are_forgotten_past_the_retention() -> None:
    state = QueryState(None)
    state.add_bucket(bucket(1, 0.1), RULES, now=0)
    state.add_bucket(bucket(60, 0.1), RULES, now=0)
    assert sorted(state.buckets) == [str(60 * H)]
