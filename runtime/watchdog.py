"""A Kafka call that never returns restarts the process in place.

librdkafka's transactional calls wait for its background thread with no deadline of their own
(`send_offsets_to_transaction`, and the last steps of commit and abort, wait forever for a
reply). After a broker restart that reply has been seen never to come: the broker-restart chaos
test caught the enrichment processor inside `send_offsets_to_transaction` for minutes, every
librdkafka thread idle. A thread stuck in C cannot be interrupted, so the watchdog samples each
thread's innermost Python frame once a second, and when one has sat on the same call inside a
watched function for `limit_s`, it logs where and re-executes the process: same pid, arguments,
environment and log stream, as a supervisor restarting it would, but without needing one.

Restarting is always safe here: what was committed stays, the stuck transaction is never
committed (the broker aborts it at `transaction.timeout.ms`, or the new instance's
`init_transactions` fences it), and every component resumes from its checkpoint or committed
offsets, as after any crash.
"""

from __future__ import annotations

import faulthandler
import inspect
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

log = logging.getLogger(__name__)

RESTARTS_ENV = "SOCIALSTREAM_WATCHDOG_RESTARTS"  # how many times this process restarted itself


@dataclass(frozen=True)
class StuckCall:
    """A thread that has not left one call for `seconds`."""

    thread: str
    function: str
    seconds: float
    stack: str


def code_of(function: Any) -> CodeType:
    """The code object a frame of `function` runs (decorators and properties unwrapped)."""
    if isinstance(function, property):
        function = function.fget
    code = getattr(inspect.unwrap(function), "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"{function!r} has no Python code to watch")
    return code


class StuckCallWatchdog:
    """Calls `on_stuck` once when a thread stays on one call inside a watched function.

    A sample sees the frame and its current instruction, not the time spent: a function looping
    around one short call looks like one long call, so only functions whose loops end well inside
    the limit are watched (`read_to_end` polls for at most its own timeout).
    """

    def __init__(
        self,
        limit_s: float,
        on_stuck: Callable[[StuckCall], None],
        interval_s: float = 1.0,
        exit_when_frozen: bool = False,
    ) -> None:
        self.limit_s = limit_s
        self._exit_when_frozen = exit_when_frozen
        self._on_stuck = on_stuck
        self._interval_s = interval_s
        self._codes: set[CodeType] = set()
        # thread id -> (frame, instruction, first seen): the watched call each thread is in
        self._seen: dict[int, tuple[FrameType, int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, *functions: Any) -> None:
        self._codes.update(code_of(f) for f in functions)

    def check(self, now: float | None = None) -> StuckCall | None:
        """One sampling pass; the first call found stuck, if any."""
        now = time.monotonic() if now is None else now
        names = {t.ident: t.name for t in threading.enumerate()}
        frames = sys._current_frames()
        seen: dict[int, tuple[FrameType, int, float]] = {}
        stuck: StuckCall | None = None
        for ident, frame in frames.items():
            if ident == threading.get_ident() or frame.f_code not in self._codes:
                continue
            previous = self._seen.get(ident)
            if previous is not None and previous[0] is frame and previous[1] == frame.f_lasti:
                since = previous[2]
            else:
                since = now
            seen[ident] = (frame, frame.f_lasti, since)
            if stuck is None and now - since >= self.limit_s:
                stuck = StuckCall(
                    thread=names.get(ident, str(ident)),
                    function=frame.f_code.co_qualname,
                    seconds=now - since,
                    stack="".join(traceback.format_stack(frame)),
                )
        self._seen = seen
        return stuck

    def start(self) -> StuckCallWatchdog:
        self._thread = threading.Thread(target=self._run, name="kafka-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._exit_when_frozen:
            faulthandler.cancel_dump_traceback_later()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self._exit_when_frozen:
                # If this thread cannot run for limit_s (a C call holding the GIL froze every
                # Python thread), faulthandler's own C thread writes every stack to stderr and
                # exits 1: a supervisor restarts the process, with the stacks in its log.
                faulthandler.dump_traceback_later(self.limit_s, exit=True)
            stuck = self.check()
            if stuck is not None:
                self._on_stuck(stuck)
                return


def restart_in_place(stuck: StuckCall) -> None:
    """Log where the process is stuck, then replace it with a fresh run of the same command."""
    restarts = int(os.environ.get(RESTARTS_ENV, "0")) + 1
    log.error(
        "%s has been inside %s for %.0f s: librdkafka is not returning (seen after broker "
        "restarts). Restarting this process in place (restart %d); committed work is safe.\n%s",
        stuck.thread,
        stuck.function,
        stuck.seconds,
        restarts,
        stuck.stack,
        extra={"watchdog_restarts": restarts},
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ[RESTARTS_ENV] = str(restarts)
    os.execv(sys.executable, list(sys.orig_argv))  # noqa: S606 - this very command again


def kafka_call_sites() -> list[Any]:
    """The functions of this project, and of Quix Streams where the process uses it (importing
    it would cost a source ~30 MB), that wait inside librdkafka calls. Each call returns within
    its own timeout (120 s at most: a checkpoint read) or once the cluster is back, so one that
    outlives the watchdog's limit is stuck."""
    from socialstream.runtime.consumer import end_offsets, read_to_end
    from socialstream.runtime.lease import SingleWriterLease
    from socialstream.runtime.producer import TransactionalProducer

    sites: list[Any] = [
        TransactionalProducer.__init__,
        TransactionalProducer.begin,
        TransactionalProducer.produce,  # waits for room while the local queue is full
        TransactionalProducer.produce_many,
        TransactionalProducer.commit,
        TransactionalProducer.send_offsets,
        TransactionalProducer._abort_after,
        TransactionalProducer.close,
        SingleWriterLease.close,
        end_offsets,
        read_to_end,
    ]
    if "quixstreams" in sys.modules:
        from quixstreams.kafka.producer import Producer as QuixProducer

        sites += [
            QuixProducer.begin_transaction,
            QuixProducer.send_offsets_to_transaction,
            QuixProducer.commit_transaction,
            QuixProducer.abort_transaction,
            QuixProducer.flush,
            QuixProducer._producer,  # creates the producer and calls init_transactions
        ]
    return sites


def start_kafka_watchdog(limit_s: float) -> StuckCallWatchdog:
    """The watchdog of a `socialstream run` process."""
    watchdog = StuckCallWatchdog(limit_s, restart_in_place, exit_when_frozen=True)
    watchdog.watch(*kafka_call_sites())
    return watchdog.start()
