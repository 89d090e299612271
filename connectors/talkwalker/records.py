"""Talkwalker chunks as the Avro records of talkwalker.results / .control / .errors."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from socialstream.connectors.talkwalker.models import (
    ControlData,
    ErrorData,
    ResultBody,
    WorldData,
)


def document_id(url: str) -> str:
    """The record key of a result: hex SHA-256 of its URL, stable across replays."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _location(world: WorldData | None) -> dict[str, Any] | None:
    if world is None or world.is_empty():
        return None
    return {
        "continent": world.continent,
        "country": world.country,
        "region": world.region,
        "city": world.city,
        "country_code": world.country_code,
        "latitude": world.latitude,
        "longitude": world.longitude,
    }


def result_record(body: ResultBody, timeframe_start: int | None) -> dict[str, Any]:
    """A `TalkwalkerResult` record from one result of a CT_RESULT chunk."""
    data = body.data
    author = data.extra_author_attributes
    source = data.extra_source_attributes
    extended = data.source_extended_attributes
    return {
        "document_id": document_id(data.url),
        "url": data.url,
        "published": data.published,
        "indexed": data.indexed,
        "search_indexed": data.search_indexed,
        "title": data.title,
        "content": data.content,
        "title_snippet": data.title_snippet,
        "content_snippet": data.content_snippet,
        "root_url": data.root_url,
        "domain_url": data.domain_url,
        "host_url": data.host_url,
        "parent_url": data.parent_url,
        "lang": data.lang,
        "sentiment": data.sentiment,
        "porn_level": data.porn_level,
        "fluency_level": data.fluency_level,
        "spam_level": data.spam_level,
        "source_type": data.source_type,
        "post_type": data.post_type,
        "matched_profile": data.matched_profile,
        "tags_internal": data.tags_internal,
        "engagement": data.engagement,
        "reach": data.reach,
        "num_comments": (
            data.article_extended_attributes.num_comments
            if data.article_extended_attributes
            else None
        ),
        "author": (
            {
                "id": author.id,
                "name": author.name,
                "gender": author.gender,
                "image_url": author.image_url,
                "url": author.url,
                "location": _location(author.world_data),
            }
            if author
            else None
        ),
        "source": (
            {
                "id": source.id if source else None,
                "name": source.name if source else None,
                "location": _location(source.world_data) if source else None,
                "alexa_pageviews": extended.alexa_pageviews if extended else None,
            }
            if source or extended
            else None
        ),
        "matches": [
            {
                "stream_id": h.matched.stream_id if h.matched else None,
                "rule_id": h.matched.rule_id if h.matched else None,
                "panel_ids": h.matched.panel_id if h.matched else [],
                "rule_query": h.matched.rule_query if h.matched else None,
                "title_snippet": h.title_snippet,
                "content_snippet": h.content_snippet,
            }
            for h in body.highlighted_data
        ],
        "timeframe_start": timeframe_start,
        "extra": body.extra_json(),
    }


def control_record(data: ControlData) -> dict[str, Any]:
    """A `TalkwalkerControl` record from a CT_CONTROL chunk."""
    return {
        "timeframe_start": data.timeframe_start,
        "timeframe_end": data.timeframe_end,
        "streams": [
            {
                "id": s.id or "",
                "status": s.status,
                "allowance": s.allowance,
                "usage": s.usage,
                "reset": s.reset,
            }
            for s in data.stream
        ],
        "extra": data.extra_json(),
    }


def chunk_error_record(
    data: ErrorData,
    meaning: str | None,
    stream_ids: str | None,
    timeframe_start: int | None,
) -> dict[str, Any]:
    """A `TalkwalkerError` record from a CT_ERROR chunk."""
    return {
        "origin": "CHUNK",
        "status_code": data.status_code,
        "http_status": None,
        "message": data.status_message or "",
        "meaning": meaning,
        "details": [{"key": d.key or "", "values": d.value} for d in data.data],
        "stream_ids": stream_ids,
        "timeframe_start": timeframe_start,
        "occurred_at": int(time.time() * 1000),
        "extra": data.extra_json(),
    }
