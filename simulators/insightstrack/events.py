"""A deterministic InsightsTrack event script: tweets, cumulative summaries and revokes.

Event `n` of a script is generated from `(seed, n)` on demand in the vendor's shapes (see the
seed document): ids as numbers or strings at random, counts as strings, Twitter-format times.
Summaries are running totals, so a later summary of a tweet never has smaller counts.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

START_S = 1_700_000_000


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def twitter_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%a %b %d %H:%M:%S +0000 %Y")


def _id(value: int, rng: random.Random) -> int | str:
    return value if rng.random() < 0.5 else str(value)


@dataclass
class EventScript:
    """`count` events for `users` accounts; a revoke of `revoke_user` at event `revoke_at`."""

    seed: int = 1
    count: int = 1000
    users: tuple[int, ...] = (3001969357, 6253282, 760886565136584704, 123456789)
    revoke_at: int | None = None
    revoke_user: int | None = None
    app_id: int = 8798497
    _cache: dict[int, tuple[str, str, bytes]] = field(default_factory=dict, repr=False)

    def tweet_id(self, n: int) -> int:
        return 1_050_000_000_000_000_000 + self.seed * 1_000_000 + n

    def kind(self, n: int) -> str:
        if self.revoke_at is not None and n == self.revoke_at:
            return "user_event"
        return "summary_event" if n % 3 == 2 and n > 2 else "tweet_event"

    def event(self, n: int) -> tuple[str, str, bytes]:
        """(kind, identity, line) of event `n`; identity is what de-duplication keys on."""
        found = self._cache.get(n)
        if found is None:
            found = self._render(n)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[n] = found
        return found

    def _render(self, n: int) -> tuple[str, str, bytes]:
        rng = _rng(self.seed, n)
        when = START_S + n
        kind = self.kind(n)
        if kind == "user_event":
            user = self.revoke_user if self.revoke_user is not None else self.users[0]
            body: dict[str, Any] = {
                "user_event": {
                    "revoke": {
                        "date_time": datetime.fromtimestamp(when, UTC)
                        .isoformat()
                        .replace("+00:00", ".000Z"),
                        "target": {"app_id": self.app_id},
                        "source": {"user_id": user},
                    }
                }
            }
            return kind, f"user:{user}:revoke:{when}", json.dumps(body).encode()
        if kind == "summary_event":
            # A summary of an earlier tweet, cumulative: counts grow with n.
            target_n = rng.randrange(0, n)
            while self.kind(target_n) != "tweet_event":
                target_n -= 1
            tweet = self.tweet_id(target_n)
            user = self.users[target_n % len(self.users)]
            growth = n - target_n
            impressions = 10 + growth * 3
            body = {
                "summary_event": {
                    "start_time": twitter_time(START_S + target_n),
                    "end_time": twitter_time(when),
                    "target": {
                        "id": _id(tweet, rng),
                        "id_str": str(tweet),
                        "user": {"id": _id(user, rng), "id_str": str(user)},
                    },
                    "metrics": {
                        "impressions": {
                            "total": {"count": str(impressions)},
                            "unique": {"count": str(impressions // 2)},
                        },
                        "engagements": {
                            "overall": {
                                "total": {"count": str(growth)},
                                "unique": {"count": str(growth // 2)},
                            },
                            "metric_counts": {
                                "favorites": {"total": {"count": str(growth // 3)}},
                                "video_views": {"total": {"count": str(growth // 4)}},
                            },
                        },
                    },
                }
            }
            return kind, f"summary:{tweet}:{when}", json.dumps(body).encode()
        tweet = self.tweet_id(n)
        user = self.users[n % len(self.users)]
        body = {
            "tweet_event": {
                "create": {
                    "date_time": twitter_time(when),
                    "target": {
                        "id": _id(tweet, rng),
                        "id_str": str(tweet),
                        "user": {"id": _id(user, rng), "id_str": str(user)},
                    },
                    "tweet": {
                        "created_at": twitter_time(when),
                        "id": _id(tweet, rng),
                        "id_str": str(tweet),
                        "text": f"tweet {n} about " + rng.choice(["cats", "kafka", "pizza"]),
                        "lang": rng.choice(["en", "fr", "de"]),
                        "retweet_count": str(rng.randint(0, 50)),
                        "favorite_count": str(rng.randint(0, 500)),
                        "timestamp_ms": str(when * 1000),
                        "user": {
                            "id": _id(user, rng),
                            "id_str": str(user),
                            "screen_name": f"user{user % 1000}",
                        },
                    },
                }
            }
        }
        return kind, f"tweet:{tweet}", json.dumps(body).encode()
