"""The as-of join of documents to sentiment buckets, one query's state at a time.

Pure logic over a small state (the query's buckets, the documents waiting for theirs, the
query's event-time clock), so the stream-processing framework only stores and restores it.

A document at time `t` joins the bucket with `start <= t < end` (the latest revision of it, as
revisions overwrite by start). When that bucket is not there yet, the document waits until it
arrives, or until the query's event time (the newest document time or bucket end seen for it)
passes `t + grace`, or until it has waited `max_wait` of wall-clock time; then it is emitted
without sentiment (GRACE_EXPIRED). Any record of the query can release it, and the sentiment
poller publishes a bucket every interval, so no document waits for ever while the poller runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JoinRules:
    grace_ms: int
    max_wait_ms: int
    retention_ms: int  # buckets ending this long before the query's clock are forgotten


def document_time(document: dict[str, Any], fallback: int) -> int:
    return int(document.get("published_at") or document.get("indexed_at") or fallback)


def bucket_match(bucket: dict[str, Any]) -> dict[str, Any]:
    """The `SentimentMatch` of a bucket."""
    return {
        "query_hash": bucket["query_hash"],
        "bucket_start": bucket["bucket_start"],
        "sentiment": bucket.get("sentiment"),
        "percentage_positive": bucket.get("percentage_positive"),
        "percentage_negative": bucket.get("percentage_negative"),
        "posts_count": bucket.get("posts_count"),
    }


def scored(
    document: dict[str, Any], match: dict[str, Any] | None, status: str, now: int
) -> dict[str, Any]:
    return {
        "document": document,
        "sentiment_bucket": match,
        "summary": None,
        "join_status": status,
        "scored_at": now,
    }


class QueryState:
    """One query's buckets, waiting documents and clock, as stored between records."""

    def __init__(self, stored: dict[str, Any] | None) -> None:
        stored = stored or {}
        self.buckets: dict[str, dict[str, Any]] = stored.get("buckets", {})
        self.pending: list[list[Any]] = stored.get("pending", [])  # [document, t, waiting since]
        self.clock: int = int(stored.get("clock", 0))

    def stored(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "pending": self.pending, "clock": self.clock}

    def covering(self, t: int) -> dict[str, Any] | None:
        for bucket in self.buckets.values():
            if bucket["bucket_start"] <= t < bucket["bucket_end"]:
                return bucket
        return None

    def add_bucket(
        self, bucket: dict[str, Any], rules: JoinRules, now: int
    ) -> list[dict[str, Any]]:
        self.buckets[str(bucket["bucket_start"])] = bucket
        self.clock = max(self.clock, int(bucket["bucket_end"]))
        released = self._release(rules, now)
        floor = self.clock - rules.retention_ms
        self.buckets = {k: b for k, b in self.buckets.items() if b["bucket_end"] > floor}
        return released

    def add_document(
        self, document: dict[str, Any], t: int, rules: JoinRules, now: int
    ) -> list[dict[str, Any]]:
        self.clock = max(self.clock, t)
        bucket = self.covering(t)
        out = self._release(rules, now)
        if bucket is not None:
            out.append(scored(document, bucket_match(bucket), "JOINED", now))
        elif self.clock >= t + rules.grace_ms:
            out.append(scored(document, None, "GRACE_EXPIRED", now))
        else:
            self.pending.append([document, t, now])
        return out

    def _release(self, rules: JoinRules, now: int) -> list[dict[str, Any]]:
        out, waiting = [], []
        for document, t, since in self.pending:
            bucket = self.covering(t)
            if bucket is not None:
                out.append(scored(document, bucket_match(bucket), "JOINED", now))
            elif self.clock >= t + rules.grace_ms or now - since >= rules.max_wait_ms:
                out.append(scored(document, None, "GRACE_EXPIRED", now))
            else:
                waiting.append([document, t, since])
        self.pending = waiting
        return out
