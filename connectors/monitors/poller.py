"""What both pollers share as single writers: their position, loaded once and saved with every
commit (how far each series got, the content hashes of the re-poll window, the day's spend)."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from socialstream.connectors.monitors.budget import DailyBudget
from socialstream.connectors.monitors.publishing import PollWriter
from socialstream.connectors.monitors.revisions import RevisionFilter
from socialstream.runtime.codec import Codec
from socialstream.runtime.connector import SingleWriterConnector
from socialstream.runtime.lease import SingleWriterLease
from socialstream.runtime.settings import Settings


class Poller(SingleWriterConnector):
    """A polling source: subclasses poll (`poll_forever`) while this keeps their position."""

    topic: str
    budget_unit: str

    def __init__(
        self,
        settings: Settings,
        name: str,
        session_timeout_ms: int,
        codec: Codec,
        budget_limit: int | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, name, session_timeout_ms)
        self.codec = codec
        self.clock = clock
        self._budget_limit = budget_limit
        self.stats: dict[str, int] = {}

    def stats_summary(self) -> dict[str, Any]:
        return self.stats

    def _position(self) -> dict[str, Any]:
        return {
            "through": self._through,
            "hashes": self._revisions.state(),
            "budget": self._budget.state(),
        }

    def run_as_writer(self, lease: SingleWriterLease) -> None:
        self._lease = lease
        self._writer = PollWriter(
            self.settings, self.codec, self.component, self.topic, f"{self.component}.{self.name}"
        )
        try:
            position = self._writer.store.load(self.name) or {}
            self._through: dict[str, Any] = dict(position.get("through", {}))
            self._revisions = RevisionFilter(position.get("hashes"))
            self._budget = DailyBudget(
                self._budget_limit, self.budget_unit, position.get("budget"), self.clock
            )
            self.poll_forever()
        finally:
            self._writer.close()

    @abstractmethod
    def poll_forever(self) -> None:
        """Poll until stopped or no longer the writer."""
