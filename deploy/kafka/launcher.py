"""Run a real Apache Kafka broker (KRaft, broker and controller in one JVM) on loopback.

The jars of `org.apache.kafka:kafka_2.13` (the version pinned in `pom.xml` beside this file) and
their dependencies are fetched once with Maven into a cache directory that later runs reuse. Each
broker gets its own data directory, is formatted with a fresh cluster id, listens on free
127.0.0.1 ports, and is configured so that transactions work on a single node.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J_CONFIG = HERE / "log4j2.properties"
CACHE_ENV = "SOCIALSTREAM_CACHE_DIR"


class LauncherError(RuntimeError):
    """The broker could not be fetched, formatted or started; the message says why."""


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if match is None:
        raise LauncherError(f"no <kafka.version> in {POM}")
    return match.group(1)


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    base = Path(root) if root else Path.home() / ".cache" / "socialstream"
    return base / f"kafka-{kafka_version()}"


def state_file() -> Path:
    return cache_dir().parent / "broker-state.json"


def ensure_jars(timeout_s: float = 900.0) -> Path:
    """The directory holding the broker's jars, fetched with Maven on first use."""
    return fetch_jars(POM, cache_dir() / "lib", timeout_s)


def fetch_jars(pom: Path, lib: Path, timeout_s: float = 900.0) -> Path:
    """`pom`'s runtime dependencies copied into `lib` with Maven, once (again if it changes)."""
    marker = lib / ".complete"
    pom_hash = hashlib.sha256(pom.read_bytes()).hexdigest()
    if marker.is_file() and marker.read_text().strip() == pom_hash:
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LauncherError("Maven (mvn) is needed once to fetch the Kafka jars; install maven")
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    log.info("fetching the jars of %s with Maven into %s", pom, lib)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-2000:]
        raise LauncherError(f"Maven could not fetch the jars of {pom}:\n{tail}")
    marker.write_text(pom_hash)
    return lib


