"""Every JSON example of the vendor documents parses into its model and becomes a valid record.

The examples are copied verbatim into `examples/` (named after the seed document, the example and
its first line), so the contract holds without the documents; where the documents are present
(`../shared/seeds`), a test proves the copies are still verbatim.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from socialstream.connectors.insightstrack.models import (
    SummaryEvent,
    TweetEvent,
    UserEvent,
    parse_event,
)
from socialstream.connectors.insightstrack.records import (
    summary_record,
    tweet_record,
    user_event_record,
)
from socialstream.connectors.monitors.sentiment_models import (
    SentimentErrorBody,
    SentimentHistoryPage,
)
from socialstream.connectors.monitors.sentiment_records import bucket_record
from socialstream.connectors.talkwalker.models import (
    ChunkError,
    ControlChunk,
    ControlData,
    ErrorChunk,
    Highlight,
    ResultBody,
    ResultChunk,
    parse_chunk,
)
from socialstream.connectors.talkwalker.records import (
    chunk_error_record,
    control_record,
    result_record,
)
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.lenient import loads
from tests.sample_records import plain

EXAMPLES = Path(__file__).parent / "examples"
SEEDS = Path(
    os.environ.get("SOCIALSTREAM_SEEDS_DIR", Path(__file__).parents[3] / "shared" / "seeds")
)
SEED_FILES = {
    "talkwalker": "talkwalker-api.txt",
    "insightstrack": "insightstrack-api.txt",
    "sentiment_history": "sentiment-history-api.txt",
    "crimson_hexagon": "crimson-hexagon-monitor-api.txt",
}
codec = SingleObjectCodec()


def example_text(name: str) -> str:
    matches = list(EXAMPLES.glob(f"{name}__L*.txt"))
    assert len(matches) == 1, name
    return matches[0].read_text(encoding="utf-8")


def example(name: str) -> Any:
    value, _repaired = loads(example_text(name))
    return value


def roundtrip(schema: str, record: dict[str, Any]) -> dict[str, Any]:
    """Encode with the shipped schema and decode again: the record is schema-valid."""
    decoded: dict[str, Any] = plain(codec.decode(codec.encode(schema, record)).value)
    assert decoded == record
    return decoded


# --- Talkwalker ---------------------------------------------------------------------------


def test_talkwalker_search_results_response_documents_are_results() -> None:
    documents = example("talkwalker__search_results_response")["result_content"]["data"]
    bodies = [ResultBody.model_validate(d) for d in documents]
    first = roundtrip("talkwalker_result", result_record(bodies[0], None))
    assert first["url"] == "http://annukcreations.blogspot.com/2014/12/sunny-rings.html"
    assert first["published"] == 1417999319393
    assert first["sentiment"] == 5
    assert first["source_type"] == ["BLOG", "BLOG_OTHER"]
    assert first["num_comments"] == 3
    assert first["author"]["gender"] == "MALE"
    assert first["author"]["location"] is None  # empty world_data
    assert first["source"]["location"]["city"] == "Washington, D.C."
    assert first["source"]["location"]["latitude"] == pytest.approx(38.8995493765)
    assert first["source"]["alexa_pageviews"] == 0
    assert "tokens_title" in first["extra"]  # unknown fields are kept, not lost
    # The second document is cut off by the vendor ("... // truncated") but keeps its url.
    assert bodies[1].data.url.startswith("http://slshoeicidal.wordpress.com/")


def test_talkwalker_streaming_overview_control_chunk() -> None:
    chunk = parse_chunk(example("talkwalker__streaming_overview_control_chunk"))
    assert isinstance(chunk, ControlChunk)
    record = roundtrip("talkwalker_control", control_record(chunk.chunk_control))
    assert record["timeframe_start"] == 1430201017166
    assert record["timeframe_end"] == 1430201040000
    assert record["streams"][0]["id"] == "teststream"
    assert record["streams"][0]["status"] == "active"


def test_talkwalker_streaming_overview_result_chunk_with_list_data() -> None:
    chunk = parse_chunk(example("talkwalker__streaming_overview_result_chunk"))
    assert isinstance(chunk, ResultChunk)
    assert len(chunk.chunk_result) == 1
    record = roundtrip("talkwalker_result", result_record(chunk.chunk_result[0], 1430201017166))
    assert record["lang"] == "en"
    assert record["timeframe_start"] == 1430201017166


def test_talkwalker_error_chunk_format() -> None:
    chunk = parse_chunk(example("talkwalker__error_chunk_format"))
    assert isinstance(chunk, ErrorChunk)
    record = roundtrip(
        "talkwalker_error", chunk_error_record(chunk.chunk_error, None, "teststream", None)
    )
    assert record["origin"] == "CHUNK"
    assert record["details"] == [{"key": "errdetail", "values": ["some details"]}]


def test_talkwalker_quota_control_chunk_body() -> None:
    data = ControlData.model_validate(example("talkwalker__quota_control_chunk_body"))
    record = roundtrip("talkwalker_control", control_record(data))
    assert record["streams"] == [
        {
            "id": "stream-1",
            "status": "active",
            "allowance": 10000,
            "usage": 5000,
            "reset": 1427241600000,
        }
    ]


def test_talkwalker_faq_project_stream_control_chunk() -> None:
    chunk = parse_chunk(example("talkwalker__faq_project_stream_control_chunk"))
    assert isinstance(chunk, ControlChunk)
    assert roundtrip("talkwalker_control", control_record(chunk.chunk_control))["streams"] == []


def test_talkwalker_faq_project_stream_result_chunk() -> None:
    chunk = parse_chunk(example("talkwalker__faq_project_stream_result_chunk"))
    assert isinstance(chunk, ResultChunk)
    record = roundtrip("talkwalker_result", result_record(chunk.chunk_result[0], 1409906205401))
    assert record["url"] == "http://www.somesite.com/id=45012929134"
    assert record["matched_profile"] == ["hznwvi3k_5imn0wzqr36f"]
    assert record["author"]["id"] == "100007373088511"
    assert record["author"]["name"] == "S'bu Dlokweni"
    assert record["source"]["alexa_pageviews"] == 60438000000
    assert record["source"]["location"]["country_code"] == "za"
    assert record["title"] is None  # an empty title is normalised to "no title"


def test_talkwalker_faq_control_chunk_one_line_with_stray_bracket() -> None:
    value = example("talkwalker__faq_control_chunk_one_line")
    chunks = [parse_chunk(v) for v in (value if isinstance(value, list) else [value])]
    assert [c.chunk_type for c in chunks] == ["CT_CONTROL"]
    assert isinstance(chunks[0], ControlChunk)
    assert chunks[0].chunk_control.timeframe_start == 1409906135111


@pytest.mark.parametrize(
    "name",
    [
        "talkwalker__result_chunk_format",
        "talkwalker__control_chunk_format",
        "talkwalker__faq_multi_client_rule_result_chunk",
    ],
)
def test_talkwalker_format_templates_with_placeholders_are_rejected_with_a_reason(
    name: str,
) -> None:
    # These are templates (`<start time>`, `{ <default result data> }`), not examples: a real
    # line like them must be rejected with the field named, never crash or become a record.
    with pytest.raises(ChunkError) as error:
        parse_chunk(example(name))
    assert "chunk_" in str(error.value)


def test_talkwalker_multi_client_rule_template_highlight_parses() -> None:
    highlights = example("talkwalker__faq_multi_client_rule_result_chunk")["chunk_result"]["data"]
    parsed = [Highlight.model_validate(h) for h in highlights["data"][1]["highlighted_data"]]
    assert parsed[0].matched is not None and parsed[0].matched.rule_id == "rule-1"


# --- InsightsTrack -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tweet_id", "text_start"),
    [
        ("insightstrack__stream_response_tweet_1", 852568271115108352, "WOOHOOO"),
        ("insightstrack__stream_response_tweet_2", 852569686839410689, "RT @itsdougthepug"),
    ],
)
def test_insightstrack_stream_response_tweets(name: str, tweet_id: int, text_start: str) -> None:
    event = parse_event(example(name))
    assert isinstance(event, TweetEvent)
    record = roundtrip("insightstrack_tweet", tweet_record(event.tweet_event.create))
    assert record["tweet_id"] == tweet_id
    assert record["target_user_id"] == 3001969357
    assert record["text"].startswith(text_start)


def test_insightstrack_tweet_event_ids_as_strings_counts_as_strings() -> None:
    event = parse_event(example("insightstrack__tweet_event"))
    assert isinstance(event, TweetEvent)
    record = roundtrip("insightstrack_tweet", tweet_record(event.tweet_event.create))
    assert record["tweet_id"] == 1050118621198921728
    assert record["target_user_id"] == 6253282
    assert record["retweet_count"] == 0 and record["favorite_count"] == 0
    assert record["quote_count"] == 33 and record["reply_count"] == 30
    assert record["timestamp_ms"] == 1893456061000
    assert record["lang"] == "en"
    assert record["user"]["screen_name"] == "TwitterAPI"
    assert record["user"]["followers_count"] == 6133636
    assert record["urls"] == ["https://twitter.com/i/web/status/1050118621198921728"]
    assert 'rel="nofollow"' in record["source"]  # unescaped quotes in the vendor's JSON


def test_insightstrack_summary_event_counts_become_numbers() -> None:
    event = parse_event(example("insightstrack__summary_event"))
    assert isinstance(event, SummaryEvent)
    record = roundtrip("insightstrack_summary", summary_record(event.summary_event))
    assert record["tweet_id"] == 112233445566778899
    assert record["user_id"] == 123456789123456789
    assert record["impressions_total"] == 12 and record["impressions_unique"] == 5
    assert record["engagements_total"] == 43 and record["engagements_unique"] == 4
    assert record["metric_counts"]["video_viewed_100"] == 5
    assert len(record["metric_counts"]) == 9
    assert record["window_end"] - record["window_start"] == (50 * 60 + 30 - 22 * 60 - 49) * 1000


def test_insightstrack_user_event_revoke() -> None:
    event = parse_event(example("insightstrack__user_event_revoke"))
    assert isinstance(event, UserEvent)
    record = roundtrip("insightstrack_user_event", user_event_record(event))
    assert record == {
        "user_id": 760886565136584704,
        "event_type": "revoke",
        "event_time": 1476756975329,
        "app_id": 8798497,
        "extra": None,
    }


# --- Sentiment history ---------------------------------------------------------------------


def test_sentiment_history_200_ok_buckets() -> None:
    page = SentimentHistoryPage.model_validate(example("sentiment_history__200_ok"))
    assert page.pagination is not None and page.pagination.next == "string"
    assert page.status is not None and page.status.api_deprecation_notice is not None
    assert page.status.api_deprecation_notice.shutdown_date == 1643760000000
    params = {"interval": "1h", "lang": "en", "startDate": "x", "cursor": "c"}
    record = roundtrip("sentiment_bucket", bucket_record(params, page.items[0], 60, fetched_at=1))
    assert record["bucket_start"] == 230540400000
    assert record["posts_count"] == 0


@pytest.mark.parametrize(
    "name",
    [
        "sentiment_history__400_bad_request",
        "sentiment_history__401_unauthorized",
        "sentiment_history__403_forbidden",
        "sentiment_history__429_too_many_requests",
    ],
)
def test_sentiment_history_error_bodies(name: str) -> None:
    body = SentimentErrorBody.model_validate(example(name))
    assert body.error is not None and body.error.message == "An error occurred."
    assert body.error.request_id == "123e4567-e89b-12d3-a456-426655440000"
    assert body.status is not None and body.status.cost == 0


def test_sentiment_history_500_internal_server_error() -> None:
    body = SentimentErrorBody.model_validate(
        example("sentiment_history__500_internal_server_error")
    )
    assert body.error is None
    assert body.request_id == "123e4567-e89b-12d3-a456-426655440000"


# --- The copies are the documents' own text ------------------------------------------------


def test_every_example_file_has_a_contract_test() -> None:
    source = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    for path in EXAMPLES.glob("*.txt"):
        assert path.name.split("__L")[0] in source, f"{path.name} is not tested"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the vendor documents are not beside this clone")
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.txt")), ids=lambda p: p.name)
def test_example_is_verbatim_from_its_seed_document(path: Path) -> None:
    seed = SEEDS / SEED_FILES[path.name.split("__")[0]]
    line = int(path.stem.rsplit("__L", 1)[1])
    lines = seed.read_text(encoding="utf-8").split("\n")
    copied = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert lines[line - 1 : line - 1 + len(copied)] == copied
