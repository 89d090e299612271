"""The Talkwalker fast path takes the simulator's results and gives the models' records."""

from __future__ import annotations

import pytest

from socialstream.connectors.talkwalker.fast_results import result_records
from socialstream.connectors.talkwalker.models import ChunkError, ResultChunk, parse_chunk
from socialstream.connectors.talkwalker.records import document_id, result_record
from socialstream.runtime.lenient import loads
from socialstream.simulators.talkwalker.corpus import Corpus


def test_realistic_results_take_the_fast_path_and_match_the_models() -> None:
    corpus = Corpus(seed=3, timeframes=1, per_timeframe=400)
    lines = [corpus.result_chunk(0, i, corpus.streams) for i in range(400)]
    for line in filter(None, lines):
        value, _ = loads(line)
        fast = result_records(value, 1_700_000_000_000)
        assert fast is not None
        chunk = parse_chunk(value)
        assert isinstance(chunk, ResultChunk)
        assert fast == [
            (document_id(body.data.url), result_record(body, 1_700_000_000_000))
            for body in chunk.chunk_result
        ]


def test_other_chunks_and_odd_shapes_are_left_to_the_models() -> None:
    control = {"chunk_type": "CT_CONTROL", "chunk_control": {"timeframe_start": 1}}
    assert result_records(control, None) is None
    no_url = {"chunk_type": "CT_RESULT", "chunk_result": [{"data": {"title": "t"}}]}
    assert result_records(no_url, None) is None
    odd_author = {
        "chunk_type": "CT_RESULT",
        "chunk_result": [{"data": {"url": "u", "extra_author_attributes": "someone"}}],
    }
    assert result_records(odd_author, None) is None


def test_a_coordinate_past_a_doubles_range_is_refused_by_both_paths() -> None:
    world = {"latitude": 10**400}
    line = {
        "chunk_type": "CT_RESULT",
        "chunk_result": [{"data": {"url": "u", "extra_source_attributes": {"world_data": world}}}],
    }
    assert result_records(line, None) is None
    with pytest.raises(ChunkError, match="latitude: Value error, outside the range of a double"):
        parse_chunk(line)
