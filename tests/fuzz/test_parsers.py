"""Property-based tests of every parser that reads untrusted bytes: the lenient JSON reader, the
Talkwalker chunk line, the InsightsTrack event line, the pollers' JSON bodies and the Avro
decoder. Whatever the input, each either gives a value the next step can use (a record that
encodes) or rejects it with its own explained error; nothing else escapes, nothing hangs.

`HYPOTHESIS_PROFILE=campaign` runs the long campaign (outside CI); the default profile runs
1,000 examples a parser.
"""

from __future__ import annotations

import json
import string
from datetime import date, datetime
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from socialstream.connectors.insightstrack.fast_events import fast_event
from socialstream.connectors.insightstrack.models import (
    EventError,
    SummaryEvent,
    TweetEvent,
    parse_event,
)
from socialstream.connectors.insightstrack.records import summary_record, tweet_record
from socialstream.connectors.insightstrack.source import event_id
from socialstream.connectors.monitors.endpoints import ENDPOINTS
from socialstream.connectors.monitors.monitor_models import MonitorResponseError, split_windows
from socialstream.connectors.monitors.monitor_records import metric_record
from socialstream.connectors.monitors.sentiment_client import SentimentClient
from socialstream.connectors.monitors.sentiment_source import page_outgoing
from socialstream.connectors.talkwalker.fast_results import NATIVE, result_bodies, result_records
from socialstream.connectors.talkwalker.models import (
    ChunkError,
    ControlChunk,
    ErrorChunk,
    ResultChunk,
    parse_chunk,
)
from socialstream.connectors.talkwalker.records import (
    chunk_error_record,
    control_record,
    document_id,
    result_record,
)
from socialstream.runtime.codec import DecodeError, SingleObjectCodec
from socialstream.runtime.lenient import LenientParseError, _to_int, loads, to_epoch_ms, to_int
from socialstream.runtime.settings import SentimentQuery

codec = SingleObjectCodec()

# --- strategies -------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "null", "N/A", "1e400", "-1", "2024-02-30T25:61:00Z", "1700000000000"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(string.ascii_letters + "_", max_size=12), children, max_size=6),
    ),
    max_leaves=30,
)


