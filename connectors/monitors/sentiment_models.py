"""GET /sentiment/history responses, validated leniently (camelCase as the vendor sends it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from socialstream.runtime.lenient import (
    Count,
    EpochMillis,
    LenientFloat,
    LenientStr,
    VendorModel,
    to_epoch_ms,
)

RequiredTime = Annotated[int, BeforeValidator(to_epoch_ms)]


class SentimentItem(VendorModel):
    """One interval bucket."""

    percentage_positive_posts: LenientFloat = Field(None, alias="percentagePositivePosts")
    percentage_negative_posts: LenientFloat = Field(None, alias="percentageNegativePosts")
    percentage_neutral_posts: LenientFloat = Field(None, alias="percentageNeutralPosts")
    sentiment: LenientFloat = None
    posts_count: Count = Field(None, alias="postsCount")
    start_date: RequiredTime = Field(alias="startDate")
    end_date: RequiredTime = Field(alias="endDate")


class Pagination(VendorModel):
    self_link: LenientStr = Field(None, alias="self")
    prev: LenientStr = None
    next: LenientStr = None


class DeprecationNotice(VendorModel):
    message: LenientStr = None
    shutdown_date: EpochMillis = Field(None, alias="shutdownDate")


class Status(VendorModel):
    cost: Count = None
    api_deprecation_notice: DeprecationNotice | None = Field(None, alias="apiDeprecationNotice")


class SentimentHistoryPage(VendorModel):
    """A 200 response: a page of buckets, the cursor to the next one, the credits it cost."""

    items: list[SentimentItem] = Field(default_factory=list)
    requested_interval: Count = Field(None, alias="requestedInterval")
    pagination: Pagination | None = None
    status: Status | None = None


class ApiError(VendorModel):
    message: LenientStr = None
    code: Count = None
    user_id: LenientStr = Field(None, alias="userId")
    request_id: LenientStr = Field(None, alias="requestId")


class SentimentErrorBody(VendorModel):
    """An error response (400, 401, 403, 429; 500 has only `requestId`)."""

    error: ApiError | None = None
    status: Status | None = None
    request_id: LenientStr = Field(None, alias="requestId")


UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10_080, "M": 43_200, "y": 525_600}


def interval_minutes(value: str | int) -> int:
    """Minutes in an `interval` (`90`, `15m`, `1h`, `1d`, `1w`, `1M` = 30 d, `1y` = 365 d)."""
    text = str(value).strip()
    unit = text[-1] if text and text[-1] in UNIT_MINUTES else "m"
    number = text[:-1] if text and text[-1] in UNIT_MINUTES else text
    if not number.isdigit() or int(number) < 1:
        raise ValueError(f"interval {value!r} is not minutes or <number><m|h|d|w|M|y>")
    minutes = int(number) * UNIT_MINUTES[unit]
    if minutes > 10 * UNIT_MINUTES["y"]:
        raise ValueError(f"interval {value!r} is longer than 10 years")
    return minutes
