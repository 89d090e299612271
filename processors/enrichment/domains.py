"""Registered domains from URLs, public-suffix aware (`news.bbc.co.uk` -> `bbc.co.uk`).

The Public Suffix List comes bundled with `publicsuffixlist`, so nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def host_of(url: str) -> str | None:
    """The host of a URL, lower case, without userinfo or port (a plain split: urlsplit costs
    more than the whole lookup, and the URLs here are the vendors' absolute ones)."""
    rest = url.split("://", 1)[1] if "://" in url else url.removeprefix("//")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):  # an IPv6 literal
        return None
    return host.split(":", 1)[0].rstrip(".").lower() or None


@lru_cache(maxsize=65_536)
def _registered(host: str) -> str | None:
    if host.replace(".", "").isdigit():
        return None
    domain = _psl().privatesuffix(host)
    return str(domain) if domain else None


def registered_domain(url: str | None) -> str | None:
    """The registrable domain of `url`'s host; None for no host, an IP or a bare suffix."""
    if not url:
        return None
    host = host_of(url)
    return _registered(host) if host else None