def shaped(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the vendor's field names, each present or not, each a plausible or a wild
    value: most inputs get past the first check and exercise the deep validation."""
    return st.fixed_dictionaries(
        {}, optional={k: st.one_of(v, json_values) for k, v in fields.items()}
    )


def mostly(
    fields: dict[str, Any], required: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Like `shaped`, but one value in twenty wild and `required` fields always present: deep
    inputs that mostly validate."""

    def value(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.integers(0, 19).flatmap(lambda n: json_values if n == 0 else plausible)

    return st.fixed_dictionaries(
        {k: value(v) for k, v in fields.items() if k in required},
        optional={k: value(v) for k, v in fields.items() if k not in required},
    )


timestamps = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from(["2024-03-01T10:00:00Z", "2024-03-01", "1709287200000", "yesterday"]),
)
talkwalker_result = shaped(
    {
        "data": shaped(
            {
                "url": st.text(max_size=40),
                "title": st.text(max_size=20),
                "content": st.text(max_size=40),
                "published": timestamps,
                "indexed": timestamps,
                "lang": st.text(max_size=5),
                "sentiment": st.integers(-10, 10),
                "reach": st.integers(-1, 2**64),
                "engagement": st.integers(-1, 2**64),
                "world_data": shaped({"country": st.text(max_size=5), "latitude": st.floats()}),
                "tokens_title": st.lists(st.text(max_size=8), max_size=4),
            }
        ),
        "matched": shaped({"rule_id": st.text(max_size=8), "stream_id": st.text(max_size=8)}),
        "highlighted_data": st.lists(shaped({"title": st.text(max_size=10)}), max_size=2),
    }
)
world = mostly(
    {
        "country": st.text(max_size=5),
        "city": st.sampled_from(["", " Paris ", "null"]),
        "latitude": st.floats(),
        "longitude": st.sampled_from(["2.35", "", "x"]),
    }
)
ids = st.one_of(st.text(max_size=6), st.integers(-(2**65), 2**65), st.floats())
# Every field the models read, each plausible or wild: the fast path and the models must agree.
talkwalker_full_result = mostly(
    {
        "data": mostly(
            {
                "url": st.one_of(st.text(min_size=1, max_size=20), st.integers()),
                "published": timestamps,
                "indexed": timestamps,
                "search_indexed": timestamps,
                "title": st.text(max_size=10),
                "content_snippet": ids,
                "root_url": st.text(max_size=5),
                "lang": st.sampled_from(["en", " fr ", ""]),
                "sentiment": st.one_of(st.integers(-10, 10), st.sampled_from(["3", "1,000", "x"])),
                "porn_level": st.floats(),
                "source_type": st.one_of(st.lists(ids, max_size=3), ids),
                "matched_profile": st.lists(st.text(max_size=3), max_size=2),
                "engagement": st.one_of(st.integers(-1, 2**64), st.text(max_size=4)),
                "reach": st.floats(),
                "article_extended_attributes": mostly({"num_comments": ids}),
                "source_extended_attributes": mostly({"alexa_pageviews": ids}),
                "extra_author_attributes": mostly(
                    {"id": ids, "name": st.text(max_size=5), "gender": ids, "world_data": world}
                ),
                "extra_source_attributes": mostly({"id": ids, "name": ids, "world_data": world}),
                "tokens_title": st.lists(st.text(max_size=8), max_size=4),
            },
            required=("url",),
        ),
        "highlighted_data": st.one_of(
            st.lists(
                mostly(
                    {
                        "title_snippet": st.text(max_size=5),
                        "matched": mostly(
                            {
                                "rule_id": ids,
                                "stream_id": ids,
                                "panel_id": st.one_of(ids, st.lists(ids, max_size=2)),
                                "rule_query": st.text(max_size=5),
                            }
                        ),
                    }
                ),
                max_size=3,
            ),
            st.none(),
        ),
    },
    required=("data",),
)
chunks = st.one_of(
    shaped(
        {
            "chunk_type": st.sampled_from(["CT_RESULT", "ct_result", " CT_RESULT "]),
            "chunk_result": st.one_of(st.lists(talkwalker_result, max_size=3), talkwalker_result),
        }
    ),
    shaped(
        {
            "chunk_type": st.just("CT_CONTROL"),
            "chunk_control": shaped(
                {
                    "timeframe_start": timestamps,
                    "timeframe_end": timestamps,
                    "stream": st.lists(
                        shaped(
                            {"id": st.text(max_size=5), "usage": st.integers(), "reset": timestamps}
                        ),
                        max_size=3,
                    ),
                }
            ),
        }
    ),
    shaped(
        {
            "chunk_type": st.just("CT_ERROR"),
            "chunk_error": shaped(
                {"status_code": st.text(max_size=4), "status_message": st.text(max_size=20)}
            ),
        }
    ),
    json_values,
)
tweet = shaped(
    {
        "id_str": st.text(max_size=20),
        "id": st.integers(-(2**70), 2**70),
        "text": st.text(max_size=40),
        "created_at": st.sampled_from(["Wed Oct 10 20:19:24 +0000 2018", "nonsense", ""]),
        "user": shaped({"id_str": st.text(max_size=10), "screen_name": st.text(max_size=10)}),
        "entities": shaped({"hashtags": st.lists(shaped({"text": st.text(max_size=8)}))}),
    }
)
events = st.one_of(
    shaped(
        {
            "tweet_event": shaped(
                {"create": shaped({"tweet": tweet, "tweet_id": st.text(max_size=20)})}
            )
        }
    ),
    shaped(
        {
            "summary_event": shaped(
                {
                    "tweet_id": st.text(max_size=20),
                    "window_end": timestamps,
                    "metrics": shaped(
                        {"impressions": shaped({"total": st.integers(), "unique": st.integers()})}
                    ),
                }
            )
        }
    ),
    shaped({"user_event": shaped({"action": shaped({"type": st.text(max_size=10)})})}),
    json_values,
)


def mangled(value: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Serialised, then perhaps cut short or salted with garbage: how lines arrive broken."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        raw = json.dumps(draw(value)).encode()
        how = draw(st.sampled_from(["whole", "cut", "salt", "bytes"]))
        if how == "cut":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif how == "salt":
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + draw(st.binary(max_size=8)) + raw[at:]
        elif how == "bytes":
            raw = draw(st.binary(max_size=200))
        return raw

    return build()


# --- the parsers ------------------------------------------------------------------------------


@given(mangled(json_values))
def test_lenient_json_gives_a_value_or_says_why_not(raw: bytes) -> None:
    try:
        value, repaired = loads(raw)
    except LenientParseError as exc:
        assert str(exc)
        return
    assert isinstance(repaired, bool)
    json.dumps(value)  # plain JSON data


@given(mangled(chunks))
def test_a_talkwalker_line_becomes_records_or_a_dead_letter_reason(raw: bytes) -> None:
    try:
        chunk = parse_chunk(loads(raw)[0])
    except (LenientParseError, ChunkError) as exc:
        assert str(exc)  # the reason the dead letter carries
        return
    topic = "talkwalker.results"
    if isinstance(chunk, ResultChunk):
        for body in chunk.chunk_result:
            assert len(document_id(body.data.url)) == 64
            codec.encode("talkwalker_result", result_record(body, 1_700_000_000_000), topic)
    elif isinstance(chunk, ControlChunk):
        codec.encode("talkwalker_control", control_record(chunk.chunk_control), topic)
    else:
        assert isinstance(chunk, ErrorChunk)
        record = chunk_error_record(chunk.chunk_error, "reason", "s", None)
        codec.encode("talkwalker_error", record, topic)


@given(
    mostly(
        {
            "chunk_type": st.sampled_from(["CT_RESULT", "ct_result"]),
            "chunk_result": st.one_of(
                st.lists(talkwalker_full_result, max_size=3),
                mostly(
                    {
                        "data": st.one_of(
                            talkwalker_full_result, st.lists(talkwalker_full_result, max_size=2)
                        )
                    }
                ),
            ),
        }
    )
)
def test_the_talkwalker_fast_path_gives_the_models_records_or_steps_aside(value: Any) -> None:
    fast = result_records(value, 1_700_000_000_000)
    try:
        chunk = parse_chunk(value)
    except ChunkError:
        assert fast is None  # what the models reject, the fast path never accepts
        return
    if value["chunk_type"] != "CT_RESULT":
        assert fast is None  # an unusual spelling: the models read it
        return
    assert isinstance(chunk, ResultChunk)
    assert fast == [
        (document_id(body.data.url), result_record(body, 1_700_000_000_000))
        for body in chunk.chunk_result
    ]


# Values the fast path takes, in the shapes they come in: texts with any character (spaces at the
# ends, escapes, astral planes), ids as text or numbers, counts and times as numbers or digits,
# unknown fields of every JSON kind.
any_text = st.text(max_size=12)
tame_ids = st.one_of(any_text, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none())
tame_counts = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.from_regex(r"\A ?-?[0-9]{1,6} ?\Z"), st.none()
)
tame_times = st.one_of(
    st.integers(10**11, 2**63 - 1), st.integers(-(2**20), 2**20), st.from_regex(r"\A[0-9]{1,15}\Z")
)
tame_world = st.fixed_dictionaries(
    {},
    optional={
        **{k: st.one_of(any_text, st.none()) for k in ("continent", "country", "city")},
        "latitude": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()),
        "longitude": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none()),
        "altitude": json_values,
    },
)
tame_lists = st.one_of(
    st.lists(st.one_of(any_text, st.integers(-(2**63), 2**63 - 1), st.none()), max_size=3), any_text
)
talkwalker_tame_result = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {"url": st.one_of(st.text(min_size=1, max_size=20), st.integers(-(2**63), 2**63 - 1))},
            optional={
                **{k: tame_times for k in ("published", "indexed", "search_indexed")},
                **{k: any_text for k in ("title", "content", "root_url", "lang", "title_snippet")},
                **{k: st.integers(-(2**31), 2**31 - 1) for k in ("sentiment", "spam_level")},
                **{k: tame_lists for k in ("source_type", "post_type", "tags_internal")},
                **{k: tame_counts for k in ("engagement", "reach")},
                "article_extended_attributes": st.fixed_dictionaries(
                    {}, optional={"num_comments": tame_counts, "x": json_values}
                ),
                "source_extended_attributes": st.fixed_dictionaries(
                    {}, optional={"alexa_pageviews": tame_counts}
                ),
                "extra_author_attributes": st.fixed_dictionaries(
                    {},
                    optional={"id": tame_ids, "name": any_text, "world_data": tame_world},
                ),
                "extra_source_attributes": st.fixed_dictionaries(
                    {}, optional={"id": tame_ids, "name": tame_ids, "world_data": tame_world}
                ),
                "tokens_title": json_values,
                "extra_article_attributes": json_values,
            },
        ),
    },
    optional={
        "highlighted_data": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "title_snippet": any_text,
                    "matched": st.fixed_dictionaries(
                        {},
                        optional={
                            "rule_id": tame_ids,
                            "stream_id": tame_ids,
                            "panel_id": tame_lists,
                            "extra": json_values,
                        },
                    ),
                    "rank": json_values,
                },
            ),
            max_size=3,
        ),
        "score": json_values,
    },
)
talkwalker_tame_chunks = st.fixed_dictionaries(
    {
        "chunk_type": st.just("CT_RESULT"),
        "chunk_result": st.one_of(
            st.lists(talkwalker_tame_result, min_size=1, max_size=2),
            st.fixed_dictionaries({"data": talkwalker_tame_result}),
        ),
    }
)
talkwalker_full_chunks = mostly(
    {
        "chunk_type": st.sampled_from(["CT_RESULT", "CT_RESULT", "ct_result"]),
        "chunk_result": st.one_of(
            st.lists(talkwalker_full_result, max_size=3),
            mostly(
                {
                    "data": st.one_of(
                        talkwalker_full_result, st.lists(talkwalker_full_result, max_size=2)
                    )
                }
            ),
        ),
    }
)


