"""What the source benchmarks share: processes, a broker, and the read_committed stopwatch."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process: its peak resident set so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_cli(args: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start `socialstream ARGS` (a simulator) and wait until it listens on `port`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "socialstream", *args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"socialstream {' '.join(args)} did not start")


@contextmanager
def kafka_broker() -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS if set, else a local broker for the benchmark's lifetime."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from socialstream.deploy.kafka.launcher import running_broker

    with running_broker() as broker:
        yield broker.bootstrap_servers


def count_committed(
    bootstrap: str, topics: list[str], expected: int, timeout_s: float
) -> tuple[float, float]:
    """Consume read_committed until `expected` records: (time of the first, of the last)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    assignment = []
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        assignment += [TopicPartition(topic, p, 0) for p in metadata.partitions]
    consumer.assign(assignment)
    seen = 0
    first = last = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"saw {seen} of {expected} records")
            good = [m for m in consumer.consume(10_000, 0.5) if not m.error()]
            if good:
                now = time.monotonic()
                first = first or now
                last = now
                seen += len(good)
    finally:
        consumer.close()
    return first, last


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its `ratio`: its own if it has one, else against the first row of its size
    (the baseline measured just before it)."""
    baseline: dict[int, float] = {}
    out = []
    for row in rows:
        baseline.setdefault(row["size"], row["per_s"])
        out.append({**row, "ratio": row.get("ratio", row["per_s"] / baseline[row["size"]])})
    return out


def median_of_rounds(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row a (size, path) over several rounds: the median rate and ratio, the highest peak
    RSS, and the ratios' range. Each round measures its baseline and its subject back to back,
    so the ratio of a round is fair even when the machine's speed drifts between rounds; the
    median then drops a round that a burst of other load spoilt."""
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for rows in rounds:
        for row in with_ratios(rows):
            grouped.setdefault((row["size"], row["path"]), []).append(row)
    return [
        {
            "size": size,
            "path": path,
            "per_s": statistics.median(r["per_s"] for r in runs),
            "ratio": statistics.median(r["ratio"] for r in runs),
            "ratio_range": (min(r["ratio"] for r in runs), max(r["ratio"] for r in runs)),
            "rss_mb": max(r["rss_mb"] for r in runs),
        }
        for (size, path), runs in grouped.items()
    ]


def print_table(rows: list[dict[str, Any]], unit: str) -> None:
    """Rows of {size, path, per_s, rss_mb}; the baseline row of each size comes first, unless a
    row gives its own `ratio` (against the baseline it was measured beside). Rows summarising
    several rounds (`median_of_rounds`) also show the range of their ratios."""
    print(f"\n{'size':>10}  {'path':<30} {unit + '/s':>10} {'ratio':>6} {'peak RSS':>9}")
    for row in with_ratios(rows):
        spread = row.get("ratio_range")
        print(
            f"{row['size']:>10,}  {row['path']:<30} {row['per_s']:>10,.0f} {row['ratio']:>6.2f}"
            f" {row['rss_mb']:>7.0f} MB"
            + (f"  (ratio {spread[0]:.2f}-{spread[1]:.2f})" if spread else "")
        )


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least one round")
    return value


def rounds_argument(parser: argparse.ArgumentParser, default: int = 3) -> None:
    parser.add_argument(
        "--rounds",
        type=_at_least_one,
        default=default,
        help="times to measure each baseline and subject pair; the median ratio is reported",
    )


def produce_raw_lines(
    url: str,
    size: int,
    bootstrap: str,
    topic: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    marker: bytes = b"",
) -> int:
    """The baseline: read the same stream, produce each non-empty line's raw bytes (those that
    contain `marker`), no parsing, no transactions. Returns the lines produced."""
    import httpx
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "compression.type": "zstd",
            "acks": "all",
        }
    )
    sent = 0
    with httpx.stream("GET", url, headers=headers, params=params, timeout=60) as response:
        pending = b""
        for chunk in response.iter_bytes():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if not line or marker not in line[:60]:
                    continue
                while True:
                    try:
                        producer.produce(topic, line)
                        break
                    except BufferError:
                        producer.poll(0.05)
                producer.poll(0)
                sent += 1
            if sent >= size:
                break
    producer.flush(60)
    return sent


def create_topic(bootstrap: str, name: str, partitions: int = 6) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result()


def talkwalker_env(bootstrap: str, prefix: str, url: str, token: str) -> dict[str, str]:
    """The environment of a benchmarked `socialstream run talkwalker`: the simulator at `url`,
    topics under `prefix`, no gzip, a one-second rate-limit window, quiet logs."""
    return {
        **os.environ,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": prefix + "tx",
        "SOCIALSTREAM_TOPICS__PREFIX": prefix,
        "SOCIALSTREAM_TALKWALKER__BASE_URL": url,
        "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": token,
        "SOCIALSTREAM_TALKWALKER__STREAMS": "*",
        "SOCIALSTREAM_TALKWALKER__GZIP": "false",
        "SOCIALSTREAM_TALKWALKER__WINDOW_S": "1",
        "SOCIALSTREAM_LOG__LEVEL": "WARNING",
    }
