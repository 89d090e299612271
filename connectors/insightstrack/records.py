"""InsightsTrack events as the Avro records of insightstrack.tweets / .summaries / .users."""

from __future__ import annotations

from typing import Any

from socialstream.connectors.insightstrack.models import (
    Summary,
    TotalUnique,
    TweetCreate,
    UserEvent,
)


def entity_texts(items: list[dict[str, Any]], *keys: str) -> list[str]:
    """The first non-empty text under `keys` of each entity (hashtag, url, mention)."""
    out = []
    for item in items:
        for key in keys:
            value = item.get(key)
            if isinstance(value, str) and value:
                out.append(value)
                break
    return out


def tweet_record(create: TweetCreate) -> dict[str, Any]:
    """An `InsightsTrackTweet` record from a `tweet_event.create`."""
    tweet = create.tweet
    target_user = create.target.user if create.target else None
    user = tweet.user if tweet else None
    entities = tweet.entities if tweet else None
    return {
        "tweet_id": create.tweet_id,
        "target_user_id": target_user.id if target_user else None,
        "event_time": create.date_time,
        "created_at": tweet.created_at if tweet else None,
        "text": tweet.text if tweet else None,
        "lang": tweet.lang if tweet else None,
        "source": tweet.source if tweet else None,
        "truncated": tweet.truncated if tweet else None,
        "in_reply_to_status_id": tweet.in_reply_to_status_id if tweet else None,
        "in_reply_to_user_id": tweet.in_reply_to_user_id if tweet else None,
        "in_reply_to_screen_name": tweet.in_reply_to_screen_name if tweet else None,
        "is_quote_status": tweet.is_quote_status if tweet else None,
        "quote_count": tweet.quote_count if tweet else None,
        "reply_count": tweet.reply_count if tweet else None,
        "retweet_count": tweet.retweet_count if tweet else None,
        "favorite_count": tweet.favorite_count if tweet else None,
        "hashtags": entity_texts(entities.hashtags, "text", "tag") if entities else [],
        "urls": entity_texts(entities.urls, "expanded_url", "url") if entities else [],
        "user_mentions": (entity_texts(entities.user_mentions, "screen_name") if entities else []),
        "filter_level": tweet.filter_level if tweet else None,
        "timestamp_ms": tweet.timestamp_ms if tweet else None,
        "user": (
            {
                "id": user.id,
                "screen_name": user.screen_name,
                "name": user.name,
                "location": user.location,
                "description": user.description,
                "url": user.url,
                "followers_count": user.followers_count,
                "friends_count": user.friends_count,
                "listed_count": user.listed_count,
                "favourites_count": user.favourites_count,
                "statuses_count": user.statuses_count,
                "verified": user.verified,
                "protected": user.protected,
                "created_at": user.created_at,
                "profile_image_url_https": user.profile_image_url_https,
            }
            if user
            else None
        ),
        "extra": create.extra_json(),
    }


def _total(value: TotalUnique | None) -> int | None:
    return value.total.count if value and value.total else None


def _unique(value: TotalUnique | None) -> int | None:
    return value.unique.count if value and value.unique else None


def summary_record(summary: Summary) -> dict[str, Any]:
    """An `InsightsTrackSummary` record (counts as numbers) from a `summary_event`."""
    metrics = summary.metrics
    engagements = metrics.engagements if metrics else None
    counts = {
        name: total
        for name, value in (engagements.metric_counts.items() if engagements else [])
        if (total := _total(value)) is not None
    }
    assert summary.target.id is not None  # enforced by the model
    return {
        "tweet_id": summary.target.id,
        "user_id": summary.target.user.id if summary.target.user else None,
        "window_start": summary.start_time,
        "window_end": summary.end_time,
        "impressions_total": _total(metrics.impressions) if metrics else None,
        "impressions_unique": _unique(metrics.impressions) if metrics else None,
        "engagements_total": _total(engagements.overall) if engagements else None,
        "engagements_unique": _unique(engagements.overall) if engagements else None,
        "metric_counts": counts,
        "extra": summary.extra_json(),
    }


def user_event_record(event: UserEvent) -> dict[str, Any]:
    """An `InsightsTrackUserEvent` record from a `user_event`."""
    action = event.action
    return {
        "user_id": action.source.user_id,
        "event_type": event.event_type,
        "event_time": action.date_time,
        "app_id": action.target.app_id if action.target else None,
        "extra": event.extra_json(),
    }