def java() -> str:
    java = shutil.which("java")
    if java is None:
        raise LauncherError("Java 17 or newer is needed to run the local Kafka broker")
    return java


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cluster_id() -> str:
    """A random KRaft cluster id. Like Kafka's own Uuid.randomUuid, never one starting with "-",
    which the storage tool's argument parser would take for an option (1 id in 64 did)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class SecureListener:
    """A SASL_SSL listener (SASL PLAIN over TLS) beside the plaintext one, to test clients
    against a secured cluster: `keystore` is a PEM file with the broker's key and certificate
    chain, `users` the accepted user names and passwords."""

    port: int
    keystore: Path
    users: dict[str, str]

    def properties(self) -> list[str]:
        users = " ".join(f'user_{name}="{password}"' for name, password in self.users.items())
        prefix = "listener.name.sasl_ssl"
        return [
            "sasl.enabled.mechanisms=PLAIN",
            f"{prefix}.plain.sasl.jaas.config="
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};",
            f"{prefix}.ssl.keystore.type=PEM",
            f"{prefix}.ssl.keystore.location={self.keystore}",
        ]


def server_properties(
    data_dir: Path,
    port: int,
    controller_port: int,
    secure: SecureListener | None = None,
    advertised_port: int | None = None,
) -> str:
    """`advertised_port`: the port clients are told to use (a proxy in front of `port`)."""
    listeners = f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
    advertised = f"PLAINTEXT://127.0.0.1:{advertised_port or port}"
    protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if secure is not None:
        listeners += f",SASL_SSL://127.0.0.1:{secure.port}"
        advertised += f",SASL_SSL://127.0.0.1:{secure.port}"
        protocols += ",SASL_SSL:SASL_SSL"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
            f"listeners={listeners}",
            f"advertised.listeners={advertised}",
            "controller.listener.names=CONTROLLER",
            f"listener.security.protocol.map={protocols}",
            *(secure.properties() if secure is not None else []),
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data_dir / 'log'}",
            "num.partitions=1",
            "default.replication.factor=1",
            "auto.create.topics.enable=false",
            # One node: internal topics (offsets, transactions, share state) with one replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Short sessions let tests see a standby take over a dead writer quickly.
            "group.min.session.timeout.ms=1000",
            # Let tests see fencing/abort outcomes quickly.
            "transaction.abort.timed.out.transaction.cleanup.interval.ms=5000",
            "",
        ]
    )


@dataclass
class KafkaBroker:
    """One local broker. `start()` returns once it answers metadata requests."""

    data_dir: Path
    port: int
    controller_port: int
    pid: int | None = None
    _process: subprocess.Popen[bytes] | None = None
    secure: SecureListener | None = None
    advertised_port: int | None = None

    @classmethod
    def create(
        cls,
        data_dir: Path | None = None,
        port: int | None = None,
        secure: SecureListener | None = None,
        advertised_port: int | None = None,
    ) -> KafkaBroker:
        directory = data_dir or Path(tempfile.mkdtemp(prefix="socialstream-kafka-"))
        directory.mkdir(parents=True, exist_ok=True)
        return cls(
            directory,
            port or free_port(),
            free_port(),
            secure=secure,
            advertised_port=advertised_port,
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _command(self, lib: Path, *args: str, heap: str = "-Xmx768m") -> list[str]:
        return [
            java(),
            heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            f"{lib}/*",
            *args,
        ]

    def start(self, timeout_s: float = 120.0, detach: bool = False) -> KafkaBroker:
        """Start the broker (formatting its log dir the first time) and wait until it answers.

        Calling it again after `stop()` restarts the same broker with its data, on its ports.
        """
        lib = ensure_jars()
        config = self.data_dir / "server.properties"
        config.write_text(
            server_properties(
                self.data_dir, self.port, self.controller_port, self.secure, self.advertised_port
            )
        )
        if not (self.data_dir / "log" / "meta.properties").exists():
            self._format(lib, config)
        with self.log_file.open("ab") as out:
            self._process = subprocess.Popen(
                self._command(lib, "kafka.Kafka", str(config)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        self.pid = self._process.pid
        self._wait_ready(timeout_s)
        return self

    def _format(self, lib: Path, config: Path) -> None:
        fmt = subprocess.run(
            self._command(
                lib,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                _cluster_id(),
                "--standalone",
                "-c",
                str(config),
                heap="-Xmx256m",
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if fmt.returncode != 0:
            raise LauncherError(f"formatting the KRaft log dir failed:\n{fmt.stdout}{fmt.stderr}")

    def _wait_ready(self, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LauncherError(
                    f"the broker exited with {self._process.returncode}; see {self.log_file}:\n"
                    + self.log_file.read_text(errors="replace")[-3000:]
                )
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception:
                time.sleep(0.3)
                continue
        self.stop()
        raise LauncherError(f"the broker did not answer within {timeout_s}s; see {self.log_file}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (a clean controlled shutdown), SIGKILL if it has not exited in time."""
        if self.pid is None:
            return
        _terminate(self.pid, timeout_s, self._process)
        self.pid = None

    def save_state(self) -> None:
        state_file().parent.mkdir(parents=True, exist_ok=True)
        state_file().write_text(
            json.dumps(
                {
                    "pid": self.pid,
                    "bootstrap_servers": self.bootstrap_servers,
                    "data_dir": str(self.data_dir),
                    "port": self.port,
                    "controller_port": self.controller_port,
                }
            )
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int, timeout_s: float, process: subprocess.Popen[bytes] | None) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait(10)


@contextmanager
def running_broker() -> Iterator[KafkaBroker]:
    """A fresh broker in a temporary directory for the length of a `with` block."""
    broker = KafkaBroker.create().start()
    try:
        yield broker
    finally:
        broker.stop()


def up(port: int | None = None) -> dict[str, object]:
    """Start a detached broker that outlives this process (for `socialstream kafka up`)."""
    current = status()
    if current.get("running"):
        return current
    broker = KafkaBroker.create(cache_dir().parent / "broker-data", port)
    if broker.data_dir.exists():
        shutil.rmtree(broker.data_dir)
        broker.data_dir.mkdir(parents=True)
    broker.start(detach=True)
    broker.save_state()
    return status()


def status() -> dict[str, object]:
    path = state_file()
    if not path.is_file():
        return {"running": False}
    state: dict[str, object] = json.loads(path.read_text())
    pid = state.get("pid")
    state["running"] = isinstance(pid, int) and _alive(pid)
    return state


def down() -> dict[str, object]:
    current = status()
    pid = current.get("pid")
    if current.get("running") and isinstance(pid, int):
        _terminate(pid, 30.0, None)
    state_file().unlink(missing_ok=True)
    return {"running": False, "stopped_pid": pid if current.get("running") else None}
