"""Registered domains from URLs, public-suffix aware (`news.bbc.co.uk` -> `bbc.co.uk`).

The Public Suffix List comes bundled with `publicsuffixlist`, so nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@lru_cache(maxsize=65_536)
def registered_domain(url: str | None) -> str | None:
    """The registrable domain of `url`'s host; None for no host, an IP or a bare suffix."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return None
    domain = _psl().privatesuffix(host.rstrip(".").lower())
    return str(domain) if domain else None