@st.composite
def written(draw: st.DrawFn, value: st.SearchStrategy[Any]) -> bytes:
    """A chunk as a line, written as a vendor might (escaped or raw UTF-8, spaced or compact,
    indented), and sometimes broken afterwards."""
    text = json.dumps(
        draw(value),
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" , ", " :\t")])),
        indent=draw(st.sampled_from([None, None, 1])),
    )
    raw = draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " "]))
    line = raw.encode("utf-8", "surrogatepass")
    how = draw(st.sampled_from(["whole"] * 7 + ["cut", "salt", "flip"]))
    if how == "cut":
        line = line[: draw(st.integers(0, len(line)))]
    elif how == "salt":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.binary(min_size=1, max_size=4)) + line[at:]
    elif how == "flip" and line:
        at = draw(st.integers(0, len(line) - 1))
        line = line[:at] + bytes([draw(st.integers(0, 255))]) + line[at + 1 :]
    return line


@given(written(st.one_of(talkwalker_tame_chunks, talkwalker_tame_chunks, talkwalker_full_chunks)))
def test_the_talkwalker_transcoder_writes_the_fast_paths_bodies_or_steps_aside(line: bytes) -> None:
    assert NATIVE, "the C transcoder is not built"
    native = result_bodies(line, 1_700_000_000_000)
    try:
        value, repaired = loads(line)
    except LenientParseError:
        assert native is None  # not JSON: never a record
        return
    fast = result_records(value, 1_700_000_000_000)
    event("transcoder: " + ("stepped aside" if native is None else "wrote"))
    event("fast path: " + ("stepped aside" if fast is None else "wrote"))
    if native is None:
        return  # stepping aside is always allowed: the Python paths decide
    assert not repaired  # only strict JSON, read as orjson reads it
    assert fast is not None  # what the fast path leaves to the models, so does the transcoder
    assert native == [(doc_id, _talkwalker_body(record)) for doc_id, record in fast]


