"""Every component runs with distinctive secrets (four upstream tokens and a Kafka SASL
password), one upstream echoes its token back in an error body, and none of the secrets appears
in anything the run produced: logs, exceptions, `config show`, /metrics and /readyz, exported
spans, and every record, key and header on every topic (dead letters and errors included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.redaction import MASK
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import TOPICS, apply_topics, topic_name
from socialstream.simulators.base import Fault, FaultKind, FaultPlan, SimulatorServer
from socialstream.simulators.crimson_hexagon import CrimsonHexagonSimulator, MonitorData
from socialstream.simulators.insightstrack import EventScript, InsightsTrackSimulator
from socialstream.simulators.sentiment_history import SentimentHistorySimulator, SentimentSeries
from socialstream.simulators.talkwalker import Corpus, TalkwalkerSimulator
from socialstream.simulators.talkwalker.server import STREAM_PATH
from tests.integration.polling_harness import settled, wait_for
from tests.integration.writeback_harness import free_port, ready

SECRETS = {
    "talkwalker": "tw-7f3a9c2e51-secret",
    "insightstrack": "it-b81d44e07c-secret",
    "monitors": "ch-5e0c13aa96-secret",
    "sentiment": "sh-2d9f70b3e8-secret",
    "kafka": "kafka-c4e18f5a27-password",
}
COMPONENTS = (
    "talkwalker", "insightstrack", "monitors", "sentiment", "enrichment", "sentiment-join",
    "writeback",
)  # fmt: skip


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP endpoint that keeps what it is sent."""
    bodies: list[bytes] = []

    async def traces(request: Request) -> Response:
        bodies.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    with SimulatorServer(Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])) as s:
        yield f"{s.url}/v1/traces", bodies


def settings_file(
    path: Path, kafka: KafkaSettings, topics: TopicSettings, urls: dict[str, str], otlp: str
) -> Path:
    group = uuid.uuid4().hex[:8]
    today = datetime.now(UTC).date()
    config: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": kafka.bootstrap_servers,
            "transactional_id_prefix": kafka.transactional_id_prefix,
        },
        "topics": {"prefix": topics.prefix, "partitions": topics.partitions},
        "log": {"format": "json", "level": "DEBUG"},
        "tracing": {"otlp_endpoint": otlp},
        "talkwalker": {"base_url": urls["talkwalker"], "streams": "*",
                       "lease_session_timeout_ms": 2000},
        "insightstrack": {"base_url": urls["insightstrack"], "account": "demo", "label": "prod"},
        "monitors": {
            "base_url": f"{urls['monitors']}/api",
            "schedule": [{"monitors": [101], "metrics": ["volume"], "every_s": 5,
                          "first_day": str(today - timedelta(3))}],
        },
        "sentiment": {
            "base_url": urls["sentiment"], "every_s": 5, "first_lookback_minutes": 120,
            "queries": [{"name": "demo", "interval": "1m", "keywords": ["acme"]}],
        },
        "enrichment": {"default_sentiment_query": "demo", "consumer_group": f"e-{group}",
                       "state_dir": str(path.parent / "enrichment"), "commit_interval_s": 0.5},
        "sentiment_join": {"consumer_group": f"j-{group}", "grace_s": 1, "max_wait_s": 2,
                           "state_dir": str(path.parent / "join"), "commit_interval_s": 0.5},
        "writeback": {"project_id": "project-1", "consumer_group": f"w-{group}",
                      "instance_id": f"w-{group}"},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def secret_env(config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SOCIALSTREAM_CONFIG": str(config),
        "SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": SECRETS["talkwalker"],
        "SOCIALSTREAM_INSIGHTSTRACK__BEARER_TOKEN": SECRETS["insightstrack"],
        "SOCIALSTREAM_MONITORS__TOKEN": SECRETS["monitors"],
        "SOCIALSTREAM_SENTIMENT__TOKEN": SECRETS["sentiment"],
        "SOCIALSTREAM_KAFKA__SASL_PASSWORD": SECRETS["kafka"],
    }


def get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        return bytes(exc.read())


