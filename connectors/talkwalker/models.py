"""Talkwalker streaming v2 chunks as the vendor sends them, validated leniently.

Three chunk types arrive on one connection, one JSON object a `\\r\\n`-separated line:
CT_RESULT (a document and the rules it matched), CT_CONTROL (the timeframe the following
results belong to, plus stream quota state) and CT_ERROR. The documents show a result's
`chunk_result.data` both as one object and as a list of objects; both are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, field_validator

from socialstream.runtime.lenient import (
    Count,
    EpochMillis,
    LenientFloat,
    LenientInt32,
    LenientStr,
    StrList,
    VendorModel,
    to_epoch_ms,
    to_str,
)


class WorldData(VendorModel):
    continent: LenientStr = None
    country: LenientStr = None
    region: LenientStr = None
    city: LenientStr = None
    country_code: LenientStr = None
    latitude: LenientFloat = None
    longitude: LenientFloat = None

    def is_empty(self) -> bool:
        """True for the vendor's `"world_data": {}`."""
        return all(getattr(self, name) is None for name in _WORLD_FIELDS)


_WORLD_FIELDS = tuple(WorldData.model_fields)


class AuthorAttributes(VendorModel):
    world_data: WorldData | None = None
    id: LenientStr = None
    name: LenientStr = None
    gender: LenientStr = None
    image_url: LenientStr = None
    url: LenientStr = None


class SourceAttributes(VendorModel):
    world_data: WorldData | None = None
    id: LenientStr = None
    name: LenientStr = None


class ArticleExtended(VendorModel):
    num_comments: Count = None


class SourceExtended(VendorModel):
    alexa_pageviews: Count = None


class ResultData(VendorModel):
    """The document of a result (the "default result data" of the search API)."""

    url: Annotated[str, BeforeValidator(to_str)]
    indexed: EpochMillis = None
    search_indexed: EpochMillis = None
    published: EpochMillis = None
    title: LenientStr = None
    content: LenientStr = None
    title_snippet: LenientStr = None
    content_snippet: LenientStr = None
    root_url: LenientStr = None
    domain_url: LenientStr = None
    host_url: LenientStr = None
    parent_url: LenientStr = None
    lang: LenientStr = None
    porn_level: LenientInt32 = None
    fluency_level: LenientInt32 = None
    spam_level: LenientInt32 = None
    sentiment: LenientInt32 = None
    source_type: StrList = Field(default_factory=list)
    post_type: StrList = Field(default_factory=list)
    matched_profile: StrList = Field(default_factory=list)
    tags_internal: StrList = Field(default_factory=list)
    engagement: Count = None
    reach: Count = None
    article_extended_attributes: ArticleExtended | None = None
    source_extended_attributes: SourceExtended | None = None
    extra_author_attributes: AuthorAttributes | None = None
    extra_source_attributes: SourceAttributes | None = None

    @field_validator("url")
    @classmethod
    def _url_present(cls, value: str) -> str:
        if not value:
            raise ValueError("a result needs a url: it is the document's identity")
        return value


class Matched(VendorModel):
    rule_id: LenientStr = None
    stream_id: LenientStr = None
    panel_id: StrList = Field(default_factory=list)
    rule_query: LenientStr = None


class Highlight(VendorModel):
    title_snippet: LenientStr = None
    content_snippet: LenientStr = None
    matched: Matched | None = None


class ResultBody(VendorModel):
    """One result: the document and one highlight per matched rule."""

    data: ResultData
    highlighted_data: list[Highlight] = Field(default_factory=list)

    @field_validator("highlighted_data", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def _results(value: Any) -> Any:
    """`chunk_result` as a list of result bodies, whichever shape the vendor used."""
    if isinstance(value, dict):
        data = value.get("data")
        return data if isinstance(data, list) else [data]
    return value


class ResultChunk(VendorModel):
    chunk_type: Literal["CT_RESULT"]
    chunk_result: Annotated[list[ResultBody], BeforeValidator(_results)]


class StreamStatus(VendorModel):
    id: LenientStr = None
    status: LenientStr = None
    allowance: Count = None
    usage: Count = None
    reset: EpochMillis = None


class ControlData(VendorModel):
    timeframe_start: Annotated[int, BeforeValidator(to_epoch_ms)]
    timeframe_end: EpochMillis = None
    stream: list[StreamStatus] = Field(default_factory=list)


class ControlChunk(VendorModel):
    chunk_type: Literal["CT_CONTROL"]
    chunk_control: ControlData


class ErrorDetail(VendorModel):
    key: LenientStr = None
    value: StrList = Field(default_factory=list)


class ErrorData(VendorModel):
    status_code: LenientStr = None
    status_message: LenientStr = None
    data: list[ErrorDetail] = Field(default_factory=list)


class ErrorChunk(VendorModel):
    chunk_type: Literal["CT_ERROR"]
    chunk_error: ErrorData


Chunk = Annotated[ResultChunk | ControlChunk | ErrorChunk, Field(discriminator="chunk_type")]
_CHUNK: TypeAdapter[ResultChunk | ControlChunk | ErrorChunk] = TypeAdapter(Chunk)


class ChunkError(ValueError):
    """A line that is JSON but not a valid chunk; the message says what is wrong."""


def parse_chunk(value: Any) -> ResultChunk | ControlChunk | ErrorChunk:
    """Validate one decoded chunk. `chunk_type` is matched case-insensitively."""
    if not isinstance(value, dict):
        raise ChunkError(f"a chunk is a JSON object, got {type(value).__name__}")
    chunk_type = value.get("chunk_type")
    if isinstance(chunk_type, str):
        value = {**value, "chunk_type": chunk_type.strip().upper()}
    if value.get("chunk_type") not in ("CT_RESULT", "CT_CONTROL", "CT_ERROR"):
        raise ChunkError(f"unknown chunk_type {chunk_type!r}")
    try:
        return _CHUNK.validate_python(value)
    except ValidationError as exc:
        raise ChunkError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
