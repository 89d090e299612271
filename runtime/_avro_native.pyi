"""Types of the C executor (`_avro_native.pyx`)."""

from collections.abc import Callable
from typing import Any

class Node:
    kind: int
    children: tuple[Node, ...]
    names: tuple[str, ...]
    built: tuple[bool, ...]
    symbols: tuple[str, ...]
    size: int
    to_time: Callable[[int], Any] | None
    defaults: tuple[Any, ...]
    branches: tuple[int, ...]
    indexes: dict[str, int]
    def __init__(
        self,
        kind: int,
        children: tuple[Node, ...] = (),
        names: tuple[str, ...] = (),
        built: tuple[bool, ...] = (),
        symbols: tuple[str, ...] = (),
        size: int = 0,
        to_time: Callable[[int], Any] | None = None,
        defaults: tuple[Any, ...] = (),
        branches: tuple[int, ...] = (),
        indexes: dict[str, int] | None = None,
    ) -> None: ...
    def __call__(self, b: bytes, p: int) -> dict[str, Any]: ...

UNION_TYPES: tuple[type, ...]

class Encoder:
    def __init__(self, root: Node) -> None: ...
    def __call__(self, record: dict[str, Any]) -> bytes: ...
