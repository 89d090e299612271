"""The mapping from a vendor record to a `Document`: one shape, whatever the upstream.

Everything here is a pure function of the input record, its Kafka position and the routing
settings, so a replayed input gives the identical document (the processor is exactly-once, and
a reprocessed record must not differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.processors.enrichment.domains import registered_domain
from socialstream.processors.enrichment.language import detect
from socialstream.runtime.lenient import epoch_ms
from socialstream.runtime.settings import Settings

TALKWALKER_SENTIMENT_SCALE = 5.0  # Talkwalker scores -5..5

# The input fields each mapping reads: the processor decodes only these (a Talkwalker result has
# thirty, many of them nested). A field used below and missing here would read as absent, which
# tests/unit/test_enrichment_mapping.py checks against the whole record.
TALKWALKER_FIELDS = frozenset(
    {"document_id", "url", "lang", "title", "content", "author", "matches", "sentiment",
     "published", "indexed", "engagement", "reach", "num_comments"}
)  # fmt: skip
TWEET_FIELDS = frozenset(
    {"tweet_id", "user", "lang", "text", "retweet_count", "reply_count", "quote_count",
     "favorite_count", "target_user_id", "created_at", "event_time", "timestamp_ms"}
)  # fmt: skip


class Position(NamedTuple):
    """Where the input record sits in Kafka (the document's lineage). A tuple: one is built a
    record, and a frozen dataclass cost more than the mapping's arithmetic."""

    topic: str
    partition: int
    offset: int
    source_position: str | None = None

    def lineage(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "source_position": self.source_position,
        }


class UnknownQuery(ValueError):
    pass


class Routing:
    """Which sentiment-history query a document belongs to, from the streams/rules it matched."""

    def __init__(self, settings: Settings) -> None:
        hashes = {q.name: query_hash(q.params()) for q in settings.sentiment.queries}
        routes = settings.enrichment.sentiment_routes
        missing = sorted({n for n in routes.values() if n not in hashes})
        default = settings.enrichment.default_sentiment_query
        if default is not None and default not in hashes:
            missing.append(default)
        if missing:
            raise UnknownQuery(f"no sentiment query named {', '.join(missing)} is configured")
        self._by_match = {match: hashes[name] for match, name in routes.items()}
        self._default = hashes[default] if default is not None else None

    def query_for(self, matches: Iterable[Mapping[str, Any]]) -> str | None:
        for match in matches:
            for ident in (match.get("rule_id"), match.get("stream_id")):
                if ident is not None and ident in self._by_match:
                    return self._by_match[ident]
        return self._default


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return epoch_ms(value)
    return int(value)


def _language(vendor: str | None, *texts: str | None) -> tuple[str | None, str | None]:
    code = (vendor or "").strip().lower()
    if code and code not in ("und", "unknown", "xx"):
        return code[:2] if len(code) > 2 and code[2] in "-_" else code, "vendor"
    detected = detect(" ".join(t for t in texts if t))
    return (detected, "detected") if detected else (None, None)


def from_talkwalker(
    result: Mapping[str, Any], position: Position, routing: Routing
) -> dict[str, Any]:
    """A `Document` from a `TalkwalkerResult` record."""
    language, origin = _language(result.get("lang"), result.get("title"), result.get("content"))
    author = result.get("author")
    matches = [
        {"stream_id": m.get("stream_id"), "rule_id": m.get("rule_id")}
        for m in result.get("matches") or []
    ]
    sentiment = result.get("sentiment")
    return {
        "document_id": f"tw:{result['document_id']}",
        "source": "TALKWALKER",
        "url": result.get("url"),
        "domain": registered_domain(result.get("url")),
        "language": language,
        "language_origin": origin,
        "title": result.get("title"),
        "text": result.get("content"),
        "author": (
            {"id": author.get("id"), "name": author.get("name"), "handle": None, "followers": None}
            if author
            else None
        ),
        "published_at": _ms(result.get("published")),
        "indexed_at": _ms(result.get("indexed")),
        "engagement": result.get("engagement"),
        "reach": result.get("reach"),
        "likes": None,
        "shares": None,
        "comments": result.get("num_comments"),
        "matches": matches,
        "vendor_sentiment": (
            max(-1.0, min(1.0, sentiment / TALKWALKER_SENTIMENT_SCALE))
            if sentiment is not None
            else None
        ),
        "query_hash": routing.query_for(matches),
        "lineage": position.lineage(),
    }


def _label(source_position: str | None) -> str | None:
    """The stream label from an InsightsTrack source position (`label=<acct.label>;event=...`)."""
    if not source_position or not source_position.startswith("label="):
        return None
    return source_position.split(";", 1)[0].removeprefix("label=") or None


def from_tweet(tweet: Mapping[str, Any], position: Position, routing: Routing) -> dict[str, Any]:
    """A `Document` from an `InsightsTrackTweet` record."""
    user = tweet.get("user") or {}
    handle = user.get("screen_name")
    tweet_id = tweet["tweet_id"]
    url = f"https://x.com/{handle or 'i'}/status/{tweet_id}"
    language, origin = _language(tweet.get("lang"), tweet.get("text"))
    counts = [
        tweet.get(k) for k in ("retweet_count", "reply_count", "quote_count", "favorite_count")
    ]
    known = [c for c in counts if c is not None]
    target = tweet.get("target_user_id")
    matches = [
        {
            "stream_id": _label(position.source_position),
            "rule_id": f"from:{target}" if target is not None else None,
        }
    ]
    return {
        "document_id": f"x:{tweet_id}",
        "source": "INSIGHTSTRACK",
        "url": url,
        "domain": registered_domain(url),
        "language": language,
        "language_origin": origin,
        "title": None,
        "text": tweet.get("text"),
        "author": (
            {
                "id": str(user["id"]) if user.get("id") is not None else None,
                "name": user.get("name"),
                "handle": handle,
                "followers": user.get("followers_count"),
            }
            if user
            else None
        ),
        "published_at": _ms(tweet.get("created_at")),
        "indexed_at": _ms(tweet.get("event_time") or tweet.get("timestamp_ms")),
        "engagement": sum(known) if known else None,
        "reach": user.get("followers_count"),
        "likes": tweet.get("favorite_count"),
        "shares": tweet.get("retweet_count"),
        "comments": tweet.get("reply_count"),
        "matches": matches,
        "vendor_sentiment": None,
        "query_hash": routing.query_for(matches),
        "lineage": position.lineage(),
    }
