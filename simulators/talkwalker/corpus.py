"""A deterministic corpus of Talkwalker result documents, grouped in timeframes.

Nothing is held in memory: document `i` of timeframe `t` is generated from `(seed, t, i)` on
demand, and a timeframe's order is a permutation `i -> (a*i + b) mod n` that differs on every
replay (Talkwalker resends a resumed timeframe unsorted). So a million-document timeframe costs
no more memory than a hundred-document one.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

DOMAINS = [
    ("news", "www.lemonde.fr", "fr", "ONLINENEWS"),
    ("news", "www.bbc.co.uk", "en", "ONLINENEWS"),
    ("blog", "annukcreations.blogspot.com", "en", "BLOG"),
    ("blog", "slshoeicidal.wordpress.com", "en", "BLOG"),
    ("social", "twitter.com", "en", "SOCIALMEDIA"),
    ("social", "www.facebook.com", "de", "SOCIALMEDIA"),
    ("forum", "forum.example.de", "de", "MESSAGEBOARD"),
    ("news", "www.elpais.com", "es", "ONLINENEWS"),
]
WORDS = [
    "cats",
    "dogs",
    "jewelry",
    "rings",
    "football",
    "weather",
    "music",
    "kafka",
    "stream",
    "market",
    "brand",
    "launch",
    "review",
    "price",
    "river",
    "city",
    "summer",
    "winter",
    "travel",
    "recipe",
    "election",
    "phone",
    "camera",
    "coffee",
]
# One long deterministic text; a document's content is a slice of it (cheap to generate).
_TEXT = " ".join(random.Random(7).choice(WORDS) for _ in range(20_000))
PLACES = [
    ("Europe", "Luxembourg", "Luxembourg", "Luxembourg", "lu", 49.61, 6.13),
    (
        "North America",
        "United States",
        "District of Columbia",
        "Washington, D.C.",
        "us",
        38.9,
        -77.0,
    ),
    ("Africa", "South Africa", "Orange Free State", "Bloemfontein", "za", -29.12, 26.23),
    ("Europe", "Germany", "Berlin", "Berlin", "de", 52.52, 13.40),
]


# Documents come in this many variants a timeframe (all fields but the URL); URLs are unique.
VARIANTS = 509
_URL_MARK = "@@socialstream-url@@"


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def select_streams(selector: str, defined: Sequence[str]) -> list[str]:
    """Streams a `/s/<selector>` path selects: `a,b`, `prefix*`, `*`, `-excluded`."""
    chosen: list[str] = []
    excluded: set[str] = set()
    for part in (p.strip() for p in selector.split(",")):
        if not part:
            continue
        if part.startswith("-"):
            excluded.update(s for s in defined if fnmatch.fnmatchcase(s, part[1:]))
        else:
            chosen.extend(s for s in defined if fnmatch.fnmatchcase(s, part) and s not in chosen)
    return [s for s in chosen if s not in excluded]


@dataclass
class Corpus:
    """`timeframes` consecutive timeframes of `per_timeframe` documents each (a list varies it)."""

    seed: int = 1
    timeframes: int = 20
    per_timeframe: int | list[int] = 100
    start_ms: int = 1_700_000_000_000
    timeframe_ms: int = 60_000
    streams: tuple[str, ...] = ("stream-a", "stream-b")
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _templates: dict[tuple[int, int, tuple[str, ...]], tuple[bytes, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _variants: dict[tuple[int, int], tuple[int, list[tuple[str, str]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def count(self, tf: int) -> int:
        if isinstance(self.per_timeframe, list):
            return self.per_timeframe[tf % len(self.per_timeframe)]
        return self.per_timeframe

    def timeframe_start(self, tf: int) -> int:
        return self.start_ms + tf * self.timeframe_ms

    def timeframe_end(self, tf: int) -> int:
        return self.timeframe_start(tf + 1)

    def index_for(self, resume_ms: int | None) -> int:
        """The timeframe a `stream_resume` value points into (0 before the corpus starts)."""
        if resume_ms is None or resume_ms <= self.start_ms:
            return 0
        return min(self.timeframes, (resume_ms - self.start_ms) // self.timeframe_ms)

    def rules_of(self, stream: str) -> tuple[str, ...]:
        return self.rules.get(stream, (f"{stream}-rule-1", f"{stream}-rule-2"))

    def _variant(self, tf: int, i: int) -> tuple[int, list[tuple[str, str]]]:
        """(domain index, matched (stream, rule) pairs) of document `i`'s variant, cached."""
        key = (tf, i % VARIANTS)
        found = self._variants.get(key)
        if found is None:
            rng = _rng(self.seed, "match", *key)
            k = min(len(self.streams), rng.choice((1, 1, 2)))
            streams = rng.sample(list(self.streams), k=k)
            matched = [(s, rng.choice(self.rules_of(s))) for s in streams]
            domain = _rng(self.seed, "domain", *key).randrange(len(DOMAINS))
            if len(self._variants) > 65536:
                self._variants.clear()
            found = self._variants[key] = (domain, matched)
        return found

    def matches(self, tf: int, i: int) -> list[tuple[str, str]]:
        """(stream, rule) pairs the document matched: one or two streams."""
        return self._variant(tf, i)[1]

    def url(self, tf: int, i: int) -> str:
        _, host, _, _ = DOMAINS[self._domain(tf, i)]
        return f"https://{host}/{self.seed}/{tf}/{i}.html"

    def _domain(self, tf: int, i: int) -> int:
        return self._variant(tf, i)[0]

    def document(self, tf: int, i: int) -> dict[str, Any]:
        """The `data` of result `i` in timeframe `tf`, shaped like the vendor's examples."""
        rng = _rng(self.seed, "doc", tf, i % VARIANTS)
        kind, host, lang, source_type = DOMAINS[self._domain(tf, i)]
        start = self.timeframe_start(tf)
        search_indexed = start + rng.randrange(self.timeframe_ms)
        offset = rng.randrange(len(_TEXT) - 2100)
        content = _TEXT[offset : offset + rng.randint(100, 2000)].strip()
        words = content.split(" ", 10)
        title = " ".join(words[1 : rng.randint(3, 10)]).capitalize()
        place = rng.choice(PLACES)
        world = {
            "continent": place[0],
            "country": place[1],
            "region": place[2],
            "city": place[3],
            "country_code": place[4],
            "latitude": place[5],
            "longitude": place[6],
        }
        engagement = rng.randint(0, 5000)
        return {
            "url": self.url(tf, i),
            "indexed": search_indexed - rng.randint(0, 5000),
            "search_indexed": search_indexed,
            "published": search_indexed - rng.randint(0, 7 * 86_400_000),
            "title": title,
            "content": content,
            "title_snippet": title,
            "root_url": f"https://{host}/",
            "domain_url": f"https://{'.'.join(host.split('.')[-2:])}/",
            "host_url": f"https://{host}/",
            "parent_url": f"https://{host}/",
            "lang": lang,
            "porn_level": 0,
            "fluency_level": rng.randint(50, 100),
            "spam_level": rng.randint(0, 40),
            "sentiment": rng.randint(-5, 5),
            "source_type": [source_type, f"{source_type}_OTHER"],
            "post_type": ["TEXT"],
            "tokens_title": words[:3],
            # Counts arrive as numbers or strings, like the vendor's loose JSON.
            "engagement": engagement if rng.random() < 0.8 else str(engagement),
            "reach": rng.randint(0, 1_000_000),
            "article_extended_attributes": {"num_comments": rng.randint(0, 50)},
            "source_extended_attributes": {"alexa_pageviews": rng.randint(0, 10**9)},
            "extra_article_attributes": {"world_data": {}},
            "extra_author_attributes": {
                "world_data": world if kind == "social" else {},
                "id": str(rng.randint(10**8, 10**12)),
                "name": f"author {rng.randint(1, 5000)}",
                "gender": rng.choice(["MALE", "FEMALE", "UNKNOWN"]),
            },
            "extra_source_attributes": {"world_data": world, "id": f"ex:{host}", "name": host},
        }

    def result_chunk(self, tf: int, i: int, selected: Sequence[str]) -> bytes | None:
        """The CT_RESULT line of document `i`, or None if it matches no selected stream.

        Rendered from a cached template of its variant with only the URL filled in, so a
        simulator can serve hundreds of thousands of lines a second.
        """
        key = (tf, i % VARIANTS, tuple(selected))
        template = self._templates.get(key)
        if template is None:
            template = self._render_template(tf, i, selected)
            if len(self._templates) > 8192:
                self._templates.clear()
            self._templates[key] = template
        if not template:
            return None
        return template[0] + self.url(tf, i).encode() + template[1]

    def _render_template(self, tf: int, i: int, selected: Sequence[str]) -> tuple[bytes, ...]:
        matched = [(s, r) for s, r in self.matches(tf, i) if s in selected]
        if not matched:
            return ()
        document = self.document(tf, i)
        document["url"] = _URL_MARK
        chunk = {
            "chunk_type": "CT_RESULT",
            "chunk_result": {
                "data": {
                    "data": document,
                    "highlighted_data": [
                        {"matched": {"rule_id": r, "stream_id": s}, "title_snippet": None}
                        for s, r in matched
                    ],
                }
            },
        }
        head, tail = json.dumps(chunk, separators=(",", ":")).encode().split(_URL_MARK.encode())
        return head, tail

    def order(self, tf: int, attempt: int) -> Iterator[int]:
        """Indices of timeframe `tf` in the order of connection attempt `attempt`."""
        n = self.count(tf)
        if n == 0:
            return
        rng = _rng(self.seed, "order", tf, attempt)
        a = rng.randrange(1, max(2, n))
        while math.gcd(a, n) != 1:
            a = a + 1 if a + 1 < n else 1
        b = rng.randrange(n)
        for k in range(n):
            yield (a * k + b) % n

    def expected_urls(self, selected: Sequence[str]) -> Iterator[tuple[int, str]]:
        """(timeframe, url) of every document the selection streams: what a consumer must get."""
        for tf in range(self.timeframes):
            for i in range(self.count(tf)):
                if any(s in selected for s, _ in self.matches(tf, i)):
                    yield tf, self.url(tf, i)