def _talkwalker_body(record: dict[str, Any]) -> bytes:
    return codec.encode("talkwalker_result", record)[10:]  # past the single-object header


@given(mangled(events))
def test_an_insightstrack_line_becomes_a_record_or_a_dead_letter_reason(raw: bytes) -> None:
    try:
        event = parse_event(loads(raw)[0])
    except (LenientParseError, EventError) as exc:
        assert str(exc)
        return
    assert event_id(event)
    if isinstance(event, TweetEvent):
        codec.encode(
            "insightstrack_tweet", tweet_record(event.tweet_event.create), "insightstrack.tweets"
        )
    elif isinstance(event, SummaryEvent):
        codec.encode("insightstrack_summary", summary_record(event.summary_event), "x")


sentiment_bodies = shaped(
    {
        "items": st.lists(
            shaped(
                {
                    "date": timestamps,
                    "positive": st.one_of(st.integers(), st.floats()),
                    "negative": st.integers(),
                    "neutral": st.integers(),
                    "total": st.integers(),
                }
            ),
            max_size=4,
        ),
        "requestedInterval": st.one_of(st.integers(), st.text(max_size=4)),
        "pagination": shaped({"next": st.text(max_size=10)}),
        "status": shaped({"cost": st.integers(), "apiDeprecationNotice": json_values}),
    }
)


