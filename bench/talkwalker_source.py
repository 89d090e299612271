"""Talkwalker source throughput: simulator -> connector -> committed in Kafka, against a baseline.

The baseline, measured in the same run against the same simulator, reads the same stream and
produces every line's raw bytes with confluent-kafka: no parsing, no Avro, no transactions. The
figure is docs/s from the first to the last record a read_committed consumer sees; peak RSS is
the connector process's VmHWM. Run: `python bench/talkwalker_source.py [--sizes 100000,1000000]`
(a local broker is started unless KAFKA_BOOTSTRAP_SERVERS is set).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics

TOKEN = "tw-sim-token"  # noqa: S105 - the simulator's token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_simulator(size: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socialstream",
            "simulate",
            "talkwalker",
            "--port",
            str(port),
            "--timeframes",
            "1",
            "--per-timeframe",
            str(size),
            "--seed",
            "7",
            "--window-s",
            "1",
            "--no-gzip",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


def count_committed(
    bootstrap: str, topic: str, expected: int, timeout_s: float
) -> tuple[float, float]:
    """Consume read_committed until `expected` records: (time of the first, time of the last)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    seen = 0
    first = last = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"saw {seen} of {expected} records")
            batch = consumer.consume(10_000, 0.5)
            good = [m for m in batch if not m.error()]
            if good:
                now = time.monotonic()
                first = first or now
                last = now
                seen += len(good)
    finally:
        consumer.close()
    return first, last


def run_baseline(url: str, size: int, bootstrap: str, topic: str) -> dict[str, Any]:
    """(In a child process.) Stream the same lines and produce their raw bytes."""
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
    started = time.monotonic()
    path = "/api/v2/stream/s/*/results"
    with httpx.stream("GET", url + path, params={"access_token": TOKEN}, timeout=60) as response:
        pending = b""
        for chunk in response.iter_bytes():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if not line or b'"CT_RESULT"' not in line[:40]:
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
    return {"docs": sent, "seconds": time.monotonic() - started}


def measure(size: int, bootstrap: str) -> list[dict[str, Any]]:
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap, transactional_id_prefix=f"b{uuid.uuid4().hex[:6]}"
    )
    topics = TopicSettings(prefix=f"bench{uuid.uuid4().hex[:6]}.", partitions=6)
    apply_topics(kafka, topics)
    rows = []

    simulator, url = start_simulator(size)
    try:
        raw_topic = f"{topics.prefix}raw"
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(raw_topic, 6, 1)])[raw_topic].result()
        baseline = subprocess.Popen(
            [sys.executable, __file__, "--baseline", url, str(size), bootstrap, raw_topic],
            stdout=subprocess.PIPE,
        )
        first, last = count_committed(bootstrap, raw_topic, size, timeout_s=1800)
        out, _ = baseline.communicate(timeout=120)
        base = json.loads(out.decode().strip().splitlines()[-1])
        rows.append(
            {
                "size": size,
                "path": "raw produce (baseline)",
                "docs_per_s": size / max(last - first, 1e-9),
                "rss_mb": base["rss_mb"],
            }
        )

        env = {
            **os.environ,
            "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": kafka.transactional_id_prefix,
            "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
            "SOCIALSTREAM_TALKWALKER__BASE_URL": url,
            "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": TOKEN,
            "SOCIALSTREAM_TALKWALKER__STREAMS": "*",
            "SOCIALSTREAM_TALKWALKER__GZIP": "false",
            "SOCIALSTREAM_TALKWALKER__WINDOW_S": "1",
            "SOCIALSTREAM_LOG__LEVEL": "WARNING",
        }
        connector = subprocess.Popen(
            [sys.executable, "-m", "socialstream", "run", "talkwalker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first, last = count_committed(
                bootstrap, f"{topics.prefix}talkwalker.results", size, timeout_s=3600
            )
            rss = peak_rss_mb(connector.pid)
        finally:
            connector.send_signal(signal.SIGTERM)
            connector.wait(60)
        rows.append(
            {
                "size": size,
                "path": "socialstream connector",
                "docs_per_s": size / max(last - first, 1e-9),
                "rss_mb": rss,
            }
        )
    finally:
        simulator.terminate()
        simulator.wait(10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--baseline", nargs=4, metavar=("URL", "N", "BOOTSTRAP", "TOPIC"))
    args = parser.parse_args()
    if args.baseline:
        url, size, bootstrap, topic = args.baseline
        result = run_baseline(url, int(size), bootstrap, topic)
        result["rss_mb"] = peak_rss_mb(os.getpid())
        print(json.dumps(result))
        return

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        from socialstream.deploy.kafka.launcher import KafkaBroker

        broker = KafkaBroker.create().start()
        bootstrap = broker.bootstrap_servers
    try:
        rows: list[dict[str, Any]] = []
        for size in (int(s) for s in args.sizes.split(",")):
            rows += measure(size, bootstrap)
    finally:
        if broker is not None:
            broker.stop()

    print(f"\n{'timeframe':>10}  {'path':<24} {'docs/s':>9} {'ratio':>6} {'peak RSS':>9}")
    baseline: dict[int, float] = {}
    for row in rows:
        if row["path"].startswith("raw"):
            baseline[row["size"]] = row["docs_per_s"]
        ratio = row["docs_per_s"] / baseline[row["size"]]
        print(
            f"{row['size']:>10,}  {row['path']:<24} {row['docs_per_s']:>9,.0f} {ratio:>6.2f}"
            f" {row['rss_mb']:>7.0f} MB"
        )
    connector_rss = {r["size"]: r["rss_mb"] for r in rows if r["path"].startswith("socialstream")}
    if len(connector_rss) >= 2:
        small, large = min(connector_rss), max(connector_rss)
        print(
            f"\nconnector peak RSS at {large:,} / at {small:,} documents: "
            f"{connector_rss[large] / connector_rss[small]:.2f}"
        )


if __name__ == "__main__":
    main()
