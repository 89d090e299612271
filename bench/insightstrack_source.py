"""InsightsTrack source throughput: simulator -> connector -> Kafka, against a baseline.

The baseline, in the same run against the same simulator, reads the same stream and produces each
event line's raw bytes with confluent-kafka (no parsing, no Avro, no transactions). Figures are
events/s from the first to the last record a read_committed consumer sees across the tweets,
summaries and users topics; peak RSS is each process's VmHWM. Each of `--rounds` measures the
baseline and the connector back to back; the median ratio is printed.
Run: `python bench/insightstrack_source.py [--events 200000]`.
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
)

TOKEN = "it-sim-token"  # noqa: S105 - the simulator's token
PATH = "/stream/insightstrack/accounts/bench/publishers/twitter/prod.json"


def measure(events: int, bootstrap: str) -> list[dict[str, Any]]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap_servers=bootstrap, transactional_id_prefix=prefix + "tx")
    apply_topics(kafka, TopicSettings(prefix=prefix, partitions=6))
    rows = []
    # One simulator a run: the stream has no resume, so each reader gets a fresh script.
    for path in ("raw produce (baseline)", "socialstream connector"):
        port = free_port()
        simulator = start_cli(["simulate", "insightstrack", "--events", str(events)], port)
        url = f"http://127.0.0.1:{port}"
        try:
            if path.startswith("raw"):
                topic = prefix + "raw"
                create_topic(bootstrap, topic)
                process = subprocess.Popen(
                    [sys.executable, __file__, "--baseline", url, str(events), bootstrap, topic],
                    stdout=subprocess.PIPE,
                )
                first, last = count_committed(bootstrap, [topic], events, timeout_s=1800)
                out, _ = process.communicate(timeout=120)
                rss = json.loads(out.decode().strip().splitlines()[-1])["rss_mb"]
            else:
                env = {
                    **os.environ,
                    "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                    "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": kafka.transactional_id_prefix,
                    "SOCIALSTREAM_TOPICS__PREFIX": prefix,
                    "SOCIALSTREAM_INSIGHTSTRACK__BASE_URL": url,
                    "SOCIALSTREAM_INSIGHTSTRACK__ACCOUNT": "bench",
                    "SOCIALSTREAM_INSIGHTSTRACK__LABEL": "prod",
                    "SOCIALSTREAM_INSIGHTSTRACK__BEARER_TOKEN": TOKEN,
                    "SOCIALSTREAM_LOG__LEVEL": "WARNING",
                }
                process = subprocess.Popen(
                    [sys.executable, "-m", "socialstream", "run", "insightstrack"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                topics = [
                    prefix + t
                    for t in (
                        "insightstrack.tweets",
                        "insightstrack.summaries",
                        "insightstrack.users",
                    )
                ]
                try:
                    first, last = count_committed(bootstrap, topics, events, timeout_s=3600)
                    rss = peak_rss_mb(process.pid)
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(60)
            rows.append(
                {
                    "size": events,
                    "path": path,
                    "per_s": events / max(last - first, 1e-9),
                    "rss_mb": rss,
                }
            )
        finally:
            simulator.terminate()
            simulator.wait(10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    rounds_argument(parser)
    parser.add_argument("--baseline", nargs=4, metavar=("URL", "N", "BOOTSTRAP", "TOPIC"))
    args = parser.parse_args()
    if args.baseline:
        url, size, bootstrap, topic = args.baseline
        produce_raw_lines(
            url + PATH, int(size), bootstrap, topic, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        print(json.dumps({"rss_mb": peak_rss_mb(os.getpid())}))
        return
    with kafka_broker() as bootstrap:
        rounds = [measure(args.events, bootstrap) for _ in range(args.rounds)]
    print_table(median_of_rounds(rounds), "events")


if __name__ == "__main__":
    main()
