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
