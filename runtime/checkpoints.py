"""Component positions stored in Kafka, committed in the same transaction as the records.

A checkpoint is a `Checkpoint` record on the compacted `socialstream.checkpoints` topic, keyed
`component/key`. Because it is produced inside the component's transaction, the position read
back after a crash is exactly the one whose records are committed: an aborted transaction's
checkpoint is never seen by the read_committed reader.
"""

from __future__ import annotations

import json
import time
from typing import Any

from socialstream.runtime.codec import Codec
from socialstream.runtime.consumer import read_to_end
from socialstream.runtime.metrics import CHECKPOINT_AGE_SECONDS
from socialstream.runtime.publisher import Publisher
from socialstream.runtime.settings import KafkaSettings, TopicSettings
from socialstream.runtime.topics import find_topic, topic_name

CHECKPOINT_TOPIC = "socialstream.checkpoints"


class CheckpointStore:
    """Reads the last committed position of a component and writes new ones transactionally."""

    def __init__(
        self, kafka: KafkaSettings, topics: TopicSettings, codec: Codec, component: str
    ) -> None:
        self._kafka = kafka
        self._codec = codec
        self._topic = topic_name(find_topic(CHECKPOINT_TOPIC), topics)
        self.component = component
        self._written = time.time()
        CHECKPOINT_AGE_SECONDS.labels(component).set_function(lambda: time.time() - self._written)

    def _record_key(self, key: str) -> str:
        return f"{self.component}/{key}"

    def load(self, key: str, timeout_s: float = 30.0) -> dict[str, Any] | None:
        """The last committed position for `key`, or None if there is none."""
        wanted = self._record_key(key).encode()
        position: dict[str, Any] | None = None
        for msg in read_to_end(self._kafka, self._topic, timeout_s):
            if msg.key() != wanted:
                continue
            value = msg.value()
            if value is None:  # a tombstone clears the checkpoint
                position = None
                continue
            decoded = self._codec.decode(value, self._topic)
            position = json.loads(decoded.value["position"])
        return position

    def write(self, publisher: Publisher, key: str, position: dict[str, Any]) -> None:
        """Write `position` in the publisher's open transaction."""
        publisher.publish(
            CHECKPOINT_TOPIC,
            self._record_key(key),
            {
                "component": self.component,
                "key": key,
                "position": json.dumps(position, sort_keys=True),
                "written_at": int(time.time() * 1000),
            },
        )
        self._written = time.time()
