"""Settings: environment over YAML, librdkafka passthrough, secrets masked everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialstream.runtime.settings import Settings

PASSWORD = "kafka-SASL-pw-77"


def test_yaml_file_and_environment_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "socialstream.yaml"
    config.write_text(
        "kafka:\n"
        "  bootstrap_servers: yaml:9092\n"
        "  properties:\n"
        "    security.protocol: SASL_SSL\n"
        "    sasl.mechanism: SCRAM-SHA-512\n"
        "topics:\n"
        "  prefix: yaml.\n"
    )
    monkeypatch.setenv("SOCIALSTREAM_CONFIG", str(config))
    monkeypatch.setenv("SOCIALSTREAM_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    monkeypatch.setenv("SOCIALSTREAM_KAFKA__SASL_PASSWORD", PASSWORD)
    settings = Settings()
    assert settings.kafka.bootstrap_servers == "env:9092"  # environment wins
    assert settings.topics.prefix == "yaml."  # the file fills the rest
    client = settings.kafka.client_config()
    assert client["security.protocol"] == "SASL_SSL"
    assert client["sasl.mechanism"] == "SCRAM-SHA-512"
    assert client["sasl.password"] == PASSWORD  # reaches librdkafka
    assert PASSWORD in settings.secret_values()
    assert PASSWORD not in json.dumps(settings.masked())


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALSTREAM_CONFIG", "/nonexistent/socialstream.yaml")
    with pytest.raises(FileNotFoundError, match="not a file"):
        Settings()


def test_config_show_masks_secrets() -> None:
    env = {
        **os.environ,
        "SOCIALSTREAM_KAFKA__SASL_PASSWORD": PASSWORD,
        "SOCIALSTREAM_KAFKA__PROPERTIES": json.dumps(
            {"sasl.username": "alice", "sasl.oauthbearer.config": "secret=" + PASSWORD}
        ),
    }
    for extra in ([], ["--json"]):
        shown = subprocess.run(
            [sys.executable, "-m", "socialstream", "config", "show", *extra],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert PASSWORD not in shown.stdout + shown.stderr
        assert "alice" in shown.stdout
    data = json.loads(shown.stdout)
    assert data["kafka"]["sasl_password"] == "**********"
