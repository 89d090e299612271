"""The InsightsTrack fast path takes the simulator's events and gives the models' records."""

from __future__ import annotations

from socialstream.connectors.insightstrack.fast_events import fast_event
from socialstream.connectors.insightstrack.models import SummaryEvent, TweetEvent, parse_event
from socialstream.connectors.insightstrack.records import summary_record, tweet_record
from socialstream.connectors.insightstrack.source import event_id
from socialstream.runtime.lenient import loads
from socialstream.simulators.insightstrack import EventScript


def test_realistic_tweets_and_summaries_take_the_fast_path_and_match_the_models() -> None:
    script = EventScript(seed=5)
    kinds = set()
    for n in range(600):
        kind, _, line = script.event(n)
        value, _ = loads(line)
        event = parse_event(value)
        fast = fast_event(value)
        if isinstance(event, TweetEvent):
            create = event.tweet_event.create
            expected = ("insightstrack.tweets", str(create.tweet_id), event_id(event))
            assert fast == (*expected, tweet_record(create))
        elif isinstance(event, SummaryEvent):
            record = summary_record(event.summary_event)
            assert record["impressions_total"] is not None
            expected = ("insightstrack.summaries", str(record["tweet_id"]), event_id(event))
            assert fast == (*expected, record)
        else:
            assert fast is None  # user events are rare: the models read them
        kinds.add(kind)
    assert {"tweet_event", "summary_event"} <= kinds


def test_user_events_and_odd_shapes_are_left_to_the_models() -> None:
    revoke = {"user_event": {"revoke": {"date_time": 1, "source": {"user_id": 7}}}}
    assert fast_event(revoke) is None
    both = {"tweet_event": {"create": {"tweet": {"id": 1}}}, "summary_event": {}}
    assert fast_event(both) is None
    no_id = {"tweet_event": {"create": {"tweet": {"text": "hi"}}}}
    assert fast_event(no_id) is None
    listed_metrics = {
        "summary_event": {"start_time": 1, "end_time": 2, "target": {"id": 3}, "metrics": []}
    }
    assert fast_event(listed_metrics) is None
