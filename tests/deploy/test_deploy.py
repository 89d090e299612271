"""The deployment files, checked offline as CI can: the Helm chart renders with its default and
its full values and every manifest validates against the Kubernetes schemas; the Dockerfile and
docker-compose.yml pass their linters; the settings they ship load; the Grafana dashboard only
queries metrics the components export; the wheel the image installs holds the whole package."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from prometheus_client import REGISTRY

from socialstream.deploy.tools import ensure_dclint, ensure_helm
from socialstream.runtime import metrics  # noqa: F401  (registers the metrics)
from socialstream.runtime.settings import CONFIG_FILE_ENV, Settings
from tests.conftest import REPO

CHART = REPO / "deploy" / "helm" / "socialstream"
KUBERNETES = "1.37.0"
COMPONENTS = {
    "talkwalker", "insightstrack", "monitors", "sentiment", "enrichment", "sentiment-join",
    "writeback",
}  # fmt: skip
SOURCES = {"talkwalker", "insightstrack", "monitors", "sentiment"}


def render(*values: Path) -> list[dict[str, Any]]:
    """`helm template` (helm is built on first use, see deploy/tools.py)."""
    command = [str(ensure_helm()), "template", "rel", str(CHART), "--kube-version", KUBERNETES]
    for path in values:
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate(manifests: list[dict[str, Any]]) -> set[str]:
    """Validate every manifest strictly; return the kinds with no Kubernetes schema (CRDs)."""
    unknown = set()
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.add(manifest["kind"])
    return unknown


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def chart_settings(manifests: list[dict[str, Any]]) -> Settings:
    (config_map,) = by_kind(manifests, "ConfigMap").values()
    data = yaml.safe_load(config_map["data"]["settings.yaml"])
    assert set(data) <= set(Settings.model_fields), "unknown settings sections"
    return Settings.model_validate(data)


@pytest.mark.timeout(1500)  # the first render may build helm
def test_the_chart_renders_and_validates_with_its_default_values() -> None:
    manifests = render()
    assert validate(manifests) == set()
    deployments = by_kind(manifests, "Deployment")
    assert {name.removeprefix("rel-socialstream-") for name in deployments} == COMPONENTS
    assert set(by_kind(manifests, "PodDisruptionBudget")) == set(deployments)
    assert set(by_kind(manifests, "Service")) == set(deployments)
    assert by_kind(manifests, "Secret") == {}
    for name, deployment in deployments.items():
        component = name.removeprefix("rel-socialstream-")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["run", component]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert float(env["SOCIALSTREAM_SHUTDOWN__GRACE_S"]) < pod["terminationGracePeriodSeconds"]
        # A single writer cannot roll: its successor is ready only once it is gone.
        recreate = deployment["spec"].get("strategy", {}).get("type") == "Recreate"
        assert recreate == (component in SOURCES)
    assert chart_settings(manifests).kafka.bootstrap_servers == "kafka:9092"


@pytest.mark.timeout(1500)  # the first render may build helm
def test_the_chart_renders_and_validates_with_every_option_set() -> None:
    manifests = render(CHART / "ci" / "full-values.yaml")
    assert validate(manifests) == {"ServiceMonitor"}  # a Prometheus Operator CRD
    (monitor,) = by_kind(manifests, "ServiceMonitor").values()
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [
        {"port": "http-health", "path": "/metrics", "interval": "15s"}
    ]
    deployments = by_kind(manifests, "Deployment")
    assert "rel-socialstream-monitors" not in deployments  # disabled
    assert deployments["rel-socialstream-enrichment"]["spec"]["replicas"] == 6
    (container,) = deployments["rel-socialstream-writeback"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["envFrom"] == [{"secretRef": {"name": "socialstream-credentials"}}]
    assert container["image"] == "registry.example.com/data/socialstream:0.1.0-rc1"
    settings = chart_settings(manifests)
    assert settings.topics.replication_factor == 3
    assert settings.tracing.sample_ratio == 0.1


@pytest.mark.timeout(1500)  # the first render may build helm
def test_secrets_given_as_values_go_to_a_secret_and_never_to_the_config_map(
    tmp_path: Path,
) -> None:
    values = tmp_path / "values.yaml"
    token = "tw-token-8c1f0e"
    values.write_text(yaml.safe_dump({"secrets": {"SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": token}}))
    manifests = render(values)
    assert validate(manifests) == set()
    (secret,) = by_kind(manifests, "Secret").values()
    assert secret["stringData"] == {"SOCIALSTREAM_TALKWALKER__ACCESS_TOKEN": token}
    others = [m for m in manifests if m["kind"] != "Secret"]
    assert token not in json.dumps(others)


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(REPO / "deploy" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_passes_dclint_and_its_settings_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ordering rules are taste; the file is ordered as the pipeline flows.
    taste = ["services-alphabetical-order", "service-keys-order", "top-level-properties-order"]
    command = [str(ensure_dclint()), str(REPO / "docker-compose.yml"), "--max-warnings", "0"]
    for rule in taste:
        command += ["--disable-rule", rule]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    runs = {
        s["command"][1] for s in compose["services"].values() if s.get("command", [""])[0] == "run"
    }
    assert runs == COMPONENTS
    settings_file = REPO / "deploy" / "compose" / "settings.yaml"
    assert set(yaml.safe_load(settings_file.read_text())) <= set(Settings.model_fields)
    monkeypatch.setenv(CONFIG_FILE_ENV, str(settings_file))
    settings = Settings()
    assert settings.talkwalker.base_url == "http://talkwalker-simulator:8001"
    assert [q.name for q in settings.sentiment.queries] == ["demo"]


def test_the_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana" / "socialstream.json").read_text())
    # What a scrape can show: every family the components' registry describes, with the sample
    # names its type gives (`_total` for counters, `_bucket`/`_sum`/`_count` for histograms).
    # The lag gauge is registered per consumer group at run time, so it is named here.
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    exported = {
        name
        for family in REGISTRY.collect()
        for name in (family.name, *(family.name + s for s in suffixes.get(family.type, ())))
    } | {"socialstream_consumer_lag"}
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"socialstream_[a-z_]+", target["expr"]))
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, queried - exported


def test_the_wheel_the_image_installs_holds_every_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path),
         str(REPO)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("socialstream-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "src" / "socialstream"
    expected = {
        f"socialstream/{path.relative_to(package).as_posix()}"
        for path in package.rglob("*")
        if path.suffix in (".py", ".avsc") and "__pycache__" not in path.parts
    }
    assert expected <= names, sorted(expected - names)[:10]
    assert "socialstream/deploy/kafka/pom.xml" in names
    # the Avro executor and the Talkwalker transcoder, compiled (setup.py; a machine without a C
    # compiler gets neither)
    for module in ("runtime/_avro_native.", "connectors/talkwalker/_results_native."):
        assert any(n.startswith(f"socialstream/{module}") for n in names), sorted(names)
