"""Peer benchmark: the same Talkwalker CT_RESULT lines moved into Kafka three ways, in one run.

(a) Kafka Connect's standalone worker (connect-runtime and connect-file from Maven Central, the
    broker's Kafka version) with FileStreamSourceConnector reading the lines from a file: what a
    team would reach for first. At-least-once, no parsing, strings as they are.
(b) socialstream's Talkwalker source reading the same lines from the simulator: parse leniently,
    normalise, Avro-encode, de-duplicate replays, commit exactly once with its checkpoint.
(c) raw confluent-kafka produce of the same bytes from the file: the ceiling.

Each is timed by a read_committed consumer from its first record to its last; CPU seconds and
peak RSS are read from /proc for the process doing the work. The table goes to stdout and to
bench/RESULTS.md with a description of the machine. Run: `python bench/peers.py [--size N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from socialstream.deploy.kafka.launcher import cache_dir, fetch_jars, java, kafka_version
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics

from harness import (
    count_committed,
    create_topic,
    free_port,
    kafka_broker,
    peak_rss_mb,
    start_cli,
    talkwalker_env,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TOKEN = "tw-sim-token"  # noqa: S105 - the simulator's token
PATH = "/api/v2/stream/s/*/results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def capture_lines(url: str, path: Path) -> int:
    """The simulator's CT_RESULT lines, byte for byte, one a line in `path`."""
    count = 0
    with (
        path.open("wb") as out,
        httpx.stream("GET", url + PATH, params={"access_token": TOKEN}, timeout=120) as response,
    ):
        pending = b""
        for chunk in response.iter_bytes():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if b'"CT_RESULT"' in line[:60]:
                    out.write(line + b"\n")
                    count += 1
                elif b'"CT_CONTROL"' in line[:60] and count:  # the next timeframe: all are here
                    return count
    return count


