"""The Talkwalker documents API's state: a project's documents, changed one or many at a time.

Operations follow the vendor document: `create` (an import: it overwrites a document with the
same URL, which is what makes a resend harmless), `update` (the document must exist; array
fields take `+field` to add items and `-field` to remove them; null clears a field), `delete`
and `undelete`. `url`, `published` and `content` are required on create. A bulk request answers
HTTP 200 with one result an operation, in request order, and status code 49 when any failed.

Failures are scripted per URL with `fail(url, code, times)`: `times` attempts fail with the
vendor code (say "1", a retryable internal error), then the operation succeeds; `times=None`
fails it for ever (say "16", "does not match any topic"). The store counts every write, so a
test can prove that each document is there exactly once and nothing was lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

OPERATIONS = ("create", "update", "delete", "undelete")
REQUIRED_ON_CREATE = ("url", "published", "content")
MESSAGES = {
    "0": "OK",
    "1": "Internal Server Error",
    "3": "Parameter Missing",
    "8": "Call limit exceeded for this endpoint",
    "16": "Invalid operation on document",
    "17": "Could not parse json",
}


@dataclass
class StoredDocument:
    fields: dict[str, Any]
    deleted: bool = False
    writes: int = 1


@dataclass
class ScriptedFailure:
    code: str
    reason: str
    times: int | None  # None: for ever


@dataclass
class OperationResult:
    operation: str
    url: str | None
    code: str = "0"
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "url": self.url,
            "status_code": self.code,
            "status_message": MESSAGES.get(self.code, "Error"),
        }
        if self.reason:
            body["reason"] = self.reason
        return {self.operation: body}


@dataclass
class DocumentStore:
    """One project's documents, keyed by URL (the document's id at Talkwalker)."""

    documents: dict[str, StoredDocument] = field(default_factory=dict)
    failures: dict[str, ScriptedFailure] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    operations: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, url: str, code: str, times: int | None, reason: str | None = None) -> None:
        """Script `url`'s next `times` operations (None: all) to fail with vendor `code`."""
        text = reason or MESSAGES.get(code, "Error")
        self.failures[url] = ScriptedFailure(code, text, times)

    def apply(self, operation: str, body: Any) -> OperationResult:
        """Run one operation; never raises (a bad operation is a result with a reason)."""
        if operation not in OPERATIONS:
            return OperationResult(operation, None, "16", f"unknown operation {operation!r}")
        if not isinstance(body, dict):
            return OperationResult(operation, None, "17", "an operation's body must be an object")
        url = body.get("url")
        if not isinstance(url, str) or not url:
            return OperationResult(operation, None, "3", "url is required")
        with self.lock:
            self.operations += 1
            self.attempts[url] = self.attempts.get(url, 0) + 1
            scripted = self.failures.get(url)
            if scripted is not None and (scripted.times is None or scripted.times > 0):
                if scripted.times is not None:
                    scripted.times -= 1
                self.failed += 1
                return OperationResult(operation, url, scripted.code, scripted.reason)
            result = self._apply(operation, url, body)
            if result.code != "0":
                self.failed += 1
            return result

    def _apply(self, operation: str, url: str, body: dict[str, Any]) -> OperationResult:
        existing = self.documents.get(url)
        if operation == "create":
            missing = [name for name in REQUIRED_ON_CREATE if body.get(name) in (None, "")]
            if missing:
                return OperationResult(
                    operation, url, "3", f"required field(s) missing: {', '.join(missing)}"
                )
            fields = _merged({}, body)
            if existing is None:
                self.documents[url] = StoredDocument(fields)
            else:  # an import overwrites the document with the same URL
                existing.fields, existing.deleted = fields, False
                existing.writes += 1
            return OperationResult(operation, url)
        if existing is None:
            return OperationResult(operation, url, "16", "no document with this url")
        if operation == "update":
            existing.fields = _merged(existing.fields, body)
            existing.writes += 1
        else:
            existing.deleted = operation == "delete"
        return OperationResult(operation, url)

    def live(self) -> dict[str, dict[str, Any]]:
        """The documents a project shows (not deleted), by URL."""
        with self.lock:
            return {u: dict(d.fields) for u, d in self.documents.items() if not d.deleted}


def _merged(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """`current` changed by `body`: plain fields replace, `+f`/`-f` add/remove array items, null
    clears."""
    fields = dict(current)
    for name, value in body.items():
        if name.startswith("+") and isinstance(value, list):
            items = list(fields.get(name[1:]) or [])
            items += [v for v in value if v not in items]
            fields[name[1:]] = items
        elif name.startswith("-") and isinstance(value, list):
            fields[name[1:]] = [v for v in fields.get(name[1:]) or [] if v not in value]
        elif value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields


def bulk_operations(payload: Any) -> list[tuple[str, Any]] | str:
    """The (operation, body) pairs of a bulk request, or why it cannot be read."""
    if not isinstance(payload, list):
        return "a bulk request is a JSON array of {operation: document} objects"
    operations: list[tuple[str, Any]] = []
    for n, item in enumerate(payload):
        if not isinstance(item, dict) or len(item) != 1:
            return f"item {n} must be an object with exactly one operation"
        ((name, body),) = item.items()
        operations.append((str(name), body))
    return operations
