"""Packing operations into bulk requests, and the per-partition order offsets are committed in.

A request is a JSON array of encoded operations, at most `max_bytes` long (the vendor refuses
more than 5120 kB) and `max_operations` long; one document appears at most once in it (the
vendor does not order operations inside a request). A partition's offset only advances past a
record whose outcome is final, so a crash resends what was not final but never skips it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from socialstream.processors.writeback.mapping import Operation


@dataclass(slots=True, eq=False)
class Pending:
    """One input record on its way to a final outcome."""

    topic: str
    partition: int
    offset: int
    raw: bytes
    key: bytes | None
    position: str | None  # the input's source_position header, for lineage
    traceparent: str | None = None  # the input's trace, continued by the outcome's span
    received_ns: int = 0  # wall-clock time read, the start of that span (when tracing)
    document_id: str = ""
    url: str = ""
    operation: Operation | None = None
    queued_at: float = 0.0  # monotonic time it became ready to send
    requests: int = 0  # requests it was in
    failures: int = 0  # retryable per-operation failures so far
    not_before: float = 0.0  # monotonic time before which it is not resent
    in_flight: bool = False
    final: bool = False
    outcome: str = ""  # OK, FAILED or SKIPPED once final
    code: str | None = None
    message: str | None = None
    dead_reason: str | None = None  # set when it goes to writeback.dlq
    dead_class: str = ""
    revoked: bool = False  # its partition went to another instance: forget it

    def finish(self, outcome: str, code: str | None = None, message: str | None = None) -> None:
        self.final, self.outcome, self.code, self.message = True, outcome, code, message
        self.in_flight = False


def request_body(operations: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(operations) + b"]"


def fits_alone(operation: Operation, max_bytes: int) -> bool:
    return len(operation.encoded) + 2 <= max_bytes


def pack(
    ready: Iterable[Pending], max_bytes: int, max_operations: int, busy_urls: set[str]
) -> list[Pending]:
    """The next request's records, in order: as many as fit, each URL once, none whose URL
    is in a request already in flight (so two writes of a document never race)."""
    batch: list[Pending] = []
    urls: set[str] = set()
    size = 2  # the brackets
    for item in ready:
        op = item.operation
        assert op is not None
        if op.url in urls or op.url in busy_urls:
            continue
        extra = len(op.encoded) + (1 if batch else 0)
        if size + extra > max_bytes:
            break
        batch.append(item)
        urls.add(op.url)
        size += extra
        if len(batch) >= max_operations:
            break
    return batch


@dataclass
class PartitionLog:
    """A partition's records in offset order, until their outcome is final and committed."""

    records: deque[Pending] = field(default_factory=deque)

    def add(self, item: Pending) -> None:
        self.records.append(item)

    def pop_final(self) -> list[Pending]:
        """The final records at the head: committable now, in order."""
        done: list[Pending] = []
        while self.records and self.records[0].final:
            done.append(self.records.popleft())
        return done


def offsets_after(done: list[Pending]) -> dict[tuple[str, int], int]:
    """The offset to commit a partition: one past the last final record."""
    out: dict[tuple[str, int], int] = {}
    for item in done:
        out[(item.topic, item.partition)] = item.offset + 1
    return out


def lineage(item: Pending) -> dict[str, Any]:
    return {
        "topic": item.topic,
        "partition": item.partition,
        "offset": item.offset,
        "source_position": item.position,
    }
