"""Splitting a stream into two complementary branches without copying every value.

Quix Streams pickle-copies the value at each point where a dataframe branches, in case the
branches mutate it. In the sentiment join that copy (of a whole document, three times) took a
sixth of the time. When the branches are complementary filters, each value goes on down exactly
one of them, so nothing is shared after the filters and the copy is waste: `split` hands both
filters the same object, wrapped in a `Shared` whose pickled form is a reference to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from quixstreams.dataframe import StreamingDataFrame

# Values between being pickled at a branch point and unpickled for its second branch. The
# framework unpickles once for each branch after the first, and a split has two, so `_same`
# takes the entry out again; a weak dictionary's bookkeeping cost more than the copy it saved.
_pickled: dict[int, Shared] = {}
_ids = itertools.count()


def _same(key: int) -> Shared:
    return _pickled.pop(key)


class Shared:
    """A value whose copy (pickle) is itself, for a branch point with two branches."""

    __slots__ = ("_key", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._key = next(_ids)

    def __reduce__(self) -> tuple[Callable[[int], Shared], tuple[int]]:
        _pickled[self._key] = self
        return _same, (self._key,)


def _unwrap(shared: Shared) -> Any:
    return shared.value


def split(
    sdf: StreamingDataFrame, predicate: Callable[[Any], bool]
) -> tuple[StreamingDataFrame, StreamingDataFrame]:
    """(values where `predicate` holds, the others), each value passed on uncopied."""
    shared = sdf.apply(Shared)
    yes = shared.filter(lambda s: predicate(s.value)).apply(_unwrap)
    no = shared.filter(lambda s: not predicate(s.value)).apply(_unwrap)
    return yes, no
