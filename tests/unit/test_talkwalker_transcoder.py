"""The C transcoder writes each CT_RESULT line's Avro bodies exactly as the Python paths would,
and steps aside on what it does not read the way orjson and the fast path do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from socialstream.connectors.talkwalker.fast_results import (
    NATIVE,
    result_bodies,
    result_lines,
    result_records,
)
from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.lenient import loads
from socialstream.simulators.talkwalker.corpus import Corpus

TIMEFRAME = 1_700_000_000_000
codec = SingleObjectCodec()


def python_bodies(line: bytes) -> list[tuple[str, bytes]] | None:
    """What the source writes without the transcoder: orjson, the fast path, the codec."""
    records = result_records(loads(line)[0], TIMEFRAME)
    if records is None:
        return None
    return [(doc_id, codec.encode("talkwalker_result", r)[10:]) for doc_id, r in records]


def line_of(data: dict[str, Any], **body: Any) -> bytes:
    return json.dumps(
        {"chunk_type": "CT_RESULT", "chunk_result": [{"data": data, **body}]}, ensure_ascii=False
    ).encode()


def test_the_transcoder_is_built_and_writes_the_shipped_schema() -> None:
    assert NATIVE  # `make install` builds it; without it every line takes the ~45 µs Python path


def test_every_simulator_result_is_transcoded_as_the_python_paths_write_it() -> None:
    corpus = Corpus(seed=3, timeframes=1, per_timeframe=400)
    lines = [corpus.result_chunk(0, i, corpus.streams) for i in range(400)]
    for line in filter(None, lines):
        native = result_bodies(line, TIMEFRAME)
        assert native is not None
        assert native == python_bodies(line)


def test_the_codecs_framing_comes_first_so_each_value_is_a_whole_record() -> None:
    line = Corpus(seed=3, timeframes=1, per_timeframe=1).result_chunk(0, 0, ("stream-a",))
    assert line is not None
    framing = codec.frame("talkwalker_result", b"")
    ((doc_id, value),) = result_bodies(line, TIMEFRAME, framing) or []
    ((_, body),) = python_bodies(line) or []
    assert value == framing + body
    assert codec.decode(value).value["document_id"] == doc_id


READ_ALIKE = {
    "escapes and astral characters": line_of(
        {"url": "u", "title": "\t caf\\u00e9 \\ud83d\\ude00 \n", "content": 'a "quoted" \\\\ b'}
    ).replace(b"\\\\u", b"\\u"),
    "whitespace past ASCII at the ends": line_of(
        {"url": "u", "title": "\u00a0x\u3000", "lang": "\u2028"}
    ),
    "numbers and booleans where text is due": line_of(
        {"url": 12, "title": True, "lang": -9223372036854775808, "root_url": 1.5}
    ),
    "counts and times as text": line_of(
        {"url": "u", "engagement": " 1,234 ", "reach": "12.5", "published": "1700000000"}
    ),
    "counts and levels as digits, leading zeros, 18 digits": line_of(
        {"url": "u", "engagement": "0042", "reach": "123456789012345678", "spam_level": "7"}
    ),
    "digits past what the C reads: 19 of them, a level's largest": line_of(
        {"url": "u", "reach": "1234567890123456789", "fluency_level": "2147483647"}
    ),
    "times in seconds and ISO": line_of(
        {"url": "u", "published": 1700000000, "indexed": "2024-03-01T10:00:00Z"}
    ),
    "lists of odd items": line_of(
        {"url": "u", "source_type": ["a", " ", None, {"x": 1}, 7, False], "post_type": "null"}
    ),
    "a coordinate written as an int": line_of(
        {"url": "u", "extra_source_attributes": {"world_data": {"latitude": 49, "longitude": 1e5}}}
    ),
    "unknown fields of every kind, sorted in extra": line_of(
        {"url": "u", "zeta": [1.5, -0.0, 1e300, {"b": 1, "a": "\u00e9\n"}], "alpha": None},
        score={"z": True, "a": [1, 2]},
        highlighted_data=[{"matched": {"stream_id": "s", "weight": 0.5}, "rank": 1}, {}],
    ),
    "a repeated key: the last value counts": (
        b'{"chunk_type":"CT_RESULT","chunk_result":[{"data":'
        b'{"url":"u","title":"first","title":"second","x":1,"x":2}}]}'
    ),
    "chunk_result as an object": (
        b'{"chunk_type":"CT_RESULT","chunk_result":{"data":[{"data":{"url":"a"}},'
        b'{"data":{"url":"b"}}]}}'
    ),
    "unknown values in raw UTF-8, written from the line's bytes": line_of(
        {"url": "u", "tokens": ["caf\u00e9", "\u20ac", "\U0001f600", "del\x7f", "~ok"]},
        rank={"\u00e9t\u00e9": 1, "ete": 2, "\U0001f600": 3, "Z": [{"b": None, "a": -0.0}]},
    ),
    "a repeated key inside an unknown object": (
        b'{"chunk_type":"CT_RESULT","chunk_result":[{"data":{"url":"u",'
        b'"extra":{"b":1,"a":[2],"b":"last","a":{"x":true},"c":false}}}]}'
    ),
    "an unknown object larger than the sort in C": line_of(
        {"url": "u", "wide": {f"k{i:03d}": i for i in reversed(range(40))}}
    ),
    "blank author and source": line_of(
        {"url": "u", "extra_author_attributes": {}, "source_extended_attributes": {"alexa": 1}}
    ),
}


@pytest.mark.parametrize("line", READ_ALIKE.values(), ids=READ_ALIKE.keys())
def test_unusual_but_valid_lines_are_transcoded_as_the_python_paths_write_them(line: bytes) -> None:
    expected = python_bodies(line)
    assert expected is not None
    assert result_bodies(line, TIMEFRAME) == expected


STEPS_ASIDE = {
    "not JSON": b'{"chunk_type":"CT_RESULT",',
    "trailing garbage": line_of({"url": "u"}) + b" x",
    "another chunk type": b'{"chunk_type":"CT_CONTROL","chunk_control":{}}',
    "a number past 64 bits": line_of({"url": "u", "reach": 2**64}),
    "NaN, which orjson refuses": line_of({"url": "u", "title": "t"}).replace(b'"t"', b"NaN"),
    "a lone surrogate": line_of({"url": "u", "title": "x"}).replace(b'"x"', b'"\\ud800"'),
    "a key with an escape": line_of({"url": "u"}).replace(b'"url"', b'"ur\\u006c"'),
    "invalid UTF-8": line_of({"url": "u", "title": "x"}).replace(b'"x"', b'"\xc3\x28"'),
    "a leading zero": line_of({"url": "u", "reach": 7}).replace(b"7", b"07"),
    "nesting past 64 levels": line_of({"url": "u", "deep": json.loads("[" * 70 + "]" * 70)}),
    "no url": line_of({"title": "t"}),
    "a level past 32 bits": line_of({"url": "u", "sentiment": 2**40}),
    "a level past 32 bits, as digits": line_of({"url": "u", "spam_level": "2147483648"}),
    "a line over 1 MiB (its node array would outgrow orjson's objects)": line_of(
        {"url": "u", "content": "x" * (1 << 20)}
    ),
}


@pytest.mark.parametrize("line", STEPS_ASIDE.values(), ids=STEPS_ASIDE.keys())
def test_what_it_does_not_read_as_orjson_would_is_left_to_the_python_paths(line: bytes) -> None:
    assert result_bodies(line, TIMEFRAME) is None


def test_a_read_is_transcoded_up_to_the_first_line_it_does_not_read() -> None:
    corpus = Corpus(seed=3, timeframes=1, per_timeframe=40)
    good = [line for line in (corpus.result_chunk(0, i, ("stream-a",)) for i in range(40)) if line]
    control = b'{"chunk_type":"CT_CONTROL","chunk_control":{}}'
    lines = (good[0], b"", b" \t", good[1], control, good[2])
    prefix = b"stream=a;timeframe_start=1;line="
    headers = (("source", b"talkwalker"), ("ingested_at", b"1"))

    results, index, line_no = result_lines(lines, 0, TIMEFRAME, b"F", prefix, 10, headers)
    assert (index, line_no) == (4, 12)  # the control chunk is left, keep-alives not counted
    expected = [r for line in good[:2] for r in python_bodies(line) or []]
    assert [(key.decode(), value) for key, value, _ in results] == [
        (doc_id, b"F" + body) for doc_id, body in expected
    ]
    assert [h for _, _, h in results] == [
        [*headers, ("source_position", prefix + b"11")],
        [*headers, ("source_position", prefix + b"12")],
    ]

    results, index, line_no = result_lines(lines, 5, TIMEFRAME, b"", prefix, 13, headers)
    assert (index, line_no) == (6, 14)
    assert [h[-1] for _, _, h in results] == [("source_position", prefix + b"14")]


def test_a_line_with_one_unreadable_result_gives_none_of_its_results() -> None:
    line = json.dumps(
        {"chunk_type": "CT_RESULT", "chunk_result": [{"data": {"url": "a"}}, {"data": {}}]}
    ).encode()
    assert result_lines((line,), 0, TIMEFRAME, b"", b"p=", 0, ()) == ([], 0, 0)
