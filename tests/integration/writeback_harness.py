"""What the write-back tests share: settings for a simulator, a free port, a readiness probe."""

from __future__ import annotations

import socket
import urllib.request
import uuid
from typing import Any

from socialstream.runtime.settings import (
    KafkaSettings,
    Settings,
    TalkwalkerSettings,
    TopicSettings,
    WritebackSettings,
)
from socialstream.simulators.talkwalker import TalkwalkerSimulator


def settings_for(
    kafka: KafkaSettings, topics: TopicSettings, sim: TalkwalkerSimulator, **writeback: Any
) -> Settings:
    return Settings(
        kafka=kafka,
        topics=topics,
        talkwalker=TalkwalkerSettings(base_url=sim.url, access_token=sim.token),
        writeback=WritebackSettings(
            project_id=sim.project_id,
            consumer_group=f"wb-{uuid.uuid4().hex[:8]}",
            instance_id=f"wb-{uuid.uuid4().hex[:8]}",
            **writeback,
        ),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
