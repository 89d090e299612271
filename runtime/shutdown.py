"""SIGTERM and Ctrl-C: stop gracefully, and exit anyway once the grace period is over.

A component asked to stop stops reading, commits what it has processed (or aborts the open
transaction) and returns. If that takes longer than `shutdown.grace_s` (a broker that does not
answer, say), the process exits with status 1 before Kubernetes kills it: what was not committed
is aborted by the broker and re-read on restart, so the exit loses and duplicates nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

EXIT_GRACE_EXCEEDED = 1
EXIT_TERMINATED = 143  # 128 + SIGTERM: stopped before it had started work


class _Termination:
    """The process's one SIGTERM/SIGINT response: the latest `stop` and grace period."""

    def __init__(self) -> None:
        self.stop: Callable[[], None] = lambda: None
        self.grace_s = 0.0
        self.armed = threading.Lock()
        self.watching = False

    def terminate(self, signum: int) -> None:
        if self.armed.acquire(blocking=False):  # the first signal arms the timer
            log.info("%s: stopping, %.0f s grace", signal.Signals(signum).name, self.grace_s)
            timer = threading.Timer(self.grace_s, _exit_now, args=(self.grace_s,))
            timer.daemon = True
            timer.start()
        self.stop()

    def handler(self, signum: int, _frame: FrameType | None) -> None:
        self.terminate(signum)

    def watch(self, read_fd: int) -> None:
        while True:
            for signum in os.read(read_fd, 16):
                if signum in (signal.SIGTERM, signal.SIGINT):
                    self.terminate(signum)


_termination = _Termination()


def on_terminate(stop: Callable[[], None], grace_s: float) -> None:
    """Call `stop` on SIGTERM or SIGINT and arm the grace-period timer (main thread only; a
    later call replaces `stop`, as a processor rebuilding its application does).

    Python runs a signal handler in the main thread between bytecodes, so a main thread stuck
    inside a C call (a librdkafka call that does not return) would never run it. The signal is
    also written to a wakeup pipe that a thread of its own reads, which arms the timer and calls
    `stop` at once."""
    _termination.stop, _termination.grace_s = stop, grace_s
    if not _termination.watching:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(
            target=_termination.watch, args=(read_fd,), name="signal-watch", daemon=True
        ).start()
        _termination.watching = True
    signal.signal(signal.SIGTERM, _termination.handler)
    signal.signal(signal.SIGINT, _termination.handler)


def _exit_now(grace_s: float) -> None:
    log.error("still stopping after the %.0f s grace period: exiting now", grace_s)
    logging.shutdown()
    os._exit(EXIT_GRACE_EXCEEDED)
