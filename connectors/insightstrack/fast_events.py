"""Tweet and summary events straight from decoded JSON to records: the path nearly every line takes.

Validating an event through the pydantic models and then copying it into a record cost about
120 µs an event (measured), more than the rest of the connector. `fast_event` reads the decoded
line directly with the same lenient converters and gives the very topic, key, identity and record
the models give (a property test holds the two paths equal).

It only takes what it is sure of: a user event, a field of an unexpected shape or a value a
converter rejects makes it return None, and the caller takes the model path, which explains in
the dead letter what it cannot read.
"""

from __future__ import annotations

from typing import Any

from socialstream.connectors.insightstrack.records import entity_texts
from socialstream.runtime.lenient import (
    FastPathMiss,
    dump_extra,
    object_or_none,
    to_bool,
    to_count,
    to_epoch_ms,
    to_int,
    to_str,
    unknown_keys,
)

TWEETS = "insightstrack.tweets"
SUMMARIES = "insightstrack.summaries"

_TARGET_USER = frozenset(("id", "id_str"))
_TARGET = frozenset(("id", "id_str", "user", "app_id"))
_TWEET_USER_STR: tuple[str, ...] = (
    "name",
    "screen_name",
    "location",
    "description",
    "url",
    "profile_image_url_https",
)
_TWEET_USER_COUNTS: tuple[str, ...] = (
    "followers_count",
    "friends_count",
    "listed_count",
    "favourites_count",
    "statuses_count",
)
_TWEET_USER = frozenset(
    ("id", "id_str", "verified", "protected", "created_at", *_TWEET_USER_STR, *_TWEET_USER_COUNTS)
)
_TWEET = frozenset(
    (
        *("id", "id_str", "created_at", "text", "source", "truncated", "in_reply_to_status_id"),
        *("in_reply_to_user_id", "in_reply_to_screen_name", "is_quote_status", "quote_count"),
        *("reply_count", "retweet_count", "favorite_count", "entities", "lang", "filter_level"),
        *("timestamp_ms", "user"),
    )
)
_ENTITIES = frozenset(("hashtags", "urls", "user_mentions"))
_CREATE = frozenset(("date_time", "target", "tweet"))
_SUMMARY = frozenset(("start_time", "end_time", "target", "metrics"))
_METRICS = frozenset(("impressions", "engagements"))
_ENGAGEMENTS = frozenset(("overall", "metric_counts"))
_TOTAL_UNIQUE = frozenset(("total", "unique"))
_COUNT_VALUE = frozenset(("count",))

Fast = tuple[str, str, str, dict[str, Any]]  # declared topic, key, event identity, record
_NO_TWEET: dict[str, Any] = dict.fromkeys(
    (
        *("created_at", "text", "lang", "source", "truncated", "in_reply_to_status_id"),
        *("in_reply_to_user_id", "in_reply_to_screen_name", "is_quote_status", "quote_count"),
        *("reply_count", "retweet_count", "favorite_count", "filter_level", "timestamp_ms"),
        "user",
    )
)


def _nest(extra: dict[str, Any], name: str, nested: dict[str, Any]) -> None:
    if nested:
        extra[name] = nested


def _id(value: dict[str, Any]) -> Any:
    """The raw id, preferring `id_str` (what the models' `_prefer_id_str` does); `id_str` is
    validated too, as the models validate it."""
    to_str(value.get("id_str"))
    return value["id_str"] if value.get("id_str") not in (None, "") else value.get("id")


def _required_id(value: dict[str, Any]) -> int:
    if "id" not in value and value.get("id_str") in (None, ""):
        raise FastPathMiss  # "Field required"
    number = to_int(_id(value))
    if number is None:
        raise FastPathMiss
    return number


