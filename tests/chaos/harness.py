"""What the chaos scenarios share: a component process to kill and restart, a TCP proxy the test
can cut, and the checker that reads every output topic read_committed and proves nothing was lost
or duplicated.

Every random choice comes from one `random.Random(seed)`; the seed is in the test id and printed,
so `CHAOS_SEED=<seed> make test-chaos` replays a failure with the same kill times.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialstream.runtime.codec import SingleObjectCodec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.settings import KafkaSettings, TopicSettings

codec = SingleObjectCodec()


def seeds(count: int, base: int = 1000) -> list[int]:
    """The scenario seeds: CHAOS_SEED replays one, else `count` fixed ones."""
    chosen = os.environ.get("CHAOS_SEED")
    return [int(chosen)] if chosen else [base + n for n in range(count)]


class Component:
    """`socialstream run <name>` as a process, started and killed as the scenario says."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at = 0.0

    def start(self) -> None:
        self.starts += 1
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "socialstream", "run", self.name],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait: 0 after a graceful stop, 143 when it was still starting (the CLI's
        answer to a SIGTERM before its command took over; nothing was consumed yet)."""
        assert self.process is not None
        time.sleep(max(0.0, 1.0 - (time.monotonic() - self.started_at)))  # past the imports
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout_s} s") from None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def kill_at_random(
    component: Component,
    rng: random.Random,
    kills: int,
    progress: Callable[[], int],
    total: int,
    timeout_s: float = 240,
) -> list[str]:
    """Start the component; `kills` times, SIGKILL it at a random point and start it again,
    then let it finish. A point is either a random moment of its start-up (0.3-3 s after the
    (re)start: lease, group join, restore) or a random share of the work (its output reaching
    5-90 % of `total`, so the kill lands mid-stream with a transaction open). Returns the points
    used, e.g. ["startup+1.2s", "at 43%"]."""
    points: list[str] = []
    component.start()
    shares = sorted(rng.uniform(0.05, 0.9) for _ in range(kills))
    for share in shares:
        if rng.random() < 0.3:
            delay = rng.uniform(0.3, 3.0)
            time.sleep(delay)
            point = f"startup+{delay:.1f}s"
        else:
            deadline = time.monotonic() + timeout_s
            while progress() < share * total:
                if time.monotonic() > deadline or not component.alive():
                    raise AssertionError(
                        f"{component.name} stalled before {share:.0%} (exit code "
                        f"{component.exit_code()}, {progress()} of {total}): {component.tail()}"
                    )
                time.sleep(0.2)
            point = f"at {share:.0%}"
        component.kill()
        points.append(point)
        component.start()
    deadline = time.monotonic() + timeout_s
    while progress() < total:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{component.name} did not finish ({progress()} of {total}): {component.tail()}"
            )
        if not component.alive():
            raise AssertionError(
                f"{component.name} exited with {component.exit_code()}: {component.tail()}"
            )
        time.sleep(0.5)
    return points


@dataclass
class Report:
    """What the checker found on one topic."""

    topic: str
    records: int
    lost: set[str] = field(default_factory=set)
    duplicated: dict[str, int] = field(default_factory=dict)
    unexpected: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return (
            f"{self.topic}: {self.records} records, {len(self.lost)} lost, "
            f"{len(self.duplicated)} duplicated, {len(self.unexpected)} unexpected"
        )

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected)


def committed(kafka: KafkaSettings, topics: TopicSettings, topic: str) -> list[Any]:
    """Every committed message of a declared topic, in offset order within partitions."""
    return list(read_to_end(kafka, f"{topics.prefix}{topic}", timeout_s=60))


def check(
    kafka: KafkaSettings,
    topics: TopicSettings,
    topic: str,
    expected: Iterable[str],
    identity: Callable[[dict[str, Any]], str],
) -> Report:
    """Read `topic` read_committed and compare each record's identity with `expected`."""
    seen: Counter[str] = Counter()
    messages = committed(kafka, topics, topic)
    for message in messages:
        seen[identity(codec.decode(message.value()).value)] += 1
    wanted = set(expected)
    return Report(
        topic,
        len(messages),
        lost=wanted - set(seen),
        duplicated={k: n for k, n in seen.items() if n > 1},
        unexpected=set(seen) - wanted,
    )


def count(kafka: KafkaSettings, topics: TopicSettings, topic: str) -> int:
    return len(committed(kafka, topics, topic))


class Proxy:
    """A loopback TCP proxy in front of `target`; `cut()` is a network partition (open
    connections go silent, new ones hang), `restore()` heals it by dropping the silent
    connections so clients reconnect."""

    def __init__(self, target_port: int, listen_port: int = 0) -> None:
        self.target = ("127.0.0.1", target_port)
        self._server = socket.create_server(("127.0.0.1", listen_port))
        self.port = self._server.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True, name="proxy").start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._closed.is_set():
                readable, _, _ = select.select([a, b], [], [], 0.2)
                if self._cut.is_set():
                    continue  # partitioned: bytes stay in the kernel buffers, nothing passes
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    peers[source].sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                sock.close()

    def cut(self) -> None:
        self._cut.set()

    def restore(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:  # the partition outlived these connections
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        self.restore()
