"""A component that does not stop within the grace period is made to exit (status 1)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

STUCK = """
import os, signal, time
from socialstream.runtime.shutdown import on_terminate
stopped = []
on_terminate(lambda: stopped.append(1), {grace})
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)  # a component that never finishes stopping
"""


def test_a_stuck_stop_exits_with_status_1_after_the_grace_period() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", STUCK.format(grace=1.0)], capture_output=True, timeout=20
    )
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr.decode()
    assert 1.0 <= took < 15, took


STUCK_IN_C = """
import os, signal, threading, time
from socialstream.runtime.shutdown import on_terminate
stopped = threading.Event()
on_terminate(stopped.set, {grace})
# A process-directed signal lands on any thread; in a stuck librdkafka call the main thread
# never gets to run its handler. Blocking SIGTERM here makes this run the same every time.
signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
print("ready", flush=True)
lock = threading.Lock()
lock.acquire()
lock.acquire()  # parked for good, as in a librdkafka call that never returns
"""


def test_sigterm_is_answered_while_the_main_thread_is_stuck_in_a_c_call() -> None:
    """The Python-level handler cannot run in a main thread parked in C; the signal still
    stops the component (its `stop` is called) and the grace period still ends the process."""
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_IN_C.format(grace=1.0)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.2)  # parked
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    took = time.monotonic() - started
    assert process.returncode == 1, stderr
    assert 1.0 <= took < 10, took
    assert "still stopping after the 1 s grace period" in stderr


STARTING = """
import os, signal, time
from socialstream.runtime import cli
signal.signal(signal.SIGTERM, cli._terminated_while_starting)  # as cli.main() does first
try:
    # Start-up code that catches everything, as pydantic does while building a model class.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
except BaseException as exc:
    print("caught", type(exc).__name__, flush=True)
    raise RuntimeError("start-up failed") from exc
"""


def test_sigterm_while_starting_exits_143_even_inside_code_that_catches_everything() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STARTING], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 143, result.stderr
    assert "caught" not in result.stdout
