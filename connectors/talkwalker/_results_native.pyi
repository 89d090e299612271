"""Types of the Talkwalker transcoder (`_results_native.pyx`)."""

LAYOUT: str

class Miss(Exception): ...

class Transcoder:
    def __init__(self, known: dict[str, frozenset[str]]) -> None: ...
    def __call__(
        self, line: bytes, timeframe_start: int | None, header: bytes = b""
    ) -> list[tuple[str, bytes]] | None: ...
    def lines(
        self,
        lines: tuple[bytes, ...],
        first: int,
        timeframe_start: int | None,
        header: bytes,
        prefix: bytes,
        line_no: int,
        headers: tuple[tuple[str, bytes], ...],
    ) -> tuple[list[tuple[bytes, bytes, list[tuple[str, bytes]]]], int, int]: ...
