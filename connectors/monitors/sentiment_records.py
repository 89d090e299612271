"""Sentiment-history buckets as the Avro records of sentiment.history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from socialstream.connectors.monitors.sentiment_models import SentimentItem

# Parameters that select a page or a time range, not the series itself.
NON_QUERY_PARAMS = frozenset({"startDate", "endDate", "cursor", "limit"})


def normalised_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that identify a series, with sorted keywords and lower-case strings."""
    query: dict[str, Any] = {}
    for name, value in params.items():
        if name in NON_QUERY_PARAMS or value in (None, "", []):
            continue
        if isinstance(value, list | tuple):
            query[name] = sorted(str(v).lower() for v in value)
        else:
            query[name] = str(value).lower() if isinstance(value, str) else value
    return dict(sorted(query.items()))


def query_hash(params: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the normalised query: the first half of a bucket's key."""
    canonical = json.dumps(normalised_query(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def bucket_key(params: Mapping[str, Any], item: SentimentItem) -> str:
    return f"{query_hash(params)}|{item.start_date}"


def bucket_record(
    params: Mapping[str, Any],
    item: SentimentItem,
    interval_minutes: int | None,
    fetched_at: int,
) -> dict[str, Any]:
    """A `SentimentBucket` record."""
    return {
        "query_hash": query_hash(params),
        "query": json.dumps(normalised_query(params), sort_keys=True),
        "bucket_start": item.start_date,
        "bucket_end": item.end_date,
        "interval_minutes": interval_minutes,
        "sentiment": item.sentiment,
        "percentage_positive": item.percentage_positive_posts,
        "percentage_negative": item.percentage_negative_posts,
        "percentage_neutral": item.percentage_neutral_posts,
        "posts_count": item.posts_count,
        "fetched_at": fetched_at,
        "extra": item.extra_json(),
    }
