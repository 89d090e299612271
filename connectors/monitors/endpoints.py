"""Every Crimson Hexagon monitor endpoint the seed lists, and how its data splits into windows.

Names are hexpy's `MonitorAPI` method names (the seed documents the API through hexpy); paths
are the API's. The shape says what one record is:

* DAILY: the response trends daily (one entry a day in `list_field`): a record a day.
* PERIODS: volume, one entry a `groupBy` unit (hour, day, week, month): a record a unit.
* RANGE: the response aggregates over the requested range, so the poller asks one day at a
  time and each day is a record.
* SNAPSHOT: no dates (details, audit, training posts): a record a poll day.

Not polled: `train_monitor` and `batch_train` upload training posts (see `MonitorClient.train`),
and `aggregate` is hexpy composing volume, word cloud, top sources, interest affinities and
sentiment over several monitors and dates on the client side (see `MonitorClient.aggregate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Shape(StrEnum):
    DAILY = "daily"
    PERIODS = "periods"
    RANGE = "range"
    SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class Endpoint:
    metric: str
    path: str
    shape: Shape
    list_field: str | None = None
    country: bool = False  # takes the job's `country` (required by states)


def _social(metric: str, path: str) -> Endpoint:
    return Endpoint(metric, path, Shape.DAILY, "dailyResults")


ENDPOINTS: dict[str, Endpoint] = {
    e.metric: e
    for e in (
        Endpoint("details", "monitor/detail", Shape.SNAPSHOT),
        Endpoint("audit", "monitor/audit", Shape.SNAPSHOT),
        Endpoint("training_posts", "monitor/trainingposts", Shape.SNAPSHOT),
        Endpoint("word_cloud", "monitor/wordcloud", Shape.RANGE),
        Endpoint("interest_affinities", "monitor/interestaffinities", Shape.RANGE),
        Endpoint("topics", "monitor/topics", Shape.RANGE),
        Endpoint("topic_waves", "monitor/topicwaves", Shape.RANGE),
        Endpoint("top_sources", "monitor/sources", Shape.DAILY, "contentSources"),
        Endpoint("image_results", "monitor/imageresults", Shape.DAILY, "results"),
        Endpoint("volume", "monitor/volume", Shape.PERIODS, "volume"),
        Endpoint("dayandtime", "monitor/dayandtime", Shape.RANGE),
        Endpoint("sentiment_and_categories", "monitor/results", Shape.DAILY, "results"),
        Endpoint("posts", "monitor/posts", Shape.RANGE),
        Endpoint("age", "monitor/demographics/age", Shape.DAILY, "ageCounts"),
        Endpoint("ethnicity", "monitor/demographics/ethnicity", Shape.DAILY, "ethnicityCounts"),
        Endpoint("gender", "monitor/demographics/gender", Shape.DAILY, "genderCounts"),
        Endpoint("cities", "monitor/geography/cities", Shape.RANGE, country=True),
        Endpoint("states", "monitor/geography/states", Shape.RANGE, country=True),
        Endpoint("countries", "monitor/geography/countries", Shape.RANGE),
        Endpoint("twitter_authors", "monitor/authors", Shape.DAILY, "authors"),
        _social("twitter_metrics", "monitor/twittermetrics"),
        _social("twitter_followers", "monitor/twittersocial/followers"),
        _social("twitter_sent_posts", "monitor/twittersocial/sentposts"),
        _social("twitter_engagement", "monitor/twittersocial/totalengagement"),
        _social("facebook_admin_posts", "monitor/facebook/adminposts"),
        _social("facebook_likes", "monitor/facebook/pagelikes"),
        _social("facebook_activity", "monitor/facebook/totalactivity"),
        _social("instagram_top_hashtags", "monitor/instagram/hashtags"),
        _social("instagram_followers", "monitor/instagram/followers"),
        _social("instagram_sent_media", "monitor/instagram/sentmedia"),
        _social("instagram_activity", "monitor/instagram/totalactivity"),
    )
}
# Seed methods that are not a polled metric, and why (the contract test checks this list).
NOT_POLLED = {
    "train_monitor": "uploads training posts (MonitorClient.train)",
    "batch_train": "uploads training posts in batches of 1000 (MonitorClient.batch_train)",
    "aggregate": "client-side composition of other metrics (MonitorClient.aggregate)",
}


def _monday(day: date) -> date:
    return day - timedelta(day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def request_ranges(
    endpoint: Endpoint, start: date, end: date, max_days: int, group_by: str = "DAILY"
) -> list[tuple[date, date]]:
    """The [start, end) date ranges to request so that every window of [start, end) is fetched.

    Daily data comes in ranges of at most `max_days`; RANGE endpoints one day a request; weekly
    and monthly volume in whole units (the API truncates partial units), so the range is widened
    to the units that overlap it.
    """
    if end <= start:
        return []
    if endpoint.shape is Shape.SNAPSHOT:
        return [(start, start + timedelta(1))]
    if endpoint.shape is Shape.RANGE:
        return [(start + timedelta(n), start + timedelta(n + 1)) for n in range((end - start).days)]
    if endpoint.shape is Shape.PERIODS and group_by == "WEEKLY":
        first, step = _monday(start), max(7, max_days - max_days % 7)
        last = _monday(end - timedelta(1)) + timedelta(7)
        return [(a, min(a + timedelta(step), last)) for a in _steps(first, last, step)]
    if endpoint.shape is Shape.PERIODS and group_by == "MONTHLY":
        ranges = []
        cursor = _month_start(start)
        while cursor < end:
            ranges.append((cursor, _next_month(cursor)))
            cursor = _next_month(cursor)
        return ranges
    return [(a, min(a + timedelta(max_days), end)) for a in _steps(start, end, max_days)]


def _steps(start: date, end: date, step: int) -> list[date]:
    return [start + timedelta(n) for n in range(0, (end - start).days, step)]