@given(sentiment_bodies)
def test_a_sentiment_page_gives_buckets_and_explained_invalid_items(body: dict[str, Any]) -> None:
    page = SentimentClient._parse(body)
    for raw, reason in page.invalid:
        assert isinstance(raw, bytes) and reason.startswith("invalid bucket")
    query = SentimentQuery(name="q", interval="1h", keywords=["acme"])
    for outgoing in page_outgoing(query, page):
        codec.encode("sentiment_bucket", outgoing.record, "sentiment.history")


monitor_entries = st.lists(
    st.one_of(
        shaped({"startDate": timestamps, "endDate": timestamps, "date": timestamps,
                "numberOfDocuments": st.integers()}),
        json_values,
    ),
    max_size=4,
)  # fmt: skip


@given(st.sampled_from(sorted(ENDPOINTS)), st.dictionaries(st.text(max_size=12), json_values),
       monitor_entries)  # fmt: skip
def test_a_monitor_body_gives_metric_records_or_an_explained_error(
    metric: str, body: dict[str, Any], entries: list[Any]
) -> None:
    endpoint = ENDPOINTS[metric]
    if endpoint.list_field is not None:
        body = {**body, endpoint.list_field: entries}
    try:
        windows = split_windows(endpoint, 101, body, date(2024, 3, 1), date(2024, 3, 8), "DAILY")
    except MonitorResponseError as exc:
        assert str(exc)
        return
    for window in windows:
        codec.encode("monitor_metric", metric_record(window, 1_700_000_000_000), "monitor.metrics")


valid_records = st.sampled_from(
    [
        codec.encode(
            "checkpoint",
            {"component": "c", "key": "k", "position": "{}", "written_at": 1},
        ),
    ]
)


@st.composite
def avro_inputs(draw: st.DrawFn) -> bytes:
    """Bytes that reach the Avro reader: a known schema's header, then a body that is random,
    or a valid body cut short or with bytes flipped."""
    header = draw(st.sampled_from(sorted({fp for fp in codec._schemas.fingerprints.values()})))
    how = draw(st.sampled_from(["random", "cut", "flip", "raw"]))
    if how == "raw":
        return draw(st.binary(max_size=300))
    if how == "random":
        return b"\xc3\x01" + header + draw(st.binary(max_size=300))
    valid = draw(valid_records)
    if how == "cut":
        return valid[: draw(st.integers(0, len(valid)))]
    at = draw(st.integers(10, len(valid) - 1))
    return valid[:at] + bytes([draw(st.integers(0, 255))]) + valid[at + 1 :]


@given(avro_inputs())
def test_the_avro_decoder_rejects_untrusted_bytes_with_a_decode_error(raw: bytes) -> None:
    try:
        decoded = codec.decode(raw)
    except DecodeError as exc:
        assert str(exc)
        return
    assert isinstance(decoded.value, dict)


twitter_times = st.builds(
    "{} {} {:02d} {:02d}:{:02d}:{:02d} {}{:02d}{:02d} {:04d}".format,
    st.sampled_from(["Mon", "tue", "WED", "Thu", "Fri", "Sat", "Sun", "Xyz"]),
    st.sampled_from(["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Foo"]),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 62),
    st.sampled_from(["+", "-"]),
    st.integers(0, 25),
    st.integers(0, 99),
    st.integers(1, 9999),
)


@given(twitter_times)
def test_twitter_times_read_exactly_as_strptime_reads_them(text: str) -> None:
    def strptime_ms() -> int | str:
        try:
            parsed = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
            return int(parsed.timestamp() * 1000)
        except (ValueError, OverflowError):
            return "rejected"

    try:
        got: int | str | None = to_epoch_ms(text)
    except ValueError:
        got = "rejected"
    assert got == strptime_ms()


