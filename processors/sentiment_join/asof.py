"""The as-of join of documents to sentiment buckets, one query's state at a time.

A document at time `t` joins the bucket with `start <= t < end` (the latest revision of it, as
revisions overwrite by start). When that bucket is not there yet, the document waits until it
arrives, or until the query's event time (the newest document time or bucket end seen for it)
passes the end of the document's bucket plus `grace`, or until the first document waiting for
that bucket has waited `max_wait` of wall-clock time; then it is emitted without sentiment
(GRACE_EXPIRED). Any record of the query can release it, and the sentiment poller publishes a
bucket every interval, so no document waits for ever while the poller runs.

The state is laid out so that a record costs a few small reads and writes whatever the number of
buckets or waiting documents: each bucket under `b:<start>`, each waiting document under
`p:<start>:<n>` with the count under `n:<start>` (`?` for the start while the query's interval is
not known), and a small index (`meta`) of the interval, the clock and which buckets have
documents waiting. `Store` is the key-value view the framework's state gives.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

UNKNOWN = "?"  # the group of documents that came before any bucket (interval unknown)


class Store(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class JoinRules:
    grace_ms: int
    max_wait_ms: int
    retention_ms: int  # buckets ending this long before the query's clock are forgotten


def _same(document: dict[str, Any]) -> dict[str, Any]:
    return document


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


class QueryJoin:
    """The join step for one query, over its state."""

    def __init__(
        self,
        store: Store,
        rules: JoinRules,
        now: int,
        pack: Callable[[dict[str, Any]], dict[str, Any]] = _same,
        unpack: Callable[[dict[str, Any]], dict[str, Any]] = _same,
    ) -> None:
        self.store = store
        self.rules = rules
        self.now = now
        self.pack = pack  # a waiting document as the store holds it, and back
        self.unpack = unpack
        meta = store.get("meta") or {}
        self._saved = meta  # what `save` need not write again
        self.interval: int | None = meta.get("interval")
        self.offset: int = meta.get("offset", 0)
        self.clock: int = meta.get("clock", 0)
        self.oldest: int | None = meta.get("oldest")  # oldest bucket start still stored
        self.waiting: list[list[int]] = list(meta.get("waiting", []))  # sorted [start, since]
        self.unknown_since: int | None = meta.get("unknown_since")

    def save(self) -> None:
        """Write the index back, unless the record left it as it was (most documents that find
        their bucket: the clock had passed their time)."""
        meta = {
            "interval": self.interval,
            "offset": self.offset,
            "clock": self.clock,
            "oldest": self.oldest,
            "waiting": self.waiting,
            "unknown_since": self.unknown_since,
        }
        if meta != self._saved:
            self.store.set("meta", meta)
            self._saved = meta

    def start_of(self, t: int) -> int:
        assert self.interval is not None
        return t - (t - self.offset) % self.interval

    # --- records ----------------------------------------------------------------------------

    def add_bucket(self, bucket: dict[str, Any]) -> list[dict[str, Any]]:
        start = int(bucket["bucket_start"])
        out: list[dict[str, Any]] = []
        if self.interval is None:
            self.interval = int(bucket["bucket_end"]) - start
            self.offset = start % self.interval
            out += self._place_unknown()
        self.store.set(f"b:{start}", bucket)
        self.oldest = start if self.oldest is None else min(self.oldest, start)
        self.clock = max(self.clock, int(bucket["bucket_end"]))
        out += self._release_bucket(start, bucket)
        out += self._expire()
        self._forget_old_buckets()
        return out

    def add_document(self, document: dict[str, Any], t: int) -> list[dict[str, Any]]:
        self.clock = max(self.clock, t)
        out = self._expire()
        if self.interval is None:
            if self.unknown_since is None:
                self.unknown_since = self.now
            self._append(UNKNOWN, document, t)
            return out
        start = self.start_of(t)
        bucket = self.store.get(f"b:{start}")
        if bucket is not None:
            out.append(scored(document, bucket_match(bucket), "JOINED", self.now))
        elif self.clock >= start + self.interval + self.rules.grace_ms:
            out.append(scored(document, None, "GRACE_EXPIRED", self.now))
        else:
            self._wait(start, document, t)
        return out

    # --- waiting documents --------------------------------------------------------------------

    def _append(self, group: int | str, document: dict[str, Any], t: int) -> int:
        """Add a waiting document to a group; returns how many the group held before."""
        count = int(self.store.get(f"n:{group}", 0))
        self.store.set(f"p:{group}:{count}", [self.pack(document), t])
        self.store.set(f"n:{group}", count + 1)
        return count

    def _wait(self, start: int, document: dict[str, Any], t: int) -> None:
        if self._append(start, document, t) == 0:
            bisect.insort(self.waiting, [start, self.now])

    def _take(self, group: int | str) -> list[list[Any]]:
        """Remove and return the documents waiting in a group."""
        count = int(self.store.get(f"n:{group}", 0))
        documents: list[list[Any]] = []
        for n in range(count):
            document, t = self.store.get(f"p:{group}:{n}")
            documents.append([self.unpack(document), t])
            self.store.delete(f"p:{group}:{n}")
        if count:
            self.store.delete(f"n:{group}")
        if group != UNKNOWN:
            self.waiting = [w for w in self.waiting if w[0] != group]
        return documents

    def _release_bucket(self, start: int, bucket: dict[str, Any]) -> list[dict[str, Any]]:
        match = bucket_match(bucket)
        return [scored(d, match, "JOINED", self.now) for d, _ in self._take(start)]

    def _expire(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if (
            self.unknown_since is not None
            and self.now - self.unknown_since >= self.rules.max_wait_ms
        ):
            out += [scored(d, None, "GRACE_EXPIRED", self.now) for d, _ in self._take(UNKNOWN)]
            self.unknown_since = None
        if self.interval is None:
            return out
        due = [
            start
            for start, since in self.waiting
            if self.clock >= start + self.interval + self.rules.grace_ms
            or self.now - since >= self.rules.max_wait_ms
        ]
        for start in due:
            out += [scored(d, None, "GRACE_EXPIRED", self.now) for d, _ in self._take(start)]
        return out

    def _place_unknown(self) -> list[dict[str, Any]]:
        """The interval is known now: file the documents that came before it."""
        documents = self._take(UNKNOWN)
        self.unknown_since = None
        out: list[dict[str, Any]] = []
        for document, t in documents:
            out += self.add_document(document, t)
        return out

    def _forget_old_buckets(self) -> None:
        assert self.interval is not None
        floor = self.clock - self.rules.retention_ms
        if self.oldest is None or self.oldest + self.interval > floor:
            return
        start = self.oldest
        limit = 10_000  # deletions a record at most; the rest on the next ones
        while start + self.interval <= floor and limit:
            self.store.delete(f"b:{start}")
            start += self.interval
            limit -= 1
        self.oldest = start
