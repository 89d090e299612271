"""`split` on Quix: complementary branches of a dataframe, each value passed on uncopied."""

from __future__ import annotations

import pickle
import uuid
from typing import Any

from quixstreams import Application

from socialstream.runtime.branching import Shared, _pickled, split
from socialstream.runtime.settings import KafkaSettings


def test_a_shared_value_copies_as_itself() -> None:
    value = {"document": {"id": 1}}
    shared = Shared(value)
    copy = pickle.loads(pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert copy is shared and copy.value is value
    assert not _pickled  # the copy took it out of the registry: nothing accumulates


def test_each_value_goes_down_exactly_one_branch_uncopied(kafka: KafkaSettings) -> None:
    # Quix reads the topic's metadata from a broker; the values are fed in by `sdf.test`.
    app = Application(broker_address=kafka.bootstrap_servers, consumer_group="g", loglevel=None)
    sdf = app.dataframe(app.topic(f"branching-{uuid.uuid4().hex[:6]}", value_deserializer="json"))
    seen: list[tuple[str, Any]] = []
    even, odd = split(sdf, lambda v: v["n"] % 2 == 0)
    even.update(lambda v: seen.append(("even", v)))
    odd.update(lambda v: seen.append(("odd", v)))
    values = [{"n": n} for n in range(4)]
    for value in values:
        sdf.test(value, topic=sdf.topics[0])
    assert [(branch, v["n"]) for branch, v in seen] == [
        ("even", 0), ("odd", 1), ("even", 2), ("odd", 3)
    ]  # fmt: skip
    assert all(v is value for (_, v), value in zip(seen, values, strict=True))
    assert not _pickled