def test_no_secret_appears_in_any_output_of_a_full_run(
    kafka: KafkaSettings,
    topics: TopicSettings,
    tmp_path: Path,
    collector: tuple[str, list[bytes]],
) -> None:
    apply_topics(kafka, topics)
    otlp, spans = collector
    start_ms = int(datetime.now(UTC).timestamp() * 1000) - 100 * 60_000
    echo = (
        b'{"status_code": "503", "status_message": "maintenance; your token '
        + SECRETS["talkwalker"].encode()
        + b' is fine"}'
    )
    plan = FaultPlan().add(
        Fault(FaultKind.STATUS, path=STREAM_PATH, request=1, status=503, retry_after="1",
              status_body=echo)
    )  # fmt: skip
    outputs: dict[str, bytes] = {}
    with (
        TalkwalkerSimulator(
            Corpus(seed=3, timeframes=100, per_timeframe=20, start_ms=start_ms),
            token=SECRETS["talkwalker"], plan=plan, window_s=6.0,
        ) as tw,
        InsightsTrackSimulator(EventScript(seed=3, count=2000),
                               token=SECRETS["insightstrack"]) as it,
        CrimsonHexagonSimulator(MonitorData(seed=3), token=SECRETS["monitors"]) as ch,
        SentimentHistorySimulator(SentimentSeries(seed=3), token=SECRETS["sentiment"]) as sh,
    ):  # fmt: skip
        urls = {"talkwalker": tw.url, "insightstrack": it.url, "monitors": ch.url,
                "sentiment": sh.url}  # fmt: skip
        config = settings_file(tmp_path / "settings.yaml", kafka, topics, urls, otlp)
        env = secret_env(config)
        shown = subprocess.run(
            [sys.executable, "-m", "socialstream", "config", "show", "--json"],
            env=env, capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        outputs["config show"] = shown.stdout + shown.stderr
        ports = {name: free_port() for name in COMPONENTS}
        processes = {}
        for name in COMPONENTS:
            log = (tmp_path / f"{name}.log").open("wb")
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "socialstream", "run", name],
                env={**env, "SOCIALSTREAM_HEALTH__PORT": str(ports[name]),
                     "SOCIALSTREAM_HEALTH__HOST": "127.0.0.1"},
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            for name, port in ports.items():
                wait_for(lambda port=port: ready(port), 90, f"{name} ready")  # type: ignore[misc]
            settled(kafka, topics, "writeback.results", 200, timeout_s=180)
            settled(kafka, topics, "monitor.metrics", 1, timeout_s=60)
            settled(kafka, topics, "insightstrack.tweets", 100, timeout_s=60)
            for name, port in ports.items():
                outputs[f"{name} /metrics"] = get(f"http://127.0.0.1:{port}/metrics")
                outputs[f"{name} /readyz"] = get(f"http://127.0.0.1:{port}/readyz")
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            codes = {name: p.wait(60) for name, p in processes.items()}
        assert any(c.status == 503 for c in tw.server.calls), "the echoing fault fired"
    assert codes == dict.fromkeys(COMPONENTS, 0), codes
    for name in COMPONENTS:
        outputs[f"{name} log"] = (tmp_path / f"{name}.log").read_bytes()
    assert spans, "spans were exported"
    outputs["spans"] = b"".join(spans)
    for spec in TOPICS:
        for message in read_to_end(kafka, topic_name(spec, topics), timeout_s=30):
            headers = b"".join(k.encode() + (v or b"") for k, v in message.headers() or [])
            outputs[spec.name] = outputs.get(spec.name, b"") + (message.key() or b"") + (
                message.value() or b""
            ) + headers  # fmt: skip
    # The echoed body reached the error record, with the token masked.
    assert b"maintenance; your token " + MASK.encode() in outputs["talkwalker.errors"]

    leaks = {
        (where, secret_name)
        for where, data in outputs.items()
        for secret_name, secret in SECRETS.items()
        if secret.encode() in data
    }
    assert leaks == set(), leaks
    # The run was real: every log says something, the pipeline wrote back.
    assert all(outputs[f"{name} log"] for name in COMPONENTS)
