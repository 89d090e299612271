"""`socialstream kafka up|status|down` runs a detached real broker and stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient


def _cli(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOCIALSTREAM_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "socialstream", "kafka", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_kafka_up_status_down(tmp_path: Path) -> None:
    # Share the jar cache with the session broker; keep the state file in tmp_path.
    from socialstream.deploy.kafka import launcher

    jars = launcher.cache_dir()
    cache = tmp_path / "cache"
    (cache / jars.name).mkdir(parents=True)
    (cache / jars.name / "lib").symlink_to(launcher.ensure_jars())

    up = _cli(cache, "up")
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    try:
        assert state["running"] is True
        admin = AdminClient({"bootstrap.servers": state["bootstrap_servers"]})
        assert admin.list_topics(timeout=10).brokers
        status = _cli(cache, "status")
        assert status.returncode == 0
        assert json.loads(status.stdout)["pid"] == state["pid"]
    finally:
        down = _cli(cache, "down")
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["stopped_pid"] == state["pid"]
    assert _cli(cache, "status").returncode == 1
