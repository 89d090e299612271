"""The health server each component runs for Kubernetes and Prometheus.

`/healthz`: the process is alive (200). `/readyz`: every readiness check passes (200) or the
failing ones are named (503), e.g. Kafka unreachable or the component stopped. `/metrics`: the
Prometheus text format of `runtime/metrics.py`'s metrics. A stdlib threading HTTP server: three
read-only endpoints do not need a framework, and it must keep answering while the component is
busy.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from socialstream.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

Check = Callable[[], str | None]  # None when ready, else why not


class KafkaReachable:
    """Ready when the cluster answers a metadata request (cached a few seconds)."""

    def __init__(self, settings: KafkaSettings, timeout_s: float = 2.0, cache_s: float = 2.0):
        self._admin = AdminClient(settings.client_config())  # its logs go through redaction
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._checked = 0.0
        self._result: str | None = "not checked yet"
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        with self._lock:
            if time.monotonic() - self._checked < self._cache_s:
                return self._result
            try:
                metadata = self._admin.list_topics(timeout=self._timeout_s)
                self._result = None if metadata.brokers else "Kafka: no broker answered"
            except Exception as exc:  # KafkaException or a timeout: not ready, say why
                self._result = f"Kafka unreachable: {exc}"
            self._checked = time.monotonic()
            return self._result


class HealthServer:
    """Serves /healthz, /readyz and /metrics on `host:port` in a daemon thread."""

    def __init__(self, host: str, port: int, checks: dict[str, Check]) -> None:
        self.checks = checks
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif path == "/readyz":
                    failing = server.failing()
                    body = json.dumps({"ready": not failing, "failing": failing}).encode()
                    self._send(503 if failing else 200, body, "application/json")
                elif path == "/metrics":
                    self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # probes every few seconds are not worth a log line

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    def failing(self) -> dict[str, str]:
        found = {}
        for name, check in self.checks.items():
            try:
                problem = check()
            except Exception as exc:  # a broken check is a failing check, not a crash
                problem = f"check failed: {exc}"
            if problem:
                found[name] = problem
        return found

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("health server on http://%s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
