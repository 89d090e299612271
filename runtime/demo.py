"""`socialstream demo`: a broker, the topics, a simulator, and records flowing, on one laptop.

What runs today: the example line-stream simulator serves Talkwalker-shaped chunks; a feeder reads
them through the runtime's HTTP client, validates them with the Talkwalker models and writes
Avro records transactionally to talkwalker.results / talkwalker.control; a read_committed
consumer decodes what is committed and prints records a second per topic. Connectors and
processors join the demo as they land.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType

from socialstream.connectors.talkwalker.models import ControlChunk, ResultChunk, parse_chunk
from socialstream.connectors.talkwalker.records import control_record, document_id, result_record
from socialstream.runtime.codec import Codec, DecodeError, codec_for
from socialstream.runtime.consumer import committed_consumer
from socialstream.runtime.httpclient import make_client, raise_for_status
from socialstream.runtime.lenient import loads
from socialstream.runtime.producer import TransactionalProducer
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import Settings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.linestream import LineStreamSimulator

DEMO_TOKEN = "demo-token-not-a-secret"  # noqa: S105 - the demo simulator's own token


def talkwalker_like_corpus(seed: int, count: int) -> Iterator[bytes]:
    """Chunks shaped like the Talkwalker seed examples: a control chunk every 50 results."""
    rng = random.Random(seed)
    topics = ["cats", "dogs", "kafka", "football", "weather", "music"]
    start = 1_700_000_000_000 + seed * 10_000_000
    for n in range(count):
        if n % 50 == 0:
            timeframe = start + n * 1000
            yield json.dumps(
                {
                    "chunk_type": "CT_CONTROL",
                    "chunk_control": {
                        "timeframe_start": timeframe,
                        "timeframe_end": timeframe + 50_000,
                        "stream": [{"id": "demo", "status": "active"}],
                    },
                }
            ).encode()
        topic = rng.choice(topics)
        yield json.dumps(
            {
                "chunk_type": "CT_RESULT",
                "chunk_result": {
                    "data": {
                        "data": {
                            "url": f"http://www.example.com/{topic}/{seed}-{n}.html",
                            "published": start + n * 1000 - rng.randint(0, 86_400_000),
                            "search_indexed": start + n * 1000,
                            "title": f"About {topic} #{n}",
                            "content": f"A post about {topic}.",
                            "lang": "en",
                            "sentiment": rng.randint(-5, 5),
                            "engagement": str(rng.randint(0, 500)),
                            "source_type": ["BLOG"],
                        },
                        "highlighted_data": [{"matched": {"rule_id": topic, "stream_id": "demo"}}],
                    }
                },
            }
        ).encode()


def feed(settings: Settings, codec: Codec, url: str, stop: threading.Event, batch: int) -> None:
    """Read chunk batches from the simulator and publish them, one transaction a batch."""
    producer = TransactionalProducer(settings.kafka, "demo-feeder")
    publisher = Publisher(producer, codec, settings.topics, source="demo")
    seed = 0
    with make_client(url, secret_values=[DEMO_TOKEN]) as client:
        while not stop.is_set():
            seed += 1
            params = {"access_token": DEMO_TOKEN, "count": str(batch), "seed": str(seed)}
            timeframe: int | None = None
            with client.stream("GET", "/stream", params=params) as response:
                raise_for_status(response)
                with producer.transaction():
                    for index, line in enumerate(response.iter_lines()):
                        if not line.strip():
                            continue
                        chunk = parse_chunk(loads(line)[0])
                        position = f"seed={seed}/line={index}"
                        if isinstance(chunk, ControlChunk):
                            timeframe = chunk.chunk_control.timeframe_start
                            publisher.publish(
                                "talkwalker.control",
                                "demo",
                                control_record(chunk.chunk_control),
                                position,
                            )
                        elif isinstance(chunk, ResultChunk):
                            for body in chunk.chunk_result:
                                publisher.publish(
                                    "talkwalker.results",
                                    document_id(body.data.url),
                                    result_record(body, timeframe),
                                    position,
                                )
            stop.wait(1.0)


def watch(
    settings: Settings,
    codec: Codec,
    topics: list[str],
    stop: threading.Event,
    report: Callable[[Counter[str], Counter[str], dict[str, str]], None],
) -> None:
    """Consume read_committed, decode, and report counts every second."""
    consumer = committed_consumer(settings.kafka, f"socialstream-demo-{int(time.time())}")
    consumer.subscribe(topics)
    totals: Counter[str] = Counter()
    last: dict[str, str] = {}
    try:
        window: Counter[str] = Counter()
        tick = time.monotonic()
        while not stop.is_set():
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                try:
                    decoded = codec.decode(msg.value(), msg.topic())
                    window[msg.topic()] += 1
                    totals[msg.topic()] += 1
                    value = decoded.value
                    last[msg.topic()] = str(value.get("title") or value.get("timeframe_start"))
                except DecodeError as exc:
                    last[msg.topic()] = f"undecodable: {exc}"
            if time.monotonic() - tick >= 1.0:
                report(window, totals, last)
                window = Counter()
                tick = time.monotonic()
    finally:
        consumer.close()


def run_demo(settings: Settings, duration_s: float, batch: int = 200) -> Counter[str]:
    """Run the demo until `duration_s` passes (0: until Ctrl-C). Returns records seen a topic."""
    apply_topics(settings.kafka, settings.topics)
    codec = codec_for(settings.schema_registry.url)
    stop = threading.Event()
    totals_seen: Counter[str] = Counter()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    previous_term = signal.signal(signal.SIGTERM, on_signal)
    topics = [
        f"{settings.topics.prefix}talkwalker.results",
        f"{settings.topics.prefix}talkwalker.control",
    ]

    def report(window: Counter[str], totals: Counter[str], last: dict[str, str]) -> None:
        totals_seen.clear()
        totals_seen.update(totals)
        parts = [f"{t}: {window[t]:>4}/s total {totals[t]:>6}" for t in topics]
        print("  ".join(parts) + (f"  last: {last.get(topics[0], '')}" if last else ""), flush=True)

    errors: list[BaseException] = []
    with LineStreamSimulator(token=DEMO_TOKEN, corpus=talkwalker_like_corpus) as simulator:
        print(
            f"simulator on {simulator.url}; Kafka at {settings.kafka.bootstrap_servers}", flush=True
        )

        def run_feed() -> None:
            try:
                feed(settings, codec, simulator.url, stop, batch)
            except BaseException as exc:  # surfaced after the watcher stops
                errors.append(exc)
                stop.set()

        feeder = threading.Thread(target=run_feed, name="demo-feeder", daemon=True)
        feeder.start()
        if duration_s > 0:
            threading.Timer(duration_s, stop.set).start()
        try:
            watch(settings, codec, topics, stop, report)
        finally:
            stop.set()
            feeder.join(30)
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, previous_term)
    if errors:
        raise errors[0]
    return totals_seen
