"""Types of the Talkwalker transcoder (`_results_native.pyx`)."""

LAYOUT: str

class Miss(Exception): ...

class Transcoder:
    def __init__(self, known: dict[str, frozenset[str]]) -> None: ...
    def __call__(
        self, line: bytes, timeframe_start: int | None, header: bytes = b""
    ) -> list[tuple[str, bytes]] | None: ...
