"""The stuck-call watchdog: a thread parked in one call of a watched function past the limit is
reported once, a call that returns is not, and `restart_in_place` really re-runs the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from socialstream.runtime.watchdog import (
    RESTARTS_ENV,
    StuckCall,
    StuckCallWatchdog,
    code_of,
    kafka_call_sites,
)


class Release:
    """A C-level wait (a held lock), like a librdkafka call: no Python frame of its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()

    def set(self) -> None:
        self.lock.release()


def parked(release: Release) -> None:
    release.lock.acquire()  # one call that does not return: a stuck librdkafka call


def unwatched(release: Release) -> None:
    release.lock.acquire()


def _thread(target: object, release: Release) -> threading.Thread:
    thread = threading.Thread(target=target, args=(release,), name="writer", daemon=True)  # type: ignore[arg-type]
    thread.start()
    time.sleep(0.05)  # inside the call
    return thread


def test_a_call_parked_past_the_limit_is_reported_with_its_stack() -> None:
    found: list[StuckCall] = []
    watchdog = StuckCallWatchdog(limit_s=10, on_stuck=found.append)
    watchdog.watch(parked)
    release = Release()
    thread = _thread(parked, release)
    try:
        assert watchdog.check(now=100.0) is None  # first seen
        assert watchdog.check(now=105.0) is None  # 5 s in
        stuck = watchdog.check(now=110.5)
        assert stuck is not None
        assert (stuck.thread, stuck.function, stuck.seconds) == ("writer", "parked", 10.5)
        assert ", in parked" in stuck.stack  # where it is stuck
    finally:
        release.set()
        thread.join()


def two_calls(first: Release, second: Release) -> None:
    first.lock.acquire()
    second.lock.acquire()


def test_the_clock_restarts_when_the_thread_moves_on_to_another_call() -> None:
    watchdog = StuckCallWatchdog(limit_s=10, on_stuck=lambda _: None)
    watchdog.watch(two_calls)
    first, second = Release(), Release()
    thread = threading.Thread(target=two_calls, args=(first, second), daemon=True)
    thread.start()
    time.sleep(0.05)
    try:
        assert watchdog.check(now=0.0) is None
        assert watchdog.check(now=9.0) is None
        first.set()
        time.sleep(0.05)  # now in the second call: a call that returned is not stuck
        assert watchdog.check(now=15.0) is None
        assert watchdog.check(now=24.0) is None
        stuck = watchdog.check(now=25.5)
        assert stuck is not None and stuck.seconds == 10.5
    finally:
        second.set()
        thread.join()
    assert watchdog.check(now=100.0) is None  # returned: nothing watched is running
    assert watchdog.check(now=200.0) is None


def test_only_watched_functions_count() -> None:
    watchdog = StuckCallWatchdog(limit_s=1, on_stuck=lambda _: None)
    watchdog.watch(parked)
    release = Release()
    thread = _thread(unwatched, release)
    try:
        assert watchdog.check(now=0.0) is None
        assert watchdog.check(now=1000.0) is None
    finally:
        release.set()
        thread.join()


def test_the_running_watchdog_calls_on_stuck_once() -> None:
    found: list[StuckCall] = []
    done = threading.Event()

    def on_stuck(stuck: StuckCall) -> None:
        found.append(stuck)
        done.set()

    release = Release()
    thread = _thread(parked, release)
    watchdog = StuckCallWatchdog(limit_s=0.3, on_stuck=on_stuck, interval_s=0.05)
    watchdog.watch(parked)
    watchdog.start()
    try:
        assert done.wait(5)
        time.sleep(0.3)
        assert len(found) == 1 and found[0].function == "parked"
    finally:
        watchdog.stop()
        release.set()
        thread.join()


def test_restart_in_place_reruns_the_same_command(tmp_path: Path) -> None:
    """A real process parks in a watched call; the watchdog re-executes it with the same
    arguments, and the second run (restart 1) finishes."""
    script = tmp_path / "stuck.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, os, sys, time
            from socialstream.runtime.watchdog import (
                RESTARTS_ENV, StuckCallWatchdog, restart_in_place)

            logging.basicConfig(level=logging.INFO, stream=sys.stdout)

            def commit(seconds):
                time.sleep(seconds)  # a C call, as a librdkafka one is

            restarts = int(os.environ.get(RESTARTS_ENV, "0"))
            print("run", restarts, sys.argv[1:], flush=True)
            if restarts == 0:
                watchdog = StuckCallWatchdog(0.5, restart_in_place, interval_s=0.1)
                watchdog.watch(commit)
                watchdog.start()
                commit(30)
                print("the stuck call returned: the watchdog did nothing", flush=True)
                sys.exit(1)
            sys.exit(0)
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script), "--flag", "value"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", RESTARTS_ENV: "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run 0 ['--flag', 'value']" in result.stdout
    assert "run 1 ['--flag', 'value']" in result.stdout
    assert "MainThread has been inside commit for" in result.stdout
    assert "Restarting this process in place (restart 1)" in result.stdout


def test_a_frozen_interpreter_exits_with_every_stack(tmp_path: Path) -> None:
    """A C call holding the GIL stops every Python thread, the watchdog's too; faulthandler's own
    thread then writes the stacks and exits 1 instead of leaving the process silent."""
    script = tmp_path / "frozen.py"
    script.write_text(
        textwrap.dedent(
            """
            import ctypes, time
            from socialstream.runtime.watchdog import StuckCallWatchdog

            watchdog = StuckCallWatchdog(1.0, print, interval_s=0.1, exit_when_frozen=True)
            watchdog.start()
            time.sleep(0.3)
            print("freezing", flush=True)
            ctypes.PyDLL(None).sleep(20)  # libc sleep with the GIL held
            print("thawed: the watchdog did nothing", flush=True)
            """
        )
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert "freezing" in result.stdout and "thawed" not in result.stdout
    assert "Timeout (0:00:01)" in result.stderr and "frozen.py" in result.stderr
    assert took < 15, took


def test_every_kafka_call_site_resolves_to_its_own_code() -> None:
    """A Quix Streams upgrade that renames a watched method fails here, not silently."""
    import quixstreams  # noqa: F401 - a processor has imported it before the watchdog starts

    sites = kafka_call_sites()
    codes = {code_of(site) for site in sites}
    assert len(codes) == len(sites)
    names = {code.co_qualname for code in codes}
    assert {"Producer.send_offsets_to_transaction", "TransactionalProducer.commit"} <= names
