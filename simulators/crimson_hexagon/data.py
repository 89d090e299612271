"""Deterministic Crimson Hexagon monitor data, with late revisions of recent days.

Every value is a pure function of `(seed, monitor, endpoint, day, revision of that day)`, so a
test can ask the simulator what a window must contain and compare it with what reached Kafka.
`revise(days)` bumps the revision of the last `days` days: their values change, as late data
changes a real monitor's recent days.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

CATEGORIES = [(1, "Basic Positive"), (2, "Basic Neutral"), (3, "Basic Negative")]
EMOTIONS = ["Joy", "Sadness", "Anger", "Fear", "Surprise", "Disgust", "Neutral"]
WORDS = ["launch", "price", "review", "coffee", "travel", "phone", "camera", "brand", "music"]
SITES = ["twitter.com", "reddit.com", "news.example.com", "blog.example.org", "forum.example.de"]
SOURCES = ["Twitter", "Blogs", "News", "Forums", "Reddit", "Instagram"]
COUNTRIES = [("USA", "United States"), ("FRA", "France"), ("DEU", "Germany"), ("JPN", "Japan")]
STATES = {"USA": ["California", "Texas", "New York"], "FRA": ["Bretagne", "Occitanie"]}
CITIES = {"USA": ["Boston", "Austin", "Seattle"], "FRA": ["Paris", "Lyon"], "DEU": ["Berlin"]}
ALL_CITIES = [city for cities in CITIES.values() for city in cities]
AGES = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
ETHNICITIES = ["African American", "Asian", "Caucasian", "Hispanic"]


def iso(day: date | datetime) -> str:
    """The vendor's local-time timestamp format (monitor timezone UTC here)."""
    if not isinstance(day, datetime):
        day = datetime(day.year, day.month, day.day)
    return day.strftime("%Y-%m-%dT%H:%M:%S")


def days(start: date, end: date) -> list[date]:
    """Every day of [start, end)."""
    return [start + timedelta(n) for n in range((end - start).days)]


def loose_count(rng: random.Random, value: int) -> int | str:
    """Counts come as strings now and then, as the vendor's JSON does."""
    return str(value) if rng.random() < 0.1 else value


@dataclass
class MonitorData:
    """The data of every monitor of one account."""

    seed: int = 1
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    history_days: int = 400
    revisions: dict[date, int] = field(default_factory=dict)

    @property
    def results_start(self) -> date:
        return self.today - timedelta(self.history_days)

    @property
    def results_end(self) -> date:
        """Exclusive: today's (partial) results are there."""
        return self.today + timedelta(1)

    def revise(self, last_days: int) -> list[date]:
        """Late data arrives for the last `last_days` days (today included)."""
        changed = [self.today - timedelta(n) for n in range(last_days)]
        for day in changed:
            self.revisions[day] = self.revisions.get(day, 0) + 1
        return changed

    def rng(self, monitor: int, endpoint: str, day: date, *extra: object) -> random.Random:
        revision = self.revisions.get(day, 0)
        key = ":".join(str(p) for p in (self.seed, monitor, endpoint, day, revision, *extra))
        return random.Random(key)

    def range_rng(self, monitor: int, endpoint: str, start: date, end: date) -> random.Random:
        """For values aggregated over a range: any revision inside it changes them."""
        revision = sum(self.revisions.get(d, 0) for d in days(start, end))
        key = ":".join(str(p) for p in (self.seed, monitor, endpoint, start, end, revision))
        return random.Random(key)

    # --- per-day values ----------------------------------------------------------------

    def hourly(self, monitor: int, day: date) -> list[int]:
        rng = self.rng(monitor, "volume", day)
        return [rng.randint(5, 400) for _ in range(24)]

    def day_volume(self, monitor: int, day: date) -> int:
        return sum(self.hourly(monitor, day))

    def daily_entry(self, monitor: int, endpoint: str, day: date) -> dict[str, Any]:
        """The one entry an endpoint that trends daily returns for `day`."""
        return DAILY[endpoint](self, monitor, day)


def _span(day: date) -> dict[str, Any]:
    return {"startDate": iso(day), "endDate": iso(day + timedelta(1))}