@given(
    st.one_of(
        st.integers(0, 10**16).map(str),
        st.from_regex(r"\s*[+-]?[0-9_,]{0,12}(\.[0-9]*)?\s*", fullmatch=True),
        st.text(max_size=6),
    )
)
def test_numbers_and_times_in_strings_read_as_the_general_path_reads_them(text: str) -> None:
    def general(convert: Any) -> Any:
        try:
            return convert(text)
        except ValueError:
            return "rejected"

    def to_int_general(value: str) -> int | None:
        number = _to_int(value)
        if number is not None and not -(2**63) <= number < 2**63:
            raise ValueError("out of range")
        return number

    def to_epoch_general(value: str) -> int | None:
        # A leading space skips the digits-only shortcut; the general path strips it.
        return to_epoch_ms(" " + value) if value.strip() else to_epoch_ms(value)

    assert general(to_int) == general(to_int_general)
    assert general(to_epoch_ms) == general(to_epoch_general)


counts = st.one_of(st.integers(-1, 2**64), st.sampled_from(["12", "1,200", " 7 ", "", "x", "3.5"]))
id_strs = st.one_of(st.integers(0, 2**64).map(str), st.sampled_from(["", " 12 ", "x"]))
times = st.one_of(timestamps, twitter_times)
unknown = {"x_unknown": json_values}
total_unique = mostly(
    {"total": mostly({"count": counts, **unknown}), "unique": mostly({"count": counts}), **unknown}
)
targets = mostly(
    {
        "id": ids,
        "id_str": id_strs,
        "user": mostly({"id": ids, "id_str": id_strs, **unknown}),
        "app_id": ids,
        **unknown,
    }
)
entity_lists = st.lists(
    mostly({"text": st.text(max_size=4), "tag": st.text(max_size=3), "url": st.text(max_size=3)}),
    max_size=2,
)
tweets_full = mostly(
    {
        "id": ids,
        "id_str": id_strs,
        "created_at": times,
        "text": st.text(max_size=8),
        "truncated": st.sampled_from([True, "true", "no", 1, "maybe", None]),
        "in_reply_to_status_id": ids,
        "quote_count": counts,
        "lang": st.sampled_from(["en", " fr ", ""]),
        "timestamp_ms": times,
        "entities": mostly(
            {
                "hashtags": entity_lists,
                "urls": entity_lists,
                "user_mentions": entity_lists,
                **unknown,
            }
        ),
        "user": mostly(
            {
                "id": ids,
                "id_str": id_strs,
                "screen_name": st.text(max_size=5),
                "followers_count": counts,
                "verified": st.sampled_from([True, "false", 0, "x"]),
                "created_at": times,
                **unknown,
            }
        ),
        **unknown,
    },
    required=("id",),
)
insightstrack_full_events = st.one_of(
    st.fixed_dictionaries(
        {
            "tweet_event": st.fixed_dictionaries(
                {
                    "create": mostly(
                        {"date_time": times, "target": targets, "tweet": tweets_full, **unknown},
                        required=("tweet",),
                    )
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "summary_event": mostly(
                {
                    "start_time": times,
                    "end_time": times,
                    "target": targets,
                    "metrics": mostly(
                        {
                            "impressions": total_unique,
                            "engagements": mostly(
                                {
                                    "overall": total_unique,
                                    "metric_counts": st.dictionaries(
                                        st.text(max_size=5), total_unique, max_size=3
                                    ),
                                    **unknown,
                                }
                            ),
                            **unknown,
                        }
                    ),
                    **unknown,
                },
                required=("start_time", "end_time", "target"),
            )
        }
    ),
)


@given(insightstrack_full_events)
def test_the_insightstrack_fast_path_gives_the_models_records_or_steps_aside(value: Any) -> None:
    fast = fast_event(value)
    try:
        event = parse_event(value)
    except EventError:
        assert fast is None  # what the models reject, the fast path never accepts
        return
    if isinstance(event, TweetEvent):
        create = event.tweet_event.create
        expected = ("insightstrack.tweets", str(create.tweet_id), event_id(event))
        assert fast == (*expected, tweet_record(create))
    else:
        assert isinstance(event, SummaryEvent)
        record = summary_record(event.summary_event)
        expected = ("insightstrack.summaries", str(record["tweet_id"]), event_id(event))
        assert fast == (*expected, record)