def run_connect(bootstrap: str, lines: Path, topic: str, work: Path, size: int) -> dict[str, Any]:
    lib = fetch_jars(HERE / "connect" / "pom.xml", cache_dir() / "connect-lib")
    worker = work / "worker.properties"
    worker.write_text(
        "\n".join(
            [
                f"bootstrap.servers={bootstrap}",
                "key.converter=org.apache.kafka.connect.storage.StringConverter",
                "value.converter=org.apache.kafka.connect.storage.StringConverter",
                f"offset.storage.file.filename={work / 'offsets'}",
                "offset.flush.interval.ms=1000",
                f"listeners=http://127.0.0.1:{free_port()}",
                "",
            ]
        )
    )
    connector = work / "file-source.properties"
    connector.write_text(
        "\n".join(
            [
                "name=file-source",
                "connector.class=org.apache.kafka.connect.file.FileStreamSourceConnector",
                "tasks.max=1",
                f"file={lines}",
                f"topic={topic}",
                "",
            ]
        )
    )
    log4j = work / "log4j2.properties"
    log4j.write_text("rootLogger.level=warn\nrootLogger.appenderRef.o.ref=o\n"
                     "appender.o.type=Null\nappender.o.name=o\n")  # fmt: skip
    process = subprocess.Popen(
        [java(), "-Xmx1g", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{lib}/*",
         "org.apache.kafka.connect.cli.ConnectStandalone", str(worker), str(connector)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        first, last = count_committed(bootstrap, [topic], size, timeout_s=1800)
        cpu, rss = cpu_seconds(process.pid), peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    return {"per_s": size / max(last - first, 1e-9), "cpu_s": cpu, "rss_mb": rss}


def run_socialstream(bootstrap: str, url: str, size: int) -> dict[str, Any]:
    prefix = f"peer{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap_servers=bootstrap, transactional_id_prefix=prefix + "tx")
    apply_topics(kafka, TopicSettings(prefix=prefix, partitions=6))
    env = talkwalker_env(bootstrap, prefix, url, TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "socialstream", "run", "talkwalker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        first, last = count_committed(bootstrap, [prefix + "talkwalker.results"], size, 3600)
        cpu, rss = cpu_seconds(process.pid), peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    return {"per_s": size / max(last - first, 1e-9), "cpu_s": cpu, "rss_mb": rss}


def produce_file(bootstrap: str, lines: Path, topic: str) -> None:
    """The ceiling, in its own process: every line's bytes, idempotent, no parsing."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "linger.ms": 5, "compression.type": "zstd", "acks": "all"})  # fmt: skip
    with lines.open("rb") as source:
        for line in source:
            while True:
                try:
                    producer.produce(topic, line.rstrip(b"\n"))
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
    producer.flush(120)
    print(json.dumps({"cpu_s": cpu_seconds(os.getpid()), "rss_mb": peak_rss_mb(os.getpid())}))


def run_ceiling(bootstrap: str, lines: Path, topic: str, size: int) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--produce", bootstrap, str(lines), topic],
        stdout=subprocess.PIPE,
    )
    first, last = count_committed(bootstrap, [topic], size, timeout_s=1800)
    out, _ = process.communicate(timeout=300)
    measured = json.loads(out.decode().strip().splitlines()[-1])
    return {"per_s": size / max(last - first, 1e-9), **measured}


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "unknown",
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )  # fmt: skip
    version = subprocess.run([java(), "-version"], capture_output=True, text=True, check=False)
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"{version.stderr.splitlines()[0] if version.stderr else 'Java ?'}, "
        f"Apache Kafka {kafka_version()} (one local KRaft broker)"
    )


def write_results(rows: list[dict[str, Any]], size: int) -> str:
    ceiling = rows[0]["per_s"]
    table = [
        "| path | docs/s | ratio to ceiling | CPU s | CPU µs/doc | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        table.append(
            f"| {row['path']} | {row['per_s']:,.0f} | {row['per_s'] / ceiling:.2f} | "
            f"{row['cpu_s']:.1f} | {row['cpu_s'] / size * 1e6:.0f} | {row['rss_mb']:.0f} MB |"
        )
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Written by bench/peers.py (the last step of `make bench`) on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machines here are noisy: compare ratios "
            "within one run, not figures across runs.",
            "",
            f"Machine: {machine()}.",
            "",
            f"The same {size:,} Talkwalker CT_RESULT lines into one topic, each path timed by a "
            "read_committed consumer from its first record to its last. Ceiling: confluent-kafka "
            "producing the raw bytes (idempotent, zstd, linger 5 ms). Kafka Connect: the "
            "standalone worker with FileStreamSourceConnector (at-least-once, strings as they "
            "are). socialstream: the Talkwalker source against the simulator (lenient parse, "
            "normalised Avro records, exactly-once transactions with the checkpoint).",
            "",
            *table,
            "",
        ]
    )
    RESULTS.write_text(text)
    return "\n".join(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--produce", nargs=3, metavar=("BOOTSTRAP", "FILE", "TOPIC"))
    args = parser.parse_args()
    if args.produce:
        bootstrap, path, topic = args.produce
        produce_file(bootstrap, Path(path), topic)
        return
    with kafka_broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        simulator = start_cli(
            ["simulate", "talkwalker", "--timeframes", "2", "--per-timeframe", str(args.size),
             "--seed", "7", "--window-s", "1", "--no-gzip"],
            port,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            lines = work / "lines.txt"
            size = capture_lines(url, lines)
            prefix = f"peers{uuid.uuid4().hex[:6]}."
            for name in ("ceiling", "connect"):
                create_topic(bootstrap, prefix + name)
            rows = [
                {"path": "raw confluent-kafka produce (ceiling)",
                 **run_ceiling(bootstrap, lines, prefix + "ceiling", size)},
                {"path": "Kafka Connect FileStreamSource",
                 **run_connect(bootstrap, lines, prefix + "connect", work, size)},
                {"path": "socialstream Talkwalker source",
                 **run_socialstream(bootstrap, url, size)},
            ]  # fmt: skip
        finally:
            simulator.terminate()
            simulator.wait(10)
    print(write_results(rows, size))
    print(f"\nwritten to {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
