"""Keep credentials out of every log line, span, exception and header.

Talkwalker puts `access_token` and Crimson Hexagon `auth` in the URL, and InsightsTrack and the
sentiment API send bearer tokens, so redaction works at two depths: structurally (known query
parameters and headers) and as a last line of defence on any text (every configured secret
value, wherever it shows up).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "**********"

SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "access_token",
        "auth",
        "token",
        "api_key",
        "apikey",
        "key",
        "password",
        "secret",
        "client_secret",
        "signature",
        "sig",
    }
)
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
    }
)

# `access_token=...` in any text (a URL inside an error message, a request line in a log).
_QUERY_IN_TEXT = re.compile(
    r"(?i)\b("
    + "|".join(sorted(SENSITIVE_QUERY_PARAMS, key=len, reverse=True))
    + r")=([^&\s'\"<>]+)"
)
# `Authorization: Bearer abc`, `Bearer abc`, `Basic abc` in any text.
_AUTH_IN_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact_url(url: str) -> str:
    """The URL with the values of sensitive query parameters and any userinfo password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    query = urlencode(
        [
            (name, MASK if name.lower() in SENSITIVE_QUERY_PARAMS else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of the headers with credential-bearing ones masked."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: (MASK if name.lower() in SENSITIVE_HEADERS else value) for name, value in items}


class SecretRegistry:
    """The secret values this process knows of; `redact_text` removes each one from any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, *values: str) -> None:
        with self._lock:
            known = set(self._secrets)
            # Short values would mask ordinary words; a credential is never this short.
            known.update(v for v in values if v and len(v) >= 4)
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._secrets = ()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


secrets = SecretRegistry()


def redact_text(text: str) -> str:
    """Any text with registered secrets, token query parameters and auth schemes masked."""
    text = secrets.scrub(text)
    text = _QUERY_IN_TEXT.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _AUTH_IN_TEXT.sub(lambda m: f"{m.group(1)} {MASK}", text)