def _target(value: Any) -> tuple[int | None, int | None, dict[str, Any]] | None:
    """(target id, its user's id, unknown fields) of a `target`; None when absent."""
    target = object_or_none(value)
    if target is None:
        return None
    target_id = to_int(_id(target))
    to_int(target.get("app_id"))
    extra = unknown_keys(target, _TARGET)
    user = object_or_none(target.get("user"))
    user_id = None
    if user is not None:
        user_id = to_int(_id(user))
        _nest(extra, "user", unknown_keys(user, _TARGET_USER))
    return target_id, user_id, extra


def _texts(items: Any, *keys: str) -> list[str]:
    """The entity texts the model path takes, once the models' `list[dict]` check passes."""
    if type(items) is not list or any(type(item) is not dict for item in items):
        raise FastPathMiss
    return entity_texts(items, *keys)


def _user(value: Any, extra: dict[str, Any]) -> dict[str, Any] | None:
    user = object_or_none(value)
    if user is None:
        return None
    record: dict[str, Any] = {"id": _required_id(user)}
    strings = {k: to_str(user.get(k)) for k in _TWEET_USER_STR}
    counts = {k: to_count(user.get(k)) for k in _TWEET_USER_COUNTS}
    record.update(
        screen_name=strings["screen_name"],
        name=strings["name"],
        location=strings["location"],
        description=strings["description"],
        url=strings["url"],
        **counts,
        verified=to_bool(user.get("verified")),
        protected=to_bool(user.get("protected")),
        created_at=to_epoch_ms(user.get("created_at")),
        profile_image_url_https=strings["profile_image_url_https"],
    )
    _nest(extra, "user", unknown_keys(user, _TWEET_USER))
    return record


def _tweet(create: dict[str, Any]) -> Fast:
    date_time = to_epoch_ms(create.get("date_time"))
    target = _target(create.get("target"))
    tweet = object_or_none(create.get("tweet"))
    extra = unknown_keys(create, _CREATE)
    if target is not None:
        _nest(extra, "target", target[2])
    if tweet is None:
        if target is None or target[0] is None:
            raise FastPathMiss  # "a tweet_event needs tweet.id or target.id"
        tweet_id = target[0]
        fields: dict[str, Any] = {**_NO_TWEET, "hashtags": [], "urls": [], "user_mentions": []}
    else:
        tweet_id = _required_id(tweet)
        tweet_extra = unknown_keys(tweet, _TWEET)
        entities = object_or_none(tweet.get("entities"))
        if entities is None:
            hashtags: list[str] = []
            urls: list[str] = []
            mentions: list[str] = []
        else:
            hashtags = _texts(entities.get("hashtags", []), "text", "tag")
            urls = _texts(entities.get("urls", []), "expanded_url", "url")
            mentions = _texts(entities.get("user_mentions", []), "screen_name")
            _nest(tweet_extra, "entities", unknown_keys(entities, _ENTITIES))
        get = tweet.get
        fields = {
            "created_at": to_epoch_ms(get("created_at")),
            "text": to_str(get("text")),
            "lang": to_str(get("lang")),
            "source": to_str(get("source")),
            "truncated": to_bool(get("truncated")),
            "in_reply_to_status_id": to_int(get("in_reply_to_status_id")),
            "in_reply_to_user_id": to_int(get("in_reply_to_user_id")),
            "in_reply_to_screen_name": to_str(get("in_reply_to_screen_name")),
            "is_quote_status": to_bool(get("is_quote_status")),
            "quote_count": to_count(get("quote_count")),
            "reply_count": to_count(get("reply_count")),
            "retweet_count": to_count(get("retweet_count")),
            "favorite_count": to_count(get("favorite_count")),
            "hashtags": hashtags,
            "urls": urls,
            "user_mentions": mentions,
            "filter_level": to_str(get("filter_level")),
            "timestamp_ms": to_epoch_ms(get("timestamp_ms")),
            "user": _user(get("user"), tweet_extra),
        }
        _nest(extra, "tweet", tweet_extra)
    record = {
        "tweet_id": tweet_id,
        "target_user_id": target[1] if target is not None else None,
        "event_time": date_time,
        **fields,
        "extra": _json(extra),
    }
    return TWEETS, str(tweet_id), f"tweet:{tweet_id}", record


