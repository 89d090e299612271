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


def on_terminate(stop: Callable[[], None], grace_s: float) -> None:
    """Call `stop` on SIGTERM or SIGINT and arm the grace-period timer (main thread only)."""
    armed = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping, %.0f s grace", signal.Signals(signum).name, grace_s)
        if not armed.is_set():
            armed.set()
            timer = threading.Timer(grace_s, _exit_now, args=(grace_s,))
            timer.daemon = True
            timer.start()
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _exit_now(grace_s: float) -> None:
    log.error("still stopping after the %.0f s grace period: exiting now", grace_s)
    logging.shutdown()
    os._exit(EXIT_GRACE_EXCEEDED)
