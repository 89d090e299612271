"""Talkwalker's error codes (the vendor's table), what each means, and what the connector does.

Every code reaches the operator in words (log line and `talkwalker.errors` record), not only as
a number, with the action taken: retry after a wait, reconnect, or stop with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    RETRY = "retry"  # transient upstream trouble: back off, then reconnect
    WAIT_RATE_LIMIT = "wait_rate_limit"  # too many calls: wait out the window, then reconnect
    WAIT_CREDITS = "wait_credits"  # out of credits: wait long (credits reset monthly), retry
    RECONNECT = "reconnect"  # the stream was cut: resume from the checkpoint
    STOP = "stop"  # configuration or permission problem: retrying cannot help


@dataclass(frozen=True)
class ErrorCode:
    code: str
    http: int | None
    message: str
    action: Action
    advice: str

    def describe(self) -> str:
        return f"Talkwalker error {self.code} ({self.message}): {self.advice}"


_TABLE = [
    ErrorCode("1", 500, "Internal Server Error", Action.RETRY, "retrying with backoff"),
    ErrorCode("2", 500, "Search Execution Exception", Action.RETRY, "retrying with backoff"),
    ErrorCode("3", 400, "Parameter Missing", Action.STOP, "a required parameter is missing"),
    ErrorCode("4", 400, "Error in query", Action.STOP, "fix talkwalker.query"),
    ErrorCode("5", 400, "Invalid parameter value", Action.STOP, "a parameter has a bad value"),
    ErrorCode(
        "7",
        401,
        "Invalid, missing or inactive access token",
        Action.STOP,
        "set a valid SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN",
    ),
    ErrorCode(
        "8",
        401,
        "Call limit exceeded for this endpoint",
        Action.WAIT_RATE_LIMIT,
        "waiting for the rate-limit window before reconnecting",
    ),
    ErrorCode(
        "9",
        401,
        "No credits left",
        Action.WAIT_CREDITS,
        "the account ran out of credits; waiting and retrying (credits reset monthly)",
    ),
    ErrorCode("10", 403, "API application is inactive", Action.STOP, "activate the application"),
    ErrorCode("11", 403, "No such application linked", Action.STOP, "check the token's project"),
    ErrorCode("12", 403, "Linked application inactive or deleted", Action.STOP, "check it"),
    ErrorCode(
        "13",
        403,
        "Access denied: Insufficient access rights",
        Action.STOP,
        "the token lacks the rights the stream needs",
    ),
    ErrorCode(
        "15",
        404,
        "Wrong stream id. No such stream defined",
        Action.STOP,
        "create the stream or fix talkwalker.streams",
    ),
    ErrorCode("16", 400, "Invalid operation on document", Action.STOP, "see the details"),
    ErrorCode("17", 400, "Could not parse json", Action.STOP, "a request body was rejected"),
    ErrorCode("18", 400, "Invalid operation on stream", Action.STOP, "see the details"),
    ErrorCode(
        "19",
        403,
        "Number of rules to set exceeds maximum number of rules",
        Action.STOP,
        "the account's rule limit is reached; remove rules first",
    ),
    ErrorCode("20", 403, "Cannot create any more streams", Action.STOP, "delete a stream first"),
    ErrorCode("21", 403, "A stream with this name already exists", Action.STOP, "pick another"),
    ErrorCode("23", 403, "Stream has no rules defined", Action.STOP, "add rules to the stream"),
    ErrorCode(
        "24",
        403,
        "Stream got disconnected because newer stream running",
        Action.RECONNECT,
        "another client connected with this account; reconnecting after a pause",
    ),
    ErrorCode("25", 403, "Stream got disconnected", Action.RECONNECT, "resuming"),
    ErrorCode("26", 404, "Endpoint or action not found", Action.STOP, "check talkwalker.base_url"),
    ErrorCode("27", 403, "Connection is not secure, must use HTTPS", Action.STOP, "use https"),
    ErrorCode(
        "29",
        403,
        "Access to this project is forbidden",
        Action.STOP,
        "check talkwalker.project_id",
    ),
    ErrorCode(
        "30",
        429,
        "Limit of maximum concurrent streams reached",
        Action.RETRY,
        "too many streams run in parallel for this account; retrying later",
    ),
    ErrorCode("31", 404, "Could not find rule with id", Action.STOP, "check the rule id"),
    ErrorCode("36", 403, "Access prohibited", Action.STOP, "access restriction settings apply"),
    ErrorCode(
        "38",
        404,
        "Cannot find a project with this id",
        Action.STOP,
        "check talkwalker.project_id",
    ),
    ErrorCode("39", 413, "Request entity too large", Action.STOP, "send smaller requests"),
    ErrorCode("40", 400, "Global search is disabled for this account", Action.STOP, "ask support"),
]
CODES = {entry.code: entry for entry in _TABLE}

BY_HTTP = {
    503: ErrorCode(
        "503",
        503,
        "Service Temporarily Unavailable",
        Action.RETRY,
        "Talkwalker is restarting for an update; retrying after Retry-After",
    ),
    505: ErrorCode("505", 505, "HTTP Version Not Supported", Action.STOP, "use HTTP/1.1"),
}


def lookup(code: str | None, http_status: int | None = None) -> ErrorCode:
    """The table entry for a vendor code, else for the HTTP status, else a generic one."""
    if code is not None and code in CODES:
        return CODES[code]
    if http_status is not None and http_status in BY_HTTP:
        return BY_HTTP[http_status]
    if http_status is not None and http_status >= 500:
        return ErrorCode(
            code or str(http_status), http_status, "Server error", Action.RETRY, "retrying"
        )
    if http_status == 429:
        return ErrorCode(code or "429", 429, "Too many requests", Action.WAIT_RATE_LIMIT, "waiting")
    return ErrorCode(
        code or str(http_status or "?"),
        http_status,
        "Unknown error",
        Action.RETRY,
        "not in the vendor's table; retrying with backoff",
    )
