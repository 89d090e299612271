"""InsightsTrack stream events as the vendor sends them, validated leniently.

One JSON object a line, keyed by its kind: `tweet_event`, `summary_event` or `user_event`. Ids
arrive as numbers or strings (prefer `id_str`, which survives JavaScript), counts as strings,
times in Twitter's format or ISO 8601.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from socialstream.runtime.lenient import (
    Count,
    EpochMillis,
    LenientBool,
    LenientInt,
    LenientStr,
    VendorModel,
    to_epoch_ms,
    to_int,
)

RequiredId = Annotated[int, BeforeValidator(to_int)]
RequiredTime = Annotated[int, BeforeValidator(to_epoch_ms)]


def _prefer_id_str(values: Any) -> Any:
    """Use `id_str` when present: a JSON number id may have lost precision upstream."""
    if isinstance(values, dict) and values.get("id_str") not in (None, ""):
        return {**values, "id": values["id_str"]}
    return values


class TargetUser(VendorModel):
    id: LenientInt = None
    id_str: LenientStr = None

    _ids = model_validator(mode="before")(_prefer_id_str)


class Target(VendorModel):
    id: LenientInt = None
    id_str: LenientStr = None
    user: TargetUser | None = None
    app_id: LenientInt = None

    _ids = model_validator(mode="before")(_prefer_id_str)


class TweetUser(VendorModel):
    id: RequiredId
    id_str: LenientStr = None
    name: LenientStr = None
    screen_name: LenientStr = None
    location: LenientStr = None
    description: LenientStr = None
    url: LenientStr = None
    followers_count: Count = None
    friends_count: Count = None
    listed_count: Count = None
    favourites_count: Count = None
    statuses_count: Count = None
    verified: LenientBool = None
    protected: LenientBool = None
    created_at: EpochMillis = None
    profile_image_url_https: LenientStr = None

    _ids = model_validator(mode="before")(_prefer_id_str)


class Entities(VendorModel):
    hashtags: list[dict[str, Any]] = Field(default_factory=list)
    urls: list[dict[str, Any]] = Field(default_factory=list)
    user_mentions: list[dict[str, Any]] = Field(default_factory=list)


class Tweet(VendorModel):
    id: RequiredId
    id_str: LenientStr = None
    created_at: EpochMillis = None
    text: LenientStr = None
    source: LenientStr = None
    truncated: LenientBool = None
    in_reply_to_status_id: LenientInt = None
    in_reply_to_user_id: LenientInt = None
    in_reply_to_screen_name: LenientStr = None
    is_quote_status: LenientBool = None
    quote_count: Count = None
    reply_count: Count = None
    retweet_count: Count = None
    favorite_count: Count = None
    entities: Entities | None = None
    lang: LenientStr = None
    filter_level: LenientStr = None
    timestamp_ms: EpochMillis = None
    user: TweetUser | None = None

    _ids = model_validator(mode="before")(_prefer_id_str)


class TweetCreate(VendorModel):
    date_time: EpochMillis = None
    target: Target | None = None
    tweet: Tweet | None = None

    @model_validator(mode="after")
    def _has_tweet_id(self) -> TweetCreate:
        if self.tweet is None and (self.target is None or self.target.id is None):
            raise ValueError("a tweet_event needs tweet.id or target.id")
        return self

    @property
    def tweet_id(self) -> int:
        if self.tweet is not None:
            return self.tweet.id
        assert self.target is not None and self.target.id is not None
        return self.target.id


class TweetEventBody(VendorModel):
    create: TweetCreate


class TweetEvent(VendorModel):
    tweet_event: TweetEventBody


class CountValue(VendorModel):
    count: Count = None


class TotalUnique(VendorModel):
    total: CountValue | None = None
    unique: CountValue | None = None


class Engagements(VendorModel):
    overall: TotalUnique | None = None
    metric_counts: dict[str, TotalUnique] = Field(default_factory=dict)


class Metrics(VendorModel):
    impressions: TotalUnique | None = None
    engagements: Engagements | None = None


class Summary(VendorModel):
    start_time: RequiredTime
    end_time: RequiredTime
    target: Target
    metrics: Metrics | None = None

    @model_validator(mode="after")
    def _has_tweet_id(self) -> Summary:
        if self.target.id is None:
            raise ValueError("a summary_event needs target.id (the tweet)")
        return self


class SummaryEvent(VendorModel):
    summary_event: Summary


class UserEventSource(VendorModel):
    user_id: RequiredId


class UserEventTarget(VendorModel):
    app_id: LenientInt = None


class UserAction(VendorModel):
    date_time: EpochMillis = None
    target: UserEventTarget | None = None
    source: UserEventSource


class UserEvent(VendorModel):
    user_event: dict[str, UserAction] = Field(min_length=1)

    @property
    def event_type(self) -> str:
        return next(iter(self.user_event))

    @property
    def action(self) -> UserAction:
        return next(iter(self.user_event.values()))


class EventError(ValueError):
    """A line that is JSON but not a known, valid event; the message says what is wrong."""


def parse_event(value: Any) -> TweetEvent | SummaryEvent | UserEvent:
    """Validate one decoded stream line."""
    if not isinstance(value, dict):
        raise EventError(f"an event is a JSON object, got {type(value).__name__}")
    kinds: dict[str, type[TweetEvent] | type[SummaryEvent] | type[UserEvent]] = {
        "tweet_event": TweetEvent,
        "summary_event": SummaryEvent,
        "user_event": UserEvent,
    }
    present = [k for k in kinds if k in value]
    if len(present) != 1:
        raise EventError(
            f"expected exactly one of {', '.join(kinds)}; got keys {sorted(value)[:5]}"
        )
    try:
        return kinds[present[0]].model_validate(value)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise EventError(detail) from None
