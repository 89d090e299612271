"""Publish a polled value only when it is new or revised: what makes re-polling cheap and quiet.

Pollers re-fetch a trailing window on every poll to catch late data. Each key's content hash is
remembered (in the checkpoint, committed with the records), so a re-poll publishes the windows
whose values changed and nothing else; a revision is a new record with the same key, and the
compacted topic keeps the latest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(record: dict[str, Any]) -> str:
    """What identifies a revision: everything in the record but when it was fetched."""
    content = {k: v for k, v in record.items() if k != "fetched_at"}
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class RevisionFilter:
    """Content hash of the last published record of each key still inside the re-poll window."""

    def __init__(self, state: dict[str, list[object]] | None = None) -> None:
        self._hashes: dict[str, tuple[str, int]] = {
            key: (str(value[0]), int(str(value[1]))) for key, value in (state or {}).items()
        }

    def __len__(self) -> int:
        return len(self._hashes)

    def is_new(self, key: str, content_hash: str) -> bool:
        known = self._hashes.get(key)
        return known is None or known[0] != content_hash

    def remember(self, key: str, content_hash: str, window_start_ms: int) -> None:
        self._hashes[key] = (content_hash, window_start_ms)

    def prune(self, before_ms: int, prefix: str = "") -> None:
        """Forget windows (of keys starting with `prefix`) that start before `before_ms`: they
        are never re-polled again."""
        self._hashes = {
            k: v for k, v in self._hashes.items() if v[1] >= before_ms or not k.startswith(prefix)
        }

    def state(self) -> dict[str, list[object]]:
        return {key: [h, start] for key, (h, start) in self._hashes.items()}
