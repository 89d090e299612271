"""The InsightsTrack source end to end: stalls, drops, 503, a malformed line and a revoke."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import apply_topics
from socialstream.simulators.base import Fault, FaultKind, FaultPlan
from socialstream.simulators.insightstrack import EventScript, InsightsTrackSimulator

TOKEN = "it-sim-token"


def _env(
    kafka: KafkaSettings, topics: TopicSettings, sim: InsightsTrackSimulator
) -> dict[str, str]:
    return {
        **os.environ,
        "SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SOCIALSTREAM_KAFKA__TRANSACTIONAL_ID_PREFIX": kafka.transactional_id_prefix,
        "SOCIALSTREAM_TOPICS__PREFIX": topics.prefix,
        "SOCIALSTREAM_TOPICS__PARTITIONS": str(topics.partitions),
        "SOCIALSTREAM_INSIGHTSTRACK__BASE_URL": sim.url,
        "SOCIALSTREAM_INSIGHTSTRACK__ACCOUNT": "acme",
        "SOCIALSTREAM_INSIGHTSTRACK__LABEL": "prod",
        "SOCIALSTREAM_INSIGHTSTRACK__BEARER_TOKEN": TOKEN,
        "SOCIALSTREAM_INSIGHTSTRACK__STALL_TIMEOUT_S": "1.5",
        "SOCIALSTREAM_INSIGHTSTRACK__NETWORK_BACKOFF_S": "0.1",
        "SOCIALSTREAM_INSIGHTSTRACK__HTTP_BACKOFF_S": "0.5",
        "SOCIALSTREAM_INSIGHTSTRACK__LEASE_SESSION_TIMEOUT_MS": "2000",
        "SOCIALSTREAM_LOG__FORMAT": "text",
    }


def _identities(kafka: KafkaSettings, topics: TopicSettings) -> list[str]:
    codec = SingleObjectCodec()
    found = []
    for msg in read_to_end(kafka, f"{topics.prefix}insightstrack.tweets", timeout_s=60):
        found.append(f"tweet:{codec.decode(msg.value()).value['tweet_id']}")
    for msg in read_to_end(kafka, f"{topics.prefix}insightstrack.summaries", timeout_s=60):
        value = codec.decode(msg.value()).value
        found.append(f"summary:{value['tweet_id']}:{int(value['window_end'].timestamp())}")
    for msg in read_to_end(kafka, f"{topics.prefix}insightstrack.users", timeout_s=60):
        value = codec.decode(msg.value()).value
        when = value["event_time"].timestamp()
        found.append(f"user:{value['user_id']}:{value['event_type']}:{int(when)}")
    return found


def test_stalls_drops_503_malformed_and_revoke_every_event_once_with_gaps(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    revoked_user = 6253282
    script = EventScript(seed=3, count=20_000, revoke_at=12_345, revoke_user=revoked_user)
    plan = FaultPlan().add(
        Fault(FaultKind.STALL, path="/stream", request=1, at_line=3000, seconds=6),
        Fault(FaultKind.STALL, path="/stream", request=2, at_line=3000, seconds=6),
        Fault(FaultKind.DISCONNECT, path="/stream", request=3, at_line=4000),
        Fault(FaultKind.STATUS, path="/stream", request=4, status=503),
        Fault(FaultKind.MALFORMED, path="/stream", request=5, at_line=100, body=b'{"tweet_event":'),
    )
    apply_topics(kafka, topics)
    log = tmp_path / "connector.log"
    with InsightsTrackSimulator(script, plan=plan, keepalive_s=0.3) as sim:
        process = subprocess.Popen(
            [sys.executable, "-m", "socialstream", "run", "insightstrack"],
            env=_env(kafka, topics, sim),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and process.poll() is None:
                if sim.state.cursor >= script.count and len(_identities(kafka, topics)) >= len(
                    set(sim.state.delivered)
                ):
                    break
                time.sleep(1)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0, log.read_text()[-3000:]
        delivered = sim.state.delivered
        calls = [c for c in sim.server.calls if c.path.startswith("/stream")]
        rules = set(sim.state.rules)

    seen = _identities(kafka, topics)
    assert len(delivered) > len(set(delivered))  # reconnects resent events...
    assert len(seen) == len(set(seen))  # ...and none was published twice
    assert set(seen) == set(delivered)
    assert len(set(seen)) == script.count

    codec = SingleObjectCodec()
    control = [
        codec.decode(m.value()).value
        for m in read_to_end(kafka, f"{topics.prefix}insightstrack.control")
    ]
    gaps = [c for c in control if c["kind"] == "GAP"]
    reasons = [g["reason"] for g in gaps]
    assert len(gaps) == 3, reasons  # one a disconnect: two stalls and a drop
    assert reasons[0].startswith("stall") and reasons[1].startswith("stall")
    assert reasons[2].startswith("disconnect")
    for gap in gaps:
        assert gap["gap_from"] is not None and gap["gap_from"] <= gap["gap_to"]
    # A stall's window covers at least the stall limit; the drop's the 503 retry too.
    assert (gaps[0]["gap_to"] - gaps[0]["gap_from"]).total_seconds() >= 1.5
    assert gaps[2]["attempt"] >= 1
    assert [c.status for c in calls] == [200, 200, 200, 503, 200]
    dropped = [c for c in control if c["kind"] == "RULE_DROPPED"]
    assert len(dropped) == 1 and str(revoked_user) in dropped[0]["reason"]
    assert f"from:{revoked_user}" not in rules

    dlq = [
        codec.decode(m.value()).value
        for m in read_to_end(kafka, f"{topics.prefix}insightstrack.dlq")
    ]
    assert [d["raw"] for d in dlq] == [b'{"tweet_event":']
    summaries = [
        codec.decode(m.value()).value
        for m in read_to_end(kafka, f"{topics.prefix}insightstrack.summaries")
    ]
    assert summaries and all(isinstance(s["impressions_total"], int) for s in summaries)
    users = list(read_to_end(kafka, f"{topics.prefix}insightstrack.users"))
    assert [m.key() for m in users] == [str(revoked_user).encode()]
    assert "revoked access" in log.read_text()
    assert TOKEN not in log.read_text()


def test_restart_after_sigkill_does_not_republish_resent_events(
    kafka: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    script = EventScript(seed=4, count=30_000)
    # The first connection pauses after line 5000 (a stall longer than the test), so the kill
    # below lands at a known point: everything sent so far reached the connector.
    plan = FaultPlan().add(
        Fault(FaultKind.STALL, path="/stream", request=1, at_line=5000, seconds=600)
    )
    apply_topics(kafka, topics)
    log = tmp_path / "connector.log"
    with InsightsTrackSimulator(script, plan=plan, keepalive_s=0.3, replay_on_reconnect=500) as sim:
        env = {**_env(kafka, topics, sim), "SOCIALSTREAM_INSIGHTSTRACK__STALL_TIMEOUT_S": "30"}
        command = [sys.executable, "-m", "socialstream", "run", "insightstrack"]
        first = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while sim.state.cursor < 4990 and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = len(set(sim.state.delivered))
        while len(set(_identities(kafka, topics))) < sent and time.monotonic() < deadline:
            time.sleep(0.2)  # until the connector has committed all it was sent
        first.kill()  # SIGKILL mid-stream: the restart must rebuild what it already published
        first.wait(10)
        second = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if sim.state.cursor >= script.count and len(set(_identities(kafka, topics))) >= len(
                    set(sim.state.delivered)
                ):
                    break
                time.sleep(1)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, log.read_text()[-3000:]
        delivered = sim.state.delivered
    seen = _identities(kafka, topics)
    assert len(delivered) > len(set(delivered))
    assert len(seen) == len(set(seen)) == script.count
    codec = SingleObjectCodec()
    gaps = [
        codec.decode(m.value()).value
        for m in read_to_end(kafka, f"{topics.prefix}insightstrack.control")
    ]
    assert [g["reason"] for g in gaps] == ["connector (re)started"]
