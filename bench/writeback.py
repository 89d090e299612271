"""Write-back throughput: bulk requests against one call a document, in the same run.

The same scored documents are written to the Talkwalker simulator's documents API twice:
- one call each: every document's operation POSTed alone to `/docs/p/<project>/create`, in
  order, by a plain httpx client (what an integration without bulk does; it skips Kafka, which
  only flatters it);
- bulk: `socialstream run writeback` reading them from `documents.scored` on a real broker,
  measured from its first to its last committed outcome on `writeback.results`.
Prints docs/s, the ratio of bulk to one-call-each, the calls each used, and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx

from socialstream.processors.writeback.mapping import operation_for
from socialstream.runtime.settings import KafkaSettings, TopicSettings, WritebackSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.records import produce, scored_documents
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.documents import DocumentStore

from harness import count_committed, kafka_broker, peak_rss_mb


def one_call_each(sim: TalkwalkerSimulator, docs: list[dict[str, Any]]) -> tuple[float, int]:
    """(docs/s, calls) sending each document's operation alone."""
    settings = WritebackSettings()
    bodies = []
    for doc in docs:
        operation = operation_for(doc, settings)
        bodies.append(operation.encoded[len(b'{"create":') : -1])  # the document itself
    path = f"/api/v2/docs/p/{sim.project_id}/create"
    with httpx.Client(base_url=sim.url, params={"access_token": sim.token}) as client:
        started = time.perf_counter()
        for body in bodies:
            client.post(path, content=body).raise_for_status()
        elapsed = time.perf_counter() - started
    assert len(sim.documents.live()) == len(docs)
    return len(docs) / elapsed, len(bodies)


def bulk(sim: TalkwalkerSimulator, bootstrap: str, prefix: str, n: int) -> tuple[float, int, float]:
    """(docs/s, calls, peak RSS MB) of the write-back processor."""
    env = {
        **os.environ,
        "SOCIALSTREAM_LOG__LEVEL": "WARNING",
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SOCIALSTREAM_TOPICS__PREFIX": prefix,
        "SOCIALSTREAM_TALKWALKER__BASE_URL": sim.url,
        "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": sim.token,
        "SOCIALSTREAM_WRITEBACK__PROJECT_ID": sim.project_id,
        "SOCIALSTREAM_WRITEBACK__CONSUMER_GROUP": f"{prefix}writeback",
        "SOCIALSTREAM_WRITEBACK__INSTANCE_ID": f"{prefix}bench",
    }
    before = sim.docs.requests
    command = [sys.executable, "-m", "socialstream", "run", "writeback"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        first, last = count_committed(bootstrap, [prefix + "writeback.results"], n, timeout_s=1800)
        rss = peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert len(sim.documents.live()) == n
    return n / max(last - first, 1e-9), sim.docs.requests - before, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20_000)
    args = parser.parse_args()
    per_timeframe = 1000
    corpus = Corpus(
        seed=5, timeframes=max(1, args.documents // per_timeframe), per_timeframe=per_timeframe
    )
    docs = scored_documents(corpus)
    with kafka_broker() as bootstrap, TalkwalkerSimulator(Corpus()) as sim:
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        kafka, topics = KafkaSettings(bootstrap_servers=bootstrap), TopicSettings(prefix=prefix)
        apply_topics(kafka, topics)
        for start in range(0, len(docs), 5000):
            batch = docs[start : start + 5000]
            produce(
                kafka,
                topics,
                "documents.scored",
                [(d["document"]["document_id"], d, None) for d in batch],
            )
        single_per_s, single_calls = one_call_each(sim, docs)
        sim.documents = DocumentStore()
        bulk_per_s, bulk_calls, rss = bulk(sim, bootstrap, prefix, len(docs))
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{'documents':>10}  {'path':<28} {'docs/s':>10} {'ratio':>6} {'calls':>7}"
        f" {'peak RSS':>9}"
    )
    print(
        f"{len(docs):>10,}  {'one call each (httpx)':<28} {single_per_s:>10,.0f} {1.0:>6.2f}"
        f" {single_calls:>7,} {own_rss:>7.0f} MB (bench process, simulator included)"
    )
    print(
        f"{len(docs):>10,}  {'bulk (run writeback)':<28} {bulk_per_s:>10,.0f}"
        f" {bulk_per_s / single_per_s:>6.2f} {bulk_calls:>7,} {rss:>7.0f} MB"
    )


if __name__ == "__main__":
    main()
