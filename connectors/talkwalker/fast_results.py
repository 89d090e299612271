"""CT_RESULT chunks straight from decoded JSON to records: the path nearly every line takes.

Validating a result through the pydantic models and then copying it into a record cost about
120 µs a document (measured), most of the connector's time. `result_records` reads the decoded
chunk directly with the same lenient converters, and gives the very records
`parse_chunk` + `result_record` give (a property test holds the two paths equal).
`result_bodies` goes further where the C transcoder is built (`_results_native.pyx`): the raw
line straight to each result's Avro body, the bytes the codec writes for the record
`result_records` gives (a property test holds that too), in a few µs instead of ~45 for parsing,
building and encoding.

Each only takes what it is sure of: a chunk of another type, a field of an unexpected shape or a
value a converter rejects makes it return None, and the caller takes the next path, down to the
models, which repair what can be repaired and explain what cannot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from socialstream.connectors.talkwalker.records import document_id
from socialstream.runtime.codec import schema_fingerprint
from socialstream.runtime.lenient import (
    FastPathMiss,
    dump_extra,
    object_or_none,
    to_count,
    to_epoch_ms,
    to_float,
    to_int32,
    to_str,
    to_str_list,
    unknown_keys,
)
from socialstream.schemas import load_schema

if TYPE_CHECKING:
    from socialstream.connectors.talkwalker._results_native import Transcoder

log = logging.getLogger(__name__)

# The fields the models name; everything else is kept in `extra`, as the models keep it.
_DATA_FIELDS = frozenset(
    (
        *("url", "indexed", "search_indexed", "published", "title", "content", "title_snippet"),
        *("content_snippet", "root_url", "domain_url", "host_url", "parent_url", "lang"),
        *("porn_level", "fluency_level", "spam_level", "sentiment", "source_type", "post_type"),
        *("matched_profile", "tags_internal", "engagement", "reach"),
        *("article_extended_attributes", "source_extended_attributes"),
        *("extra_author_attributes", "extra_source_attributes"),
    )
)
_WORLD_STR = ("continent", "country", "region", "city", "country_code")
_WORLD_FIELDS = frozenset((*_WORLD_STR, "latitude", "longitude"))
_AUTHOR_STR = ("id", "name", "gender", "image_url", "url")
_AUTHOR_FIELDS = frozenset((*_AUTHOR_STR, "world_data"))
_SOURCE_FIELDS = frozenset(("id", "name", "world_data"))
_MATCHED_FIELDS = frozenset(("rule_id", "stream_id", "panel_id", "rule_query"))
_HIGHLIGHT_FIELDS = frozenset(("title_snippet", "content_snippet", "matched"))
_BODY_FIELDS = frozenset(("data", "highlighted_data"))
_ARTICLE_FIELDS = frozenset(("num_comments",))
_EXTENDED_FIELDS = frozenset(("alexa_pageviews",))


def _world(value: Any, extra: dict[str, Any], name: str) -> dict[str, Any] | None:
    """`world_data` as a location record (None when empty), its unknown fields into `extra`."""
    world = object_or_none(value)
    if world is None:
        return None
    location: dict[str, Any] = {k: to_str(world.get(k)) for k in _WORLD_STR}
    location["latitude"] = to_float(world.get("latitude"))
    location["longitude"] = to_float(world.get("longitude"))
    unknown = unknown_keys(world, _WORLD_FIELDS)
    if unknown:
        extra[name] = unknown
    if all(v is None for v in location.values()):
        return None
    return location


def _result(body: Any, timeframe_start: int | None) -> tuple[str, dict[str, Any]]:
    if type(body) is not dict:
        raise FastPathMiss
    data = body.get("data")
    if type(data) is not dict or "url" not in data:
        raise FastPathMiss
    url = to_str(data["url"])
    if not url:
        raise FastPathMiss
    doc_id = document_id(url)
    extra_data = unknown_keys(data, _DATA_FIELDS)

    article = object_or_none(data.get("article_extended_attributes"))
    if article:
        unknown = unknown_keys(article, _ARTICLE_FIELDS)
        if unknown:
            extra_data["article_extended_attributes"] = unknown
    extended = object_or_none(data.get("source_extended_attributes"))
    if extended:
        unknown = unknown_keys(extended, _EXTENDED_FIELDS)
        if unknown:
            extra_data["source_extended_attributes"] = unknown

    author_record: dict[str, Any] | None = None
    author = object_or_none(data.get("extra_author_attributes"))
    if author is not None:
        author_extra = unknown_keys(author, _AUTHOR_FIELDS)
        author_record = {k: to_str(author.get(k)) for k in _AUTHOR_STR}
        author_record["location"] = _world(author.get("world_data"), author_extra, "world_data")
        if author_extra:
            extra_data["extra_author_attributes"] = author_extra
    source_record = None
    source = object_or_none(data.get("extra_source_attributes"))
    if source is not None or extended is not None:
        source_extra: dict[str, Any] = {}
        source_record = {
            "id": to_str(source.get("id")) if source is not None else None,
            "name": to_str(source.get("name")) if source is not None else None,
            "location": (
                _world(source.get("world_data"), source_extra, "world_data")
                if source is not None
                else None
            ),
            "alexa_pageviews": (
                to_count(extended.get("alexa_pageviews")) if extended is not None else None
            ),
        }
        if source is not None:
            source_extra.update(unknown_keys(source, _SOURCE_FIELDS))
        if source_extra:
            extra_data["extra_source_attributes"] = source_extra

    highlights = body.get("highlighted_data")
    if highlights is None:
        highlights = []
    elif type(highlights) is not list:
        highlights = [highlights]
    matches = []
    extra_highlights = []
    for highlight in highlights:
        if type(highlight) is not dict:
            raise FastPathMiss
        matched = object_or_none(highlight.get("matched"))
        matches.append(
            {
                "stream_id": to_str(matched.get("stream_id")) if matched is not None else None,
                "rule_id": to_str(matched.get("rule_id")) if matched is not None else None,
                "panel_ids": to_str_list(matched.get("panel_id")) if matched is not None else [],
                "rule_query": to_str(matched.get("rule_query")) if matched is not None else None,
                "title_snippet": to_str(highlight.get("title_snippet")),
                "content_snippet": to_str(highlight.get("content_snippet")),
            }
        )
        unknown = unknown_keys(highlight, _HIGHLIGHT_FIELDS)
        if matched is not None:
            matched_extra = unknown_keys(matched, _MATCHED_FIELDS)
            if matched_extra:
                unknown["matched"] = matched_extra
        extra_highlights.append(unknown)
    extra = unknown_keys(body, _BODY_FIELDS)
    if extra_data:
        extra["data"] = extra_data
    if any(extra_highlights):
        extra["highlighted_data"] = extra_highlights
    get = data.get
    return doc_id, {
        "document_id": doc_id,
        "url": url,
        "published": to_epoch_ms(get("published")),
        "indexed": to_epoch_ms(get("indexed")),
        "search_indexed": to_epoch_ms(get("search_indexed")),
        "title": to_str(get("title")),
        "content": to_str(get("content")),
        "title_snippet": to_str(get("title_snippet")),
        "content_snippet": to_str(get("content_snippet")),
        "root_url": to_str(get("root_url")),
        "domain_url": to_str(get("domain_url")),
        "host_url": to_str(get("host_url")),
        "parent_url": to_str(get("parent_url")),
        "lang": to_str(get("lang")),
        "sentiment": to_int32(get("sentiment")),
        "porn_level": to_int32(get("porn_level")),
        "fluency_level": to_int32(get("fluency_level")),
        "spam_level": to_int32(get("spam_level")),
        "source_type": to_str_list(get("source_type")),
        "post_type": to_str_list(get("post_type")),
        "matched_profile": to_str_list(get("matched_profile")),
        "tags_internal": to_str_list(get("tags_internal")),
        "engagement": to_count(get("engagement")),
        "reach": to_count(get("reach")),
        "num_comments": to_count(article.get("num_comments")) if article is not None else None,
        "author": author_record,
        "source": source_record,
        "matches": matches,
        "timeframe_start": timeframe_start,
        "extra": dump_extra(extra) if extra else None,
    }


def result_records(
    value: Any, timeframe_start: int | None
) -> list[tuple[str, dict[str, Any]]] | None:
    """(document id, record) of each result of a decoded CT_RESULT chunk; None: use the models."""
    if type(value) is not dict or value.get("chunk_type") != "CT_RESULT":
        return None
    results = value.get("chunk_result")
    if type(results) is dict:
        inner = results.get("data")
        results = inner if type(inner) is list else [inner]
    elif type(results) is not list:
        return None
    try:
        return [_result(body, timeframe_start) for body in results]
    except (FastPathMiss, ValueError, TypeError):
        return None


def _transcoder() -> Transcoder | None:
    """The C transcoder, if it is built and writes the shipped schema (else None)."""
    try:
        from socialstream.connectors.talkwalker import _results_native as native
    except ImportError:  # installed without a C compiler: result_records serves alone
        return None
    shipped = schema_fingerprint(load_schema("talkwalker_result")).hex()
    if shipped != native.LAYOUT:
        log.warning(
            "the Talkwalker transcoder writes schema %s, not the shipped %s: not used",
            native.LAYOUT,
            shipped,
        )
        return None
    known = {
        "data": _DATA_FIELDS,
        "world": _WORLD_FIELDS,
        "author": _AUTHOR_FIELDS,
        "source": _SOURCE_FIELDS,
        "matched": _MATCHED_FIELDS,
        "highlight": _HIGHLIGHT_FIELDS,
        "body": _BODY_FIELDS,
        "article": _ARTICLE_FIELDS,
        "extended": _EXTENDED_FIELDS,
    }
    try:
        return native.Transcoder(known)
    except ValueError as exc:  # its field tables and ours disagree: a build from other sources
        log.warning("the Talkwalker transcoder is not used: %s", exc)
        return None


_native = _transcoder()
NATIVE = _native is not None  # whether result_bodies can answer at all


def result_bodies(
    line: bytes, timeframe_start: int | None, header: bytes = b""
) -> list[tuple[str, bytes]] | None:
    """(document id, `header` + the Avro body of its `TalkwalkerResult`) of each result of a
    CT_RESULT line, parsed and written by the C transcoder (`header`: the codec's framing, written
    first so that the value needs no copy); None: use `loads` and `result_records` (no
    transcoder, or not a line it reads)."""
    if _native is None:
        return None
    return _native(line, timeframe_start, header)


def result_lines(
    lines: tuple[bytes, ...],
    first: int,
    timeframe_start: int | None,
    header: bytes,
    prefix: bytes,
    line_no: int,
    headers: tuple[tuple[str, bytes], ...],
) -> tuple[list[tuple[bytes, bytes, list[tuple[str, bytes]]]], int, int]:
    """The lines of one read from `first` on, up to the first the C transcoder does not read
    (not a CT_RESULT, or an odd one): ([(key, `header` + Avro body, record headers)], the index
    of that line (len(lines) when there is none), the number of the last line read). A record's
    headers are `headers`, then `source_position`: `prefix` + its line number. Keep-alives
    (empty or all-whitespace lines) are skipped, not numbered. Without the transcoder, no line
    is read here: ([], first, line_no)."""
    if _native is None:
        return [], first, line_no
    return _native.lines(lines, first, timeframe_start, header, prefix, line_no, headers)
