"""Dead-letter records: what could not become a record, with the raw bytes and the reason.

The value is a `DeadLetter` Avro record (raw bytes, reason, error class, position); the same
reason, error class and position are also headers, so an operator can filter a DLQ with any
Kafka tool without decoding it.
"""

from __future__ import annotations

import time
from typing import Any

from socialstream.runtime.headers import record_headers
from socialstream.runtime.metrics import DEAD_LETTERS
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.redaction import redact_text
from socialstream.runtime.topics import find_topic, topic_name
from socialstream.schemas import full_name

DLQ_SCHEMA = "dead_letter"
# A dead letter must always fit a topic with Kafka's default 1 MB limit: larger raw bytes are
# cut, and the reason says so (the source position still points at the whole input).
MAX_RAW_BYTES = 512 * 1024


def dead_letter_record(
    raw: bytes,
    reason: str,
    error_class: str,
    source: str,
    source_position: str | None,
    intended_topic: str | None,
) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A `DeadLetter` record (the reason redacted) and the headers that repeat it."""
    if len(raw) > MAX_RAW_BYTES:
        reason += f" [raw cut to its first {MAX_RAW_BYTES} of {len(raw)} bytes]"
        raw = raw[:MAX_RAW_BYTES]
    reason = redact_text(reason)
    record = {
        "raw": raw,
        "reason": reason,
        "error_class": error_class,
        "source": source,
        "source_position": source_position,
        "intended_topic": intended_topic,
        "failed_at": int(time.time() * 1000),
    }
    return record, [("reason", reason.encode()), ("error_class", error_class.encode())]


class DeadLetterWriter:
    """Writes rejected inputs to `<component>.dlq` in the publisher's open transaction."""

    def __init__(self, publisher: Publisher, component: str) -> None:
        self._publisher = publisher
        self._spec = find_topic(f"{component}.dlq")
        self.count = 0

    def write(
        self,
        raw: bytes,
        reason: str,
        error: BaseException | str,
        source_position: str | None = None,
        intended_topic: str | None = None,
        key: bytes | None = None,
    ) -> None:
        error_class = error if isinstance(error, str) else type(error).__name__
        topic = topic_name(self._spec, self._publisher.topics)
        record, extra = dead_letter_record(
            raw, reason, error_class, self._publisher.source, source_position, intended_topic
        )
        headers = list(
            record_headers(self._publisher.source, full_name(DLQ_SCHEMA), source_position)
        )
        headers += extra
        self._publisher.producer.produce(
            topic, self._publisher.codec.encode(DLQ_SCHEMA, record, topic), key=key, headers=headers
        )
        self.count += 1
        DEAD_LETTERS.labels(self._publisher.source, error_class).inc()
