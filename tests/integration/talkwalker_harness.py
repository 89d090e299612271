"""What the Talkwalker end-to-end tests share: settings, subprocess runs, the consumer's view."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.headers import header_map
from socialstream.runtime.lenient import epoch_ms
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator

TOKEN = "tw-sim-token"


def connector_env(
    kafka: KafkaSettings,
    topics: TopicSettings,
    sim: TalkwalkerSimulator,
    selector: str = "*",
    **extra: str,
) -> dict[str, str]:
    env = {
        **os.environ,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": kafka.transactional_id_prefix,
        "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
        "SOCIALSTREAM_TOPICS__PARTITIONS": str(topics.partitions),
        "SOCIALSTREAM_TALKWALKER__BASE_URL": sim.url,
        "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": TOKEN,
        "SOCIALSTREAM_TALKWALKER__STREAMS": selector,
        "SOCIALSTREAM_TALKWALKER__CALLS_PER_WINDOW": str(sim.calls_per_window),
        "SOCIALSTREAM_TALKWALKER__WINDOW_S": str(sim.window_s),
        "SOCIALSTREAM_TALKWALKER__LEASE_SESSION_TIMEOUT_MS": "2000",
        "SOCIALSTREAM_LOG__FORMAT": "text",
    }
    env.update({f"SOCIALSTREAM_TALKWALKER__{k.upper()}": v for k, v in extra.items()})
    return env


def start_connector(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "socialstream", "run", "talkwalker"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Committed:
    """What a read_committed consumer sees on the Talkwalker topics."""

    result_keys: list[bytes]
    result_urls: list[str]
    controls: list[int]
    errors: list[dict[str, object]]
    dead_letters: list[dict[str, object]]
    positions: list[str]

    @property
    def duplicates(self) -> dict[bytes, int]:
        return {k: n for k, n in Counter(self.result_keys).items() if n > 1}


def read_committed(kafka: KafkaSettings, topics: TopicSettings) -> Committed:
    codec = SingleObjectCodec()
    prefix = topics.prefix
    keys, urls, positions = [], [], []
    for msg in read_to_end(kafka, f"{prefix}talkwalker.results", timeout_s=120):
        keys.append(msg.key())
        urls.append(codec.decode(msg.value()).value["url"])
        positions.append(header_map(msg.headers()).get("source_position", ""))
    controls = [
        codec.decode(m.value()).value["timeframe_start"]
        for m in read_to_end(kafka, f"{prefix}talkwalker.control")
    ]
    controls = [epoch_ms(c) if isinstance(c, datetime) else c for c in controls]
    errors = [
        codec.decode(m.value()).value for m in read_to_end(kafka, f"{prefix}talkwalker.errors")
    ]
    dlq = [codec.decode(m.value()).value for m in read_to_end(kafka, f"{prefix}talkwalker.dlq")]
    return Committed(keys, urls, controls, errors, dlq, positions)


def wait_for_results(
    kafka: KafkaSettings,
    topics: TopicSettings,
    expected: int,
    timeout_s: float,
    process: subprocess.Popen[bytes] | None = None,
) -> Committed:
    """Poll until `expected` results are committed, the time is up, or the connector exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = read_committed(kafka, topics)
        if len(seen.result_keys) >= expected or time.monotonic() > deadline:
            return seen
        if process is not None and process.poll() is not None:
            return seen
        time.sleep(1.0)


def expected_urls(corpus: Corpus, selector: list[str]) -> set[str]:
    return {url for _, url in corpus.expected_urls(selector)}


def max_calls_in_window(times: list[float], window_s: float) -> int:
    """The most calls any sliding window of `window_s` seconds held."""
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t - start < window_s))
    return best
