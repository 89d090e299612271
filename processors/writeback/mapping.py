"""Which scored documents go back to Talkwalker, and as which fields.

A `ScoredDocument` becomes one documents-API operation: `create` (an import, which overwrites
the document with the same URL, so a resend is harmless) or `update`. The fields are the
vendor's writable ones: url, title, content, published, lang, sentiment (-5..5), reach,
engagement and `+tags_customer` (the joined sentiment as a tag, added without touching the
project's other tags). `writeback.fields` selects which of them are sent; `url` always is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from socialstream.runtime.lenient import epoch_ms
from socialstream.runtime.settings import WritebackSettings

TITLE_MAX_CHARS = 499  # the vendor's "<500 chars"


@dataclass(frozen=True, slots=True)
class Operation:
    """One documents-API operation, encoded once: `{"<operation>": {...}}` as JSON bytes."""

    document_id: str
    url: str
    operation: str
    encoded: bytes


class Skip(Exception):
    """The document is not written back (filtered out, or nothing to write): the reason."""


class Reject(Exception):
    """The document cannot be written back (a permanent failure): the reason."""


def _ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        return epoch_ms(value)
    return int(value) if isinstance(value, int) else None


def sentiment_tag(score: float) -> str:
    label = "positive" if score > 0.1 else "negative" if score < -0.1 else "neutral"
    return f"socialstream/sentiment/{label}"


def vendor_scale(score: float) -> int:
    """-1..1 to Talkwalker's integer -5..5."""
    return max(-5, min(5, round(score * 5)))


def operation_for(scored: dict[str, Any], settings: WritebackSettings) -> Operation:
    """The operation for one scored document; raises `Skip` or `Reject` with the reason."""
    document = scored.get("document") or {}
    source = str(document.get("source") or "")
    if settings.sources and source not in settings.sources:
        raise Skip(f"source {source} is not in writeback.sources")
    status = str(scored.get("join_status") or "")
    if settings.join_statuses and status not in settings.join_statuses:
        raise Skip(f"join status {status} is not in writeback.join_statuses")
    document_id = str(document.get("document_id") or "")
    url = document.get("url")
    if not url:
        raise Reject("the document has no url (Talkwalker's id for it)")
    bucket = scored.get("sentiment_bucket") or {}
    score = document.get("vendor_sentiment")
    if score is None:
        score = bucket.get("sentiment")
    content = document.get("text") or None  # never send an empty content over a real one
    if content is not None and settings.content_max_chars is not None:
        content = content[: settings.content_max_chars]
    title = document.get("title")
    values: dict[str, Any] = {
        "title": title[:TITLE_MAX_CHARS] if isinstance(title, str) else None,
        "content": content,
        "published": _ms(document.get("published_at")) or _ms(document.get("indexed_at")),
        "lang": document.get("language"),
        "sentiment": vendor_scale(score) if score is not None else None,
        "reach": document.get("reach"),
        "engagement": document.get("engagement"),
        "+tags_customer": [sentiment_tag(bucket["sentiment"])]
        if bucket.get("sentiment") is not None
        else None,
    }
    body: dict[str, Any] = {"url": url}
    for name in settings.fields:
        if values.get(name) is not None:
            body[name] = values[name]
    operation = settings.operation
    if operation == "create":
        missing = [n for n in ("content", "published") if n not in body]
        if missing:
            raise Reject(f"Talkwalker requires {' and '.join(missing)} to create a document")
    return Operation(document_id, url, operation, orjson.dumps({operation: body}))
