"""The Talkwalker account's streams, rules, quotas and project resources, as the vendor keeps them.

Streams hold rules (Talkwalker query syntax, checked: a rule that does not parse is refused with
error 4 and the old rule stays), an enabled flag and an optional quota (allowance a period:
hourly, daily, weekly or monthly in a timezone, with a reference time). Limits on streams
(error 20) and rules (error 19) are configurable so tests can reach them. Every change is kept,
so a test reads back exactly what a client wrote.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialstream.runtime.lenient import epoch_ms

PERIODS = ("hourly", "daily", "weekly", "monthly")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class ManagementError(Exception):
    """A vendor error: HTTP status, status code and message (and details)."""

    def __init__(self, http: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.http = http
        self.code = code
        self.message = message
        self.details = details


def query_problem(query: Any) -> str | None:
    """Why `query` is not valid Talkwalker query syntax (a subset of the parser), or None."""
    if not isinstance(query, str) or not query.strip():
        return "the query is empty"
    if query.count('"') % 2:
        return "unbalanced quotes"
    depth = 0
    for char in re.sub(r'"[^"]*"', "", query):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "a ')' without its '('"
    if depth:
        return "unbalanced parentheses"
    words = re.sub(r'"[^"]*"', "x", query).replace("(", " ( ").replace(")", " ) ").split()
    operators = {"AND", "OR", "NOT"}
    if words[0] in ("AND", "OR") or words[-1] in operators:
        return (
            f"the query cannot start or end with {words[0] if words[0] in operators else words[-1]}"
        )
    for left, right in itertools.pairwise(words):
        if left in operators and right in ("AND", "OR", ")"):
            return f"{left} followed by {right}"
    return None


@dataclass
class Quota:
    allowance: int
    reset: str
    timezone: str = "UTC"
    reference_time: int = 0  # epoch ms
    usage: int = 0

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        """(start, end) of the quota period holding `now`, shifted by the reference time."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        reference = datetime.fromtimestamp(self.reference_time / 1000, UTC).astimezone(zone)
        if self.reset == "hourly":
            start = local.replace(minute=reference.minute, second=0, microsecond=0)
            step = timedelta(hours=1)
        elif self.reset == "daily":
            start = local.replace(hour=reference.hour, minute=0, second=0, microsecond=0)
            step = timedelta(days=1)
        elif self.reset == "weekly":
            start = (local - timedelta(days=(local.weekday() - reference.weekday()) % 7)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            step = timedelta(weeks=1)
        else:
            day = min(reference.day, 28)
            start = local.replace(day=day, hour=0, minute=0, second=0, microsecond=0)
            if start > local:
                start = _add_months(start, -1)
            return start, _add_months(start, 1)
        while start > local:
            start -= step
        return start, start + step

    def as_json(self, now: datetime) -> dict[str, Any]:
        start, end = self.period(now)
        return {
            "allowance": self.allowance,
            "reset": self.reset,
            "timezone": self.timezone,
            "period_start": _iso(start),
            "period_reset": _iso(end),
            "usage": self.usage,
            "status": "active" if self.usage < self.allowance else "inactive",
            "reference_time": _iso(datetime.fromtimestamp(self.reference_time / 1000, UTC)),
        }


def _add_months(when: datetime, months: int) -> datetime:
    years, month = divmod(when.month - 1 + months, 12)
    return when.replace(year=when.year + years, month=month + 1)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_quota(body: Any) -> Quota:
    if not isinstance(body, dict):
        raise ManagementError(400, "17", "Could not parse json")
    allowance = body.get("allowance")
    if isinstance(allowance, str) and allowance.isdigit():
        allowance = int(allowance)
    if not isinstance(allowance, int) or isinstance(allowance, bool) or allowance < 0:
        raise ManagementError(400, "5", "Invalid parameter value", param="allowance")
    reset = body.get("reset")
    if reset not in PERIODS:
        raise ManagementError(
            400, "5", "Invalid parameter value", param="reset", details=f"one of {PERIODS}"
        )
    timezone = str(body.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ManagementError(400, "5", "Invalid parameter value", param="timezone") from None
    reference = body.get("reference_time", 0)
    if isinstance(reference, str) and not reference.lstrip("-").isdigit():
        try:
            stamp = datetime.fromisoformat(reference.replace("Z", "+00:00"))
        except ValueError:
            raise ManagementError(
                400, "5", "Invalid parameter value", param="reference_time"
            ) from None
        reference = epoch_ms(stamp)
    return Quota(int(allowance), str(reset), timezone, int(reference or 0))


@dataclass
class StreamDefinition:
    stream_id: str
    rules: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    quota: Quota | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "rules": [{"rule_id": r, "query": q} for r, q in self.rules.items()],
            "enabled": self.enabled,
        }


@dataclass
class Resource:
    id: str
    title: str
    type: str
    object_type: str | None = None


@dataclass
class StreamRegistry:
    """Every stream of the account, and the project's resources."""

    streams: dict[str, StreamDefinition] = field(default_factory=dict)
    max_streams: int = 100
    max_rules: int = 1000
    resources: list[Resource] = field(default_factory=list)

    def get(self, stream_id: str) -> StreamDefinition:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise ManagementError(404, "15", "Wrong stream id. No such stream defined.")
        return stream

    def _rule_count(self) -> int:
        return sum(len(s.rules) for s in self.streams.values())

    def _check_rules(self, rules: dict[str, Any], adding: int) -> None:
        for rule_id, query in rules.items():
            if not _ID.match(rule_id):
                raise ManagementError(400, "18", "Invalid operation on stream", reason="rule id")
            problem = query_problem(query)
            if problem:
                raise ManagementError(400, "4", "Error in query", details=f"{rule_id}: {problem}")
        if self._rule_count() + adding > self.max_rules:
            raise ManagementError(
                403,
                "19",
                "Number of rules to set exceeds maximum number of rules",
                number_max=self.max_rules,
                number_available=self.max_rules - self._rule_count(),
                number_saving=adding,
            )

    def create(self, stream_id: str, body: Any) -> StreamDefinition:
        if not _ID.match(stream_id):
            raise ManagementError(400, "18", "Invalid operation on stream", reason="stream id")
        if stream_id in self.streams:
            raise ManagementError(403, "21", "A stream with this name already exists")
        if len(self.streams) >= self.max_streams:
            raise ManagementError(
                403, "20", "Cannot create any more streams", number_max=self.max_streams
            )
        body = body if isinstance(body, dict) else {}
        rules: dict[str, Any] = {}
        for n, rule in enumerate(body.get("rules") or []):
            if not isinstance(rule, dict):
                raise ManagementError(400, "17", "Could not parse json")
            rules[str(rule.get("rule_id") or f"rule-{n + 1}")] = rule.get("query")
        self._check_rules(rules, len(rules))
        enabled = body.get("enabled", True)
        stream = StreamDefinition(
            stream_id, {r: str(q) for r, q in rules.items()}, enabled is not False
        )
        self.streams[stream_id] = stream
        return stream

    def put_rule(self, stream_id: str, rule_id: str, body: Any) -> StreamDefinition:
        stream = self.get(stream_id)
        query = body.get("query") if isinstance(body, dict) else None
        self._check_rules({rule_id: query}, 0 if rule_id in stream.rules else 1)
        stream.rules[rule_id] = str(query)
        return stream

    def rule(self, stream_id: str, rule_id: str) -> str:
        query = self.get(stream_id).rules.get(rule_id)
        if query is None:
            raise ManagementError(404, "31", "Could not find rule with id")
        return query

    def delete_rule(self, stream_id: str, rule_id: str) -> str:
        query = self.rule(stream_id, rule_id)
        del self.get(stream_id).rules[rule_id]
        return query

    def resources_of(self, kind: str | None, object_type: str | None) -> list[Resource]:
        return [
            r
            for r in self.resources
            if (kind is None or r.type == kind)
            and (object_type is None or r.object_type == object_type)
        ]
