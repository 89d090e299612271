"""The InsightsTrack rules API: list, add, remove, and reconcile with a declared list of users.

The vendor's terms: `from:<user id>` rules only, at most 1000 a request, 60 requests a minute
across the rules API, one request at a time (so this client is strictly serial), and a 422 fails
a whole batch while naming each invalid rule. `sync` therefore re-sends a failed batch without
the rules the 422 named, so the valid ones still get added, and reports the invalid ones.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from socialstream.runtime.httpclient import RetryPolicy, UpstreamHTTPError, make_client
from socialstream.runtime.lenient import LenientParseError, loads
from socialstream.runtime.ratelimit import SlidingWindowLimiter
from socialstream.runtime.settings import InsightsTrackSettings

log = logging.getLogger(__name__)

MAX_RULES_A_REQUEST = 1000
_RULE = re.compile(r"^\s*(?:from:)?(\d+)\s*$")


class RulesError(Exception):
    """A rules request failed for good; the message says why."""


def parse_rules_file(path: Path) -> tuple[list[int], list[str]]:
    """User ids from a file (one a line, `from:` optional, `#` comments); and unreadable lines."""
    ids: list[int] = []
    bad: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _RULE.match(line)
        if match is None:
            bad.append(line)
        else:
            ids.append(int(match.group(1)))
    return list(dict.fromkeys(ids)), bad


def rule_value(user_id: int | str) -> str:
    return f"from:{user_id}"


def user_of(value: str) -> str:
    return value.removeprefix("from:")


@dataclass
class SyncReport:
    """What `sync` found and did."""

    to_add: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    skipped_revoked: list[str] = field(default_factory=list)
    unchanged: int = 0
    requests: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


class RulesClient:
    """Serial, rate-limited access to one stream's rules."""

    def __init__(
        self,
        settings: InsightsTrackSettings,
        limiter: SlidingWindowLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if settings.bearer_token is None or not settings.account:
            raise RulesError("set the InsightsTrack account and bearer token")
        token = settings.bearer_token.get_secret_value()
        self._settings = settings
        self._limiter = limiter or SlidingWindowLimiter(
            settings.rules_per_window, settings.rules_window_s
        )
        self._client = make_client(
            settings.base_url,
            retry=RetryPolicy(max_attempts=1),  # every attempt must pass the limiter
            headers={"Authorization": f"Bearer {token}"},
            secret_values=[token],
            ca_file=settings.ca_file,
            inner=transport,
        )
        self._path = (
            f"/rules/insightstrack/accounts/{settings.account}/publishers/twitter/"
            f"{settings.label}.json"
        )
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def _send(
        self, method: str, body: dict[str, Any] | None = None, delete: bool = False
    ) -> httpx.Response:
        backoff = 1.0
        for _ in range(8):
            self._limiter.acquire()
            self.requests += 1
            response = self._client.request(
                method, self._path, params={"_method": "delete"} if delete else None, json=body
            )
            if response.status_code in (429, 503):
                wait = max(self._limiter.wait_time(), backoff)
                log.warning("rules API answered %s; retrying in %.1f s", response.status_code, wait)
                time.sleep(wait)
                backoff = min(backoff * 2, 60.0)
                continue
            return response
        raise RulesError("the rules API kept answering 429/503; try again later")

    def fetch(self) -> set[str]:
        response = self._send("GET")
        if response.status_code != 200:
            raise UpstreamHTTPError(response, response.text[:300])
        rules = _json_object(response).get("rules")
        return {
            str(rule["value"])
            for rule in (rules if isinstance(rules, list) else [])
            if isinstance(rule, dict) and rule.get("value") is not None
        }

    def add(self, values: list[str]) -> tuple[list[str], dict[str, str]]:
        """Add a batch (<= 1000): (added, {invalid rule: reason})."""
        if len(values) > MAX_RULES_A_REQUEST:
            raise ValueError("at most 1000 rules a request")
        invalid: dict[str, str] = {}
        pending = list(values)
        while pending:
            response = self._send("POST", {"rules": [{"value": v} for v in pending]})
            if response.status_code in (200, 201):
                return pending, invalid
            if response.status_code != 422:
                raise UpstreamHTTPError(response, response.text[:300])
            named = _invalid_rules(response)
            if not named:  # the 422 named no rule: halve the batch to find them
                if len(pending) == 1:
                    invalid[pending[0]] = "rejected (422) without a reason"
                    return [], invalid
                half = len(pending) // 2
                left_added, left_invalid = self.add(pending[:half])
                right_added, right_invalid = self.add(pending[half:])
                return left_added + right_added, {**invalid, **left_invalid, **right_invalid}
            invalid.update(named)
            pending = [v for v in pending if v not in named]
        return [], invalid

    def remove(self, values: list[str]) -> list[str]:
        if len(values) > MAX_RULES_A_REQUEST:
            raise ValueError("at most 1000 rules a request")
        response = self._send("POST", {"rules": [{"value": v} for v in values]}, delete=True)
        if response.status_code != 200:
            raise UpstreamHTTPError(response, response.text[:300])
        return values


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer as a JSON object, read leniently; anything else is a clear RulesError."""
    try:
        value, _ = loads(response.content)
    except LenientParseError as exc:
        raise RulesError(f"the rules API answered something that is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RulesError("the rules API answered JSON that is not an object")
    return value


def _invalid_rules(response: httpx.Response) -> dict[str, str]:
    try:
        details = _json_object(response).get("details", [])
    except RulesError:
        return {}
    if not isinstance(details, list):
        return {}
    named = {}
    for detail in details:
        rule = detail.get("rule") or {}
        if detail.get("message") and rule.get("value") is not None:
            named[str(rule["value"])] = str(detail["message"])
    return named


def _batches(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), MAX_RULES_A_REQUEST):
        yield values[start : start + MAX_RULES_A_REQUEST]


def sync(
    client: RulesClient,
    desired_ids: Iterable[int],
    revoked: Iterable[int] = (),
    dry_run: bool = False,
) -> SyncReport:
    """Make the stream's rules the desired ones (minus revoked users); report what changed."""
    revoked_values = {rule_value(u) for u in revoked}
    desired = [rule_value(u) for u in desired_ids]
    report = SyncReport(dry_run=dry_run)
    report.skipped_revoked = sorted(set(desired) & revoked_values)
    wanted = [v for v in desired if v not in revoked_values]
    current = client.fetch()
    report.to_add = [v for v in wanted if v not in current]
    report.to_remove = sorted(current - set(wanted))
    report.unchanged = len(set(wanted) & current)
    if not dry_run:
        for batch in _batches(report.to_remove):
            report.removed += client.remove(batch)
        for batch in _batches(report.to_add):
            added, invalid = client.add(batch)
            report.added += added
            report.invalid.update(invalid)
    report.requests = client.requests
    return report