def _results(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
    rng = data.rng(monitor, "results", day)
    volume = data.day_volume(monitor, day)
    relevant = int(volume * rng.uniform(0.6, 0.95))
    shares = [rng.random() + 0.1 for _ in CATEGORIES]
    total = sum(shares)
    categories = [
        {
            "category": name,
            "categoryId": str(cid) if rng.random() < 0.2 else cid,
            "proportion": round(share / total, 4),
            "volume": round(relevant * share / total),
        }
        for (cid, name), share in zip(CATEGORIES, shares, strict=True)
    ]
    emotions = [{"emotion": e, "proportion": round(rng.random() / 3, 4)} for e in EMOTIONS]
    return {
        **_span(day),
        "creationDate": iso(day + timedelta(1)),
        "numberOfDocuments": loose_count(rng, volume),
        "numberOfRelevantDocuments": relevant,
        "categories": categories,
        "emotions": emotions,
    }


def _sources(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
    rng = data.rng(monitor, "sources", day)
    return {
        **_span(day),
        "topSites": {site: rng.randint(1, 500) for site in rng.sample(SITES, 4)},
        "sources": {source: rng.randint(0, 900) for source in SOURCES},
    }


def _images(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
    rng = data.rng(monitor, "imageresults", day)
    volume = data.day_volume(monitor, day)
    return {
        **_span(day),
        "creationDate": iso(day + timedelta(1)),
        "numberOfDocuments": volume,
        "numberOfImageDocuments": volume // rng.randint(3, 9),
        "imageClasses": [
            {"name": name, "type": kind, "volume": rng.randint(1, 80)}
            for name, kind in (("coffee cup", "object"), ("beach", "scene"), ("acme", "logo"))
        ],
    }


def _counts(name: str, labels: list[str]) -> Callable[[MonitorData, int, date], dict[str, Any]]:
    def entry(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
        rng = data.rng(monitor, name, day)
        counts = {label: rng.randint(0, 300) for label in labels}
        return {
            **_span(day),
            "numberOfDocuments": data.day_volume(monitor, day),
            name: {**counts, "total": sum(counts.values())},
        }

    return entry


def _authors(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
    rng = data.rng(monitor, "authors", day)
    authors = [{"author": f"user{rng.randint(1, 999)}", "docs": rng.randint(1, 40)}]
    return {
        **_span(day),
        "countsByAuthor": authors,
        "numberOfAuthors": rng.randint(50, 900),
        "docsPerAuthor": round(rng.uniform(1, 3), 3),
        "totalImpressions": rng.randint(10_000, 900_000),
    }


def _twitter_metrics(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
    rng = data.rng(monitor, "twittermetrics", day)
    return {
        **_span(day),
        "topHashtags": {f"#{w}": rng.randint(1, 90) for w in rng.sample(WORDS, 3)},
        "topMentions": {f"@{w}": rng.randint(1, 90) for w in rng.sample(WORDS, 3)},
        "topRetweets": [{"url": f"https://twitter.com/i/{rng.randint(1, 10**9)}", "count": 3}],
    }


def _cumulative(name: str, field_name: str) -> Callable[[MonitorData, int, date], dict[str, Any]]:
    def entry(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
        rng = data.rng(monitor, name, day)
        base = 10_000 + (day - data.results_start).days * 37
        return {"date": iso(day), field_name: loose_count(rng, base + rng.randint(0, 30))}

    return entry


def _metrics(name: str, *fields: str) -> Callable[[MonitorData, int, date], dict[str, Any]]:
    def entry(data: MonitorData, monitor: int, day: date) -> dict[str, Any]:
        rng = data.rng(monitor, name, day)
        values: dict[str, Any] = {}
        for f in fields:
            if f in ("admin", "user"):
                values[f] = {k: rng.randint(0, 400) for k in ("likes", "comments", "shares")}
            elif f in ("adminPostMetrics", "sentPostMetrics"):
                values[f] = [{"url": f"https://example.com/p/{rng.randint(1, 10**6)}", "likes": 4}]
            elif f == "hashtags":
                values[f] = {f"#{w}": rng.randint(1, 50) for w in rng.sample(WORDS, 3)}
            else:
                values[f] = rng.randint(0, 2000)
        if "date" in fields:
            return {"date": iso(day), **{k: v for k, v in values.items() if k != "date"}}
        return {**_span(day), **values}

    return entry


# Endpoints that trend daily: one entry a day, whatever the requested range.
DAILY: dict[str, Callable[[MonitorData, int, date], dict[str, Any]]] = {
    "results": _results,
    "sources": _sources,
    "imageresults": _images,
    "demographics/age": _counts("ageCount", AGES),
    "demographics/gender": _counts("genderCounts", ["male", "female"]),
    "demographics/ethnicity": _counts("ethnicityCount", ETHNICITIES),
    "authors": _authors,
    "twittermetrics": _twitter_metrics,
    "twittersocial/followers": _cumulative("twittersocial/followers", "followers"),
    "twittersocial/sentposts": _metrics("sentposts", "sentPostMetrics", "totalImpressions"),
    "twittersocial/totalengagement": _metrics("engagement", "mentions", "replies", "retweets"),
    "facebook/adminposts": _metrics("fbadmin", "adminPostMetrics"),
    "facebook/pagelikes": _cumulative("facebook/pagelikes", "likes"),
    "facebook/totalactivity": _metrics("fbactivity", "admin", "user"),
    "instagram/hashtags": _metrics("ighashtags", "date", "hashtags"),
    "instagram/followers": _cumulative("instagram/followers", "followerCount"),
    "instagram/sentmedia": _metrics("igmedia", "adminPostMetrics"),
    "instagram/totalactivity": _metrics("igactivity", "admin"),
}

# The response field that holds the daily entries of each daily endpoint.
DAILY_LIST = {
    "results": "results",
    "sources": "contentSources",
    "imageresults": "results",
    "demographics/age": "ageCounts",
    "demographics/gender": "genderCounts",
    "demographics/ethnicity": "ethnicityCounts",
    "authors": "authors",
}


def daily_list_field(endpoint: str) -> str:
    return DAILY_LIST.get(endpoint, "dailyResults")


# --- values aggregated over the requested range --------------------------------------------


def volume_periods(start: date, end: date, group_by: str) -> list[tuple[datetime, datetime]]:
    """Full units of `group_by` inside [start, end): the vendor truncates partial units."""
    begin = datetime(start.year, start.month, start.day)
    stop = datetime(end.year, end.month, end.day)
    periods: list[tuple[datetime, datetime]] = []
    if group_by == "HOURLY":
        step = timedelta(hours=1)
        cursor = begin
        while cursor + step <= stop:
            periods.append((cursor, cursor + step))
            cursor += step
    elif group_by == "DAILY":
        periods = [
            (datetime(d.year, d.month, d.day), datetime(d.year, d.month, d.day) + timedelta(1))
            for d in days(start, end)
        ]
    elif group_by == "WEEKLY":
        cursor = begin + timedelta((7 - begin.weekday()) % 7)  # the first Monday
        while cursor + timedelta(7) <= stop:
            periods.append((cursor, cursor + timedelta(7)))
            cursor += timedelta(7)
    elif group_by == "MONTHLY":
        cursor = begin if begin.day == 1 else _next_month(begin)
        while _next_month(cursor) <= stop:
            periods.append((cursor, _next_month(cursor)))
            cursor = _next_month(cursor)
    else:
        raise ValueError(f"groupBy must be HOURLY, DAILY, WEEKLY or MONTHLY, not {group_by!r}")
    return periods


def _next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def period_volume(data: MonitorData, monitor: int, start: datetime, end: datetime) -> int:
    total = 0
    cursor = start
    while cursor < end:
        total += data.hourly(monitor, cursor.date())[cursor.hour]
        cursor += timedelta(hours=1)
    return total


def volume(
    data: MonitorData, monitor: int, start: date, end: date, group_by: str
) -> dict[str, Any]:
    periods = volume_periods(start, end, group_by)
    entries = [
        {
            "startDate": iso(a),
            "endDate": iso(b),
            "numberOfDocuments": period_volume(data, monitor, a, b),
        }
        for a, b in periods
    ]
    return {
        "startDate": iso(periods[0][0]) if periods else iso(start),
        "endDate": iso(periods[-1][1]) if periods else iso(start),
        "timezone": "UTC",
        "groupBy": group_by,
        "numberOfDocuments": sum(e["numberOfDocuments"] for e in entries),
        "volume": entries,
    }


def aggregate(
    data: MonitorData, monitor: int, endpoint: str, start: date, end: date, params: dict[str, str]
) -> dict[str, Any]:
    """An endpoint that aggregates over the whole requested range."""
    rng = data.range_rng(monitor, endpoint, start, end)
    total = sum(data.day_volume(monitor, d) for d in days(start, end))
    span = {"startDate": iso(start), "endDate": iso(end)}
    if endpoint == "wordcloud":
        return {"data": {word: rng.randint(1, 300) for word in sorted(rng.sample(WORDS, 6))}}
    if endpoint == "interestaffinities":
        return {
            **span,
            "affinityInfo": [
                {
                    "id": n,
                    "name": name,
                    "relevancyScore": round(rng.random(), 4),
                    "percentInMonitor": round(rng.random(), 4),
                    "percentOnTwitter": round(rng.random() / 2, 4),
                }
                for n, name in enumerate(("Coffee lovers", "Travel", "Photography"), 1)
            ],
        }
    if endpoint == "topics":
        nodes = "".join(f'<node id="{w}" weight="{rng.randint(1, 50)}"/>' for w in WORDS[:4])
        return {"clustering": f"<clusters>{nodes}</clusters>"}
    if endpoint == "topicwaves":
        topics = [
            {"name": w, "totalVolume": rng.randint(10, 500), "volume": [rng.randint(0, 60)]}
            for w in rng.sample(WORDS, 3)
        ]
        return {
            **span,
            "timezone": "UTC",
            "groupBy": "DAILY",
            "totalTopicsVolume": sum(t["totalVolume"] for t in topics),
            "topics": topics,
        }
    if endpoint == "dayandtime":
        by_day = params.get("aggregatebyday", "false").lower() == "true"
        buckets = 7 if by_day else 24
        return {
            "volumes": [
                {
                    **span,
                    "numberOfDocuments": total,
                    "volume": [rng.randint(0, 99) for _ in range(buckets)],
                }
            ]
        }
    if endpoint == "posts":
        limit = 10_000 if params.get("extendLimit", "false").lower() == "true" else 500
        available = total // 50
        posts = [
            {
                "url": f"https://twitter.com/u/status/{rng.randint(10**15, 10**16)}",
                "date": iso(start),
                "author": f"user{rng.randint(1, 999)}",
                "contents": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                "title": "",
                "type": "Twitter",
                "language": "en",
                "location": "USA",
                "authorGender": rng.choice(["M", "F", ""]),
                "categoryScores": [{"categoryId": 1, "score": round(rng.random(), 3)}],
                "emotionScores": [],
            }
            for _ in range(min(limit, available))
        ]
        return {"posts": posts, "totalPostsAvailable": available}
    if endpoint.startswith("geography/"):
        kind = endpoint.split("/", 1)[1]
        country = params.get("country", "")
        if kind == "countries":
            places = [name for _, name in COUNTRIES]
        elif kind == "states":
            places = STATES.get(country, [])
        else:
            places = (
                CITIES.get(country, []) if country else [c for cs in CITIES.values() for c in cs]
            )
        rows = [
            {
                "info": {"name": p, "country": country or None},
                "volume": rng.randint(0, 400),
                "perMillion": round(rng.uniform(0, 9), 3),
            }
            for p in places
        ]
        return {**span, "totalVolume": sum(r["volume"] for r in rows), "data": rows}
    raise KeyError(endpoint)


AGGREGATE = frozenset(
    {
        "wordcloud",
        "interestaffinities",
        "topics",
        "topicwaves",
        "dayandtime",
        "posts",
        "geography/cities",
        "geography/states",
        "geography/countries",
    }
)
