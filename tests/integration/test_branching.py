"""`split` on Quix: complementary branches of a dataframe, each value passed on uncopied."""

from __future__ import annotations

import pickle
import uuid
from typing import Any

from quixstreams import Application

from socialstream.runtime.branching import _parked, park, split, take
from socialstream.runtime.settings import KafkaSettings


def test_a_branch_point_copies_a_ticket_and_the_branch_takes_the_value_itself() -> None:
    value = {"document": {"id": 1}}
    ticket = park(value, yes=False)
    copy = pickle.loads(pickle.dumps(ticket, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert copy == ticket < 0  # the other branch's
    assert take(copy) is value
    assert not _parked  # taken: nothing accumulates


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
    assert not _parked
