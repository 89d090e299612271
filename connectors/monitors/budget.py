"""A daily spending cap on upstream calls or credits, kept across restarts.

The cap is checked before a call is made, never after: a poller that would exceed it stops and
says so, and resumes when the UTC day turns. The amount used is part of the checkpoint, and a
call's cost is committed to Kafka before the call is made (`reserve`), so a crash cannot make
the poller forget a spend and overshoot after a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class BudgetExhausted(Exception):
    """The next call would exceed the daily budget."""

    def __init__(self, message: str, resets_in_s: float) -> None:
        super().__init__(message)
        self.resets_in_s = resets_in_s


class DailyBudget:
    """At most `limit` units (calls or credits) a UTC day; None means no limit."""

    def __init__(
        self,
        limit: int | None,
        unit: str,
        state: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.unit = unit
        self._clock = clock
        state = state or {}
        self.day: str = str(state.get("day", self._today()))
        self.used: int = int(state.get("used", 0))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _today(self) -> str:
        return self._now().date().isoformat()

    def _roll(self) -> None:
        today = self._today()
        if today != self.day:
            self.day, self.used = today, 0

    def resets_in_s(self) -> float:
        now = self._now()
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(1)
        return (midnight - now).total_seconds()

    def check(self, cost: int) -> None:
        """Raise `BudgetExhausted` if spending `cost` now would exceed the budget."""
        self._roll()
        if self.limit is not None and self.used + cost > self.limit:
            raise BudgetExhausted(
                f"daily budget of {self.limit} {self.unit} reached: {self.used} used today "
                f"({self.day} UTC) and the next call costs {cost}; polling stops until 00:00 UTC",
                self.resets_in_s(),
            )

    def spend(self, cost: int) -> None:
        self.check(cost)
        self.used += cost

    def adjust(self, charged: int, actual: int) -> None:
        """The vendor reported a different cost than was charged."""
        self.used += actual - charged

    def state(self) -> dict[str, Any]:
        return {"day": self.day, "used": self.used}
