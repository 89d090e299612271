"""The as-of join of documents to sentiment buckets, with grace and revisions."""

from __future__ import annotations

import json
from typing import Any

from socialstream.processors.sentiment_join.asof import JoinRules, QueryJoin

H = 3_600_000
RULES = JoinRules(grace_ms=2 * H, max_wait_ms=60_000, retention_ms=48 * H)


class DictStore(dict[str, Any]):
    """The framework's per-key state, as a dict of JSON (as the framework serialises values: what
    is read is a copy, never the object that was written)."""

    writes = 0

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self[key]) if key in self else default

    def set(self, key: str, value: Any) -> None:
        self[key] = json.dumps(value)
        self.writes += 1

    def delete(self, key: str) -> None:
        self.pop(key, None)


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


def step(store: DictStore, now: int, record: dict[str, Any], t: int | None = None) -> list[Any]:
    """One record through the join, state saved, as the processor does it."""
    join = QueryJoin(store, RULES, now)
    out = join.add_bucket(record) if t is None else join.add_document(record, t)
    join.save()
    return [
        (
            o["document"]["document_id"],
            o["join_status"],
            o["sentiment_bucket"]["sentiment"] if o["sentiment_bucket"] else None,
        )
        for o in out
    ]


def doc(name: str) -> dict[str, Any]:
    return {"document_id": name}


def test_a_document_joins_the_bucket_covering_its_time_latest_revision() -> None:
    store = DictStore()
    step(store, 0, bucket(10, 0.1))
    step(store, 0, bucket(10, 0.7))  # a revision replaces by start
    step(store, 0, bucket(11, 0.2))
    assert step(store, 0, doc("a"), 10 * H + 5) == [("a", "JOINED", 0.7)]
    assert step(store, 0, doc("b"), 11 * H) == [("b", "JOINED", 0.2)]  # the start is in


def test_a_late_bucket_releases_the_documents_waiting_for_it() -> None:
    store = DictStore()
    step(store, 0, bucket(4, 0.0))
    assert step(store, 0, doc("a"), 5 * H) == []
    assert step(store, 0, doc("b"), 5 * H + 9) == []
    assert step(store, 5, bucket(5, -0.4)) == [("a", "JOINED", -0.4), ("b", "JOINED", -0.4)]
    assert not [key for key in store if key.startswith(("p:", "n:"))]  # nothing left waiting


def test_documents_before_any_bucket_wait_for_the_interval_to_be_known() -> None:
    store = DictStore()
    assert step(store, 0, doc("early"), 3 * H + 1) == []
    assert step(store, 1, bucket(3, 0.5)) == [("early", "JOINED", 0.5)]


def test_grace_in_event_time_then_in_wall_time() -> None:
    store = DictStore()
    step(store, 0, bucket(1, 0.0))
    assert step(store, 0, doc("old"), 5 * H) == []
    assert step(store, 0, doc("new"), 8 * H - 1) == []  # clock < 6 h (end) + 2 h
    out = step(store, 0, doc("newer"), 8 * H)  # the clock reaches the end of 5 h's bucket + grace
    assert out == [("old", "GRACE_EXPIRED", None)]
    out = step(store, RULES.max_wait_ms, bucket(2, 0.0))  # the others waited too long
    assert sorted(out) == [("new", "GRACE_EXPIRED", None), ("newer", "GRACE_EXPIRED", None)]


def test_old_buckets_are_forgotten_past_the_retention() -> None:
    store = DictStore()
    step(store, 0, bucket(1, 0.1))
    step(store, 0, bucket(60, 0.1))
    assert sorted(k for k in store if k.startswith("b:")) == [f"b:{60 * H}"]


def test_documents_of_a_query_without_buckets_do_not_wait_for_ever() -> None:
    """No bucket ever comes for the query (the poller does not know it): the documents that
    came first are released without sentiment once they have waited max_wait, by the next
    record of the query, and none is lost or emitted twice."""
    store = DictStore()
    assert step(store, 0, doc("a"), 10 * H) == []
    assert step(store, 1_000, doc("b"), 10 * H) == []
    released = step(store, RULES.max_wait_ms + 1, doc("c"), 10 * H)
    assert released == [("a", "GRACE_EXPIRED", None), ("b", "GRACE_EXPIRED", None)]
    later = step(store, 2 * RULES.max_wait_ms + 2, doc("d"), 10 * H)
    assert later == [("c", "GRACE_EXPIRED", None)]
    assert step(store, 2 * RULES.max_wait_ms + 3, bucket(10, 0.5)) == [("d", "JOINED", 0.5)]


def test_a_document_that_leaves_the_index_as_it_was_writes_nothing() -> None:
    store = DictStore()
    step(store, 0, bucket(10, 0.5))
    step(store, 0, {"document_id": "late"}, 10 * H + 2)  # the clock moves: the index is written
    writes = store.writes
    step(store, 0, {"document_id": "early"}, 10 * H + 1)  # joins; clock and waits unchanged
    assert store.writes == writes
    step(store, 0, {"document_id": "waits"}, 9 * H)  # no bucket 9 yet: only the waits change
    assert QueryJoin(store, RULES, 0).waiting == [[9 * H, 0]]
