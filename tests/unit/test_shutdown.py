"""A component that does not stop within the grace period is made to exit (status 1)."""

from __future__ import annotations

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