def _count(value: Any, extra: dict[str, Any], name: str) -> int | None:
    """`count` of a CountValue (None when absent), its unknown fields into `extra`."""
    holder = object_or_none(value)
    if holder is None:
        return None
    _nest(extra, name, unknown_keys(holder, _COUNT_VALUE))
    return to_count(holder.get("count"))


def _total_unique(value: Any) -> tuple[int | None, int | None, dict[str, Any]] | None:
    """(total, unique, unknown fields) of a TotalUnique; None when absent."""
    pair = object_or_none(value)
    if pair is None:
        return None
    extra = unknown_keys(pair, _TOTAL_UNIQUE)
    total = _count(pair.get("total"), extra, "total")
    unique = _count(pair.get("unique"), extra, "unique")
    return total, unique, extra


def _summary(summary: dict[str, Any]) -> Fast:
    if "start_time" not in summary or "end_time" not in summary:
        raise FastPathMiss
    start, end = to_epoch_ms(summary["start_time"]), to_epoch_ms(summary["end_time"])
    if start is None or end is None:
        raise FastPathMiss
    target = _target(summary.get("target"))
    if target is None or target[0] is None:
        raise FastPathMiss  # target is required, and its id
    extra = unknown_keys(summary, _SUMMARY)
    _nest(extra, "target", target[2])
    impressions = overall = None
    counts: dict[str, int] = {}
    metrics = object_or_none(summary.get("metrics"))
    if metrics is not None:
        metrics_extra = unknown_keys(metrics, _METRICS)
        impressions = _total_unique(metrics.get("impressions"))
        if impressions is not None:
            _nest(metrics_extra, "impressions", impressions[2])
        engagements = object_or_none(metrics.get("engagements"))
        if engagements is not None:
            engagements_extra = unknown_keys(engagements, _ENGAGEMENTS)
            overall = _total_unique(engagements.get("overall"))
            if overall is not None:
                _nest(engagements_extra, "overall", overall[2])
            metric_counts = engagements.get("metric_counts", {})
            if type(metric_counts) is not dict:
                raise FastPathMiss
            inner = []
            for name, value in metric_counts.items():
                pair = _total_unique(value)
                if pair is None:
                    raise FastPathMiss  # a TotalUnique is required for each name
                inner.append(pair[2])
                if pair[0] is not None:
                    counts[name] = pair[0]
            if any(inner):
                engagements_extra["metric_counts"] = inner
            _nest(metrics_extra, "engagements", engagements_extra)
        _nest(extra, "metrics", metrics_extra)
    record = {
        "tweet_id": target[0],
        "user_id": target[1],
        "window_start": start,
        "window_end": end,
        "impressions_total": impressions[0] if impressions else None,
        "impressions_unique": impressions[1] if impressions else None,
        "engagements_total": overall[0] if overall else None,
        "engagements_unique": overall[1] if overall else None,
        "metric_counts": counts,
        "extra": _json(extra),
    }
    return SUMMARIES, str(target[0]), f"summary:{target[0]}:{end}", record


def _json(extra: dict[str, Any]) -> str | None:
    """The unknown fields as the models' `extra_json` writes them."""
    return dump_extra(extra) if extra else None


def fast_event(value: Any) -> Fast | None:
    """(declared topic, key, identity, record) of a decoded tweet or summary event; None: use
    the models."""
    if type(value) is not dict:
        return None
    try:
        if "tweet_event" in value:
            if "summary_event" in value or "user_event" in value:
                return None
            body = value["tweet_event"]
            if type(body) is not dict or type(body.get("create")) is not dict:
                return None
            return _tweet(body["create"])
        if "summary_event" in value and "user_event" not in value:
            summary = value["summary_event"]
            return _summary(summary) if type(summary) is dict else None
    except (FastPathMiss, ValueError, TypeError):
        return None
    return None
