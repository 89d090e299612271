"""Document mapping: registered domains, language, routing to sentiment queries, scaling."""

from __future__ import annotations

from typing import Any

import pytest

from socialstream.connectors.monitors.sentiment_records import query_hash
from socialstream.processors.enrichment.app import Mapper
from socialstream.processors.enrichment.documents import (
    TALKWALKER_FIELDS,
    TWEET_FIELDS,
    Position,
    Routing,
    UnknownQuery,
    from_talkwalker,
    from_tweet,
)
from socialstream.processors.enrichment.domains import registered_domain
from socialstream.processors.enrichment.language import detect
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.settings import (
    EnrichmentSettings,
    SentimentQuery,
    SentimentSettings,
    Settings,
)
from socialstream.simulators.insightstrack import EventScript
from socialstream.simulators.records import insightstrack_events, talkwalker_results
from socialstream.simulators.talkwalker import Corpus

NEWS = SentimentQuery(name="news", source_type="news")
SOCIAL = SentimentQuery(name="social", source_type="social")


@pytest.mark.parametrize(
    "url,domain",
    [
        ("https://news.bbc.co.uk/a/b?c=1", "bbc.co.uk"),
        ("http://user:pw@Blog.Example.ORG:8080/x", "example.org"),
        ("https://annukcreations.blogspot.com/2014/12/x.html", "annukcreations.blogspot.com"),
        ("https://a.b.c.kawasaki.jp/", "b.c.kawasaki.jp"),  # a wildcard rule of the list
        ("http://127.0.0.1/x", None),
        ("https://[::1]/x", None),
        ("https://co.uk/", None),  # a public suffix alone is no registrable domain
        ("", None),
    ],
)
def test_registered_domain_is_public_suffix_aware(url: str, domain: str | None) -> None:
    assert registered_domain(url) == domain


def test_language_is_detected_only_when_the_text_says_enough() -> None:
    assert detect("Le chat dort toute la journée sur le canapé du salon.") == "fr"
    assert detect("Der schnelle braune Fuchs springt über den faulen Hund.") == "de"
    assert detect("ok") is None
    assert detect(None) is None


def settings(**enrichment: object) -> Settings:
    return Settings(
        sentiment=SentimentSettings(queries=[NEWS, SOCIAL]),
        enrichment=EnrichmentSettings.model_validate(enrichment),
    )


def test_routing_by_rule_then_stream_then_default() -> None:
    routing = Routing(
        settings(
            sentiment_routes={"rule-1": "news", "s2": "social"}, default_sentiment_query="news"
        )
    )
    assert routing.query_for([{"stream_id": "s2", "rule_id": "rule-1"}]) == query_hash(
        NEWS.params()
    )
    assert routing.query_for([{"stream_id": "s2", "rule_id": "x"}]) == query_hash(SOCIAL.params())
    assert routing.query_for([]) == query_hash(NEWS.params())
    assert Routing(settings()).query_for([{"stream_id": "s2"}]) is None
    with pytest.raises(UnknownQuery, match="no sentiment query named nope"):
        Routing(settings(sentiment_routes={"s": "nope"}))


def test_talkwalker_mapping_scales_sentiment_and_detects_a_missing_language() -> None:
    result = {
        "document_id": "abc",
        "url": "https://www.lemonde.fr/x",
        "title": "Un titre",
        "content": "Le gouvernement a annoncé de nouvelles mesures pour les transports publics.",
        "lang": None,
        "sentiment": -5,
        "published": 1_700_000_000_000,
        "matches": [{"stream_id": "s2", "rule_id": None}],
        "author": {"id": "a1", "name": "Anne"},
    }
    doc = from_talkwalker(result, Position("t", 1, 7, "timeframe=1;chunk=2"), Routing(settings()))
    assert doc["document_id"] == "tw:abc" and doc["domain"] == "lemonde.fr"
    assert (doc["language"], doc["language_origin"]) == ("fr", "detected")
    assert doc["vendor_sentiment"] == -1.0
    assert doc["lineage"] == {
        "topic": "t",
        "partition": 1,
        "offset": 7,
        "source_position": "timeframe=1;chunk=2",
    }


def test_tweet_mapping_sums_engagement_and_names_the_rule() -> None:
    tweet = {
        "tweet_id": 42,
        "target_user_id": 7,
        "text": "hello",
        "lang": "en-GB",
        "retweet_count": 2,
        "reply_count": None,
        "quote_count": 1,
        "favorite_count": 5,
        "user": {"id": 9, "screen_name": "ann", "followers_count": 100},
    }
    doc = from_tweet(
        tweet, Position("t", 0, 1, "label=acme.prod;event=tweet:42"), Routing(settings())
    )
    assert doc["url"] == "https://x.com/ann/status/42" and doc["domain"] == "x.com"
    assert (doc["language"], doc["language_origin"]) == ("en", "vendor")
    assert doc["engagement"] == 8 and doc["reach"] == 100
    assert doc["matches"] == [{"stream_id": "acme.prod", "rule_id": "from:7"}]
    assert doc["author"] == {"id": "9", "name": None, "handle": "ann", "followers": 100}


class Reads(dict[str, Any]):
    """A record that notes which of its top-level fields a mapping reads."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def _inputs() -> list[tuple[str, Mapper, frozenset[str], dict[str, Any]]]:
    results = talkwalker_results(Corpus(seed=5, timeframes=1, per_timeframe=200))
    tweets, _ = insightstrack_events(EventScript(seed=5, count=300))
    assert results and tweets
    return [("talkwalker_result", from_talkwalker, TALKWALKER_FIELDS, r) for r in results] + [
        ("insightstrack_tweet", from_tweet, TWEET_FIELDS, t) for t in tweets
    ]


def test_each_mapping_reads_only_the_fields_the_processor_decodes() -> None:
    routing = Routing(settings())
    for schema, mapper, fields, record in _inputs():
        # all optional fields absent too, so that every fallback (`a or b`) is read
        for variant in (
            record,
            {k: v for k, v in record.items() if k in ("document_id", "tweet_id")},
        ):
            reads = Reads(variant)
            mapper(reads, Position("t", 0, 1, "label=a;event=b"), routing)
            assert reads.read <= fields, (schema, sorted(reads.read - fields))


def test_a_document_from_the_decoded_fields_equals_one_from_the_whole_record() -> None:
    codec, routing = SingleObjectCodec(), Routing(settings())
    position = Position("t", 0, 1, "label=a;event=b")
    for schema, mapper, fields, record in _inputs():
        data = codec.encode(schema, record)
        projected = codec.decode(data, fields=fields).value
        assert set(projected) == fields
        whole = codec.decode(data).value
        assert mapper(projected, position, routing) == mapper(whole, position, routing)
