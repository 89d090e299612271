"""A thread-safe token bucket: how every upstream call stays inside the vendor's rate limit.

Hand-written rather than a library because callers need the wait it imposed (for metrics and
the call log) and an injectable clock for tests; the whole algorithm is a dozen lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`capacity` calls at once, refilled at `rate` calls a second.

    "5 calls a minute" is `TokenBucket.per_minute(5)`: a burst of up to 5, then one every 12 s.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    @classmethod
    def per_minute(cls, calls: int, burst: int | None = None) -> TokenBucket:
        return cls(rate=calls / 60.0, capacity=float(burst if burst is not None else calls))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class SlidingWindowLimiter:
    """At most `calls` calls in any `window_s` seconds: the strict reading of "5 calls a minute".

    A token bucket allows a burst plus refills inside one window; a vendor that counts calls in a
    sliding window would reject those. Call times are wall-clock so they can be persisted and
    reloaded after a restart (`preload`), which keeps the promise across crashes too.
    """

    def __init__(
        self,
        calls: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls < 1 or window_s <= 0:
            raise ValueError("calls must be >= 1 and window_s > 0")
        self.calls = calls
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._times: list[float] = []
        self._lock = threading.Lock()

    def preload(self, times: list[float]) -> None:
        """Calls made before this process started (wall-clock seconds)."""
        with self._lock:
            self._times = sorted(set(self._times) | set(times))[-self.calls :]

    @property
    def recent(self) -> list[float]:
        with self._lock:
            return list(self._times)

    def wait_time(self) -> float:
        """Seconds until a call is allowed (0 if now)."""
        with self._lock:
            now = self._clock()
            recent = [t for t in self._times if now - t < self.window_s]
            if len(recent) < self.calls:
                return 0.0
            return recent[-self.calls] + self.window_s - now

    def acquire(self, interrupted: Callable[[], bool] = lambda: False) -> float:
        """Record a call, waiting first if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            wait = self.wait_time()
            if wait <= 0:
                with self._lock:
                    now = self._clock()
                    self._times = [t for t in self._times if now - t < self.window_s]
                    self._times.append(now)
                return waited
            if interrupted():
                raise InterruptedError("stopped while waiting for the rate limit")
            step = min(wait + 0.01, 0.5)
            self._sleep(step)
            waited += step
