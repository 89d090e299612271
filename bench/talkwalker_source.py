"""Talkwalker source throughput: simulator -> connector -> committed in Kafka, against a baseline.

The baseline, measured in the same run against the same simulator, reads the same stream and
produces every CT_RESULT line's raw bytes with confluent-kafka: no parsing, no Avro, no
transactions. Figures are docs/s from the first to the last record a read_committed consumer sees;
peak RSS is each process's VmHWM. Each of `--rounds` measures the baseline and the connector back
to back; the median ratio is printed.
Run: `python bench/talkwalker_source.py [--sizes 100000,1000000]`
(a local broker is started unless KAFKA_BOOTSTRAP_SERVERS is set).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics

from harness import (
    count_committed,
    create_topic,
    free_port,
    kafka_broker,
    median_of_rounds,
    peak_rss_mb,
    print_table,
    produce_raw_lines,
    rounds_argument,
    start_cli,
    talkwalker_env,
)

TOKEN = "tw-sim-token"  # noqa: S105 - the simulator's token
PATH = "/api/v2/stream/s/*/results"


def measure(size: int, bootstrap: str) -> list[dict[str, Any]]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap_servers=bootstrap, transactional_id_prefix=prefix + "tx")
    apply_topics(kafka, TopicSettings(prefix=prefix, partitions=6))
    port = free_port()
    simulator = start_cli(
        [
            "simulate",
            "talkwalker",
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
        port,
    )
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        raw_topic = prefix + "raw"
        create_topic(bootstrap, raw_topic)
        baseline = subprocess.Popen(
            [sys.executable, __file__, "--baseline", url, str(size), bootstrap, raw_topic],
            stdout=subprocess.PIPE,
        )
        first, last = count_committed(bootstrap, [raw_topic], size, timeout_s=1800)
        out, _ = baseline.communicate(timeout=120)
        rss = json.loads(out.decode().strip().splitlines()[-1])["rss_mb"]
        rows.append(
            {
                "size": size,
                "path": "raw produce (baseline)",
                "per_s": size / max(last - first, 1e-9),
                "rss_mb": rss,
            }
        )

        env = talkwalker_env(bootstrap, prefix, url, TOKEN)
        connector = subprocess.Popen(
            [sys.executable, "-m", "socialstream", "run", "talkwalker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first, last = count_committed(bootstrap, [prefix + "talkwalker.results"], size, 3600)
            rss = peak_rss_mb(connector.pid)
        finally:
            connector.send_signal(signal.SIGTERM)
            connector.wait(60)
        rows.append(
            {
                "size": size,
                "path": "socialstream connector",
                "per_s": size / max(last - first, 1e-9),
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
    rounds_argument(parser)
    parser.add_argument("--baseline", nargs=4, metavar=("URL", "N", "BOOTSTRAP", "TOPIC"))
    args = parser.parse_args()
    if args.baseline:
        url, size, bootstrap, topic = args.baseline
        produce_raw_lines(
            url + PATH,
            int(size),
            bootstrap,
            topic,
            params={"access_token": TOKEN},
            marker=b'"CT_RESULT"',
        )
        print(json.dumps({"rss_mb": peak_rss_mb(os.getpid())}))
        return
    with kafka_broker() as bootstrap:
        rounds = [
            [row for size in args.sizes.split(",") for row in measure(int(size), bootstrap)]
            for _ in range(args.rounds)
        ]
    rows = median_of_rounds(rounds)
    print_table(rows, "docs")
    connector = {r["size"]: r["rss_mb"] for r in rows if r["path"].startswith("socialstream")}
    if len(connector) >= 2:
        small, large = min(connector), max(connector)
        print(
            f"\nconnector peak RSS at {large:,} / at {small:,} documents: "
            f"{connector[large] / connector[small]:.2f}"
        )


if __name__ == "__main__":
    main()
