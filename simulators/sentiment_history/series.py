"""Deterministic sentiment buckets, with late revisions."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MINUTE_MS = 60_000


def rfc3339(ms: int) -> str:
    """The vendor's date format: UTC, milliseconds, `Z`."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def query_key(filters: dict[str, Any]) -> str:
    """The simulator's own identity of a series (not the connector's query hash)."""
    return hashlib.sha1(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]  # noqa: S324


@dataclass
class SentimentSeries:
    seed: int = 1
    revisions: list[int] = field(default_factory=list)  # `since` of every revise(), epoch ms

    def revise(self, since_ms: int) -> None:
        """Late data: every bucket ending after `since_ms` gets new values."""
        self.revisions.append(since_ms)

    def revision(self, bucket_end: int) -> int:
        return sum(1 for since in self.revisions if bucket_end > since)

    def item(self, qkey: str, interval: int, start: int) -> dict[str, Any]:
        end = start + interval * MINUTE_MS
        rng = random.Random(f"{self.seed}:{qkey}:{interval}:{start}:{self.revision(end)}")
        positive = round(rng.uniform(0, 100), 2)
        negative = round(rng.uniform(0, 100 - positive), 2)
        neutral = round(100 - positive - negative, 2)
        posts = rng.randint(0, 250)
        return {
            "percentagePositivePosts": positive,
            "percentageNegativePosts": negative,
            "percentageNeutralPosts": neutral,
            "sentiment": round((positive - negative) / 100, 4),
            "postsCount": str(posts) if rng.random() < 0.05 else posts,
            "startDate": rfc3339(start),
            "endDate": rfc3339(end),
        }
