"""CLI output: aligned text for a person at a terminal, JSON when piped or asked for."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

OUTPUT_ENV = "SOCIALSTREAM_OUTPUT"


def wants_json(force_json: bool) -> bool:
    """JSON when asked, or when SOCIALSTREAM_OUTPUT=json, or (unless it says text) when piped."""
    mode = os.environ.get(OUTPUT_ENV, "auto").lower()
    if force_json or mode == "json":
        return True
    if mode == "text":
        return False
    return not sys.stdout.isatty()


def emit(data: Any, force_json: bool, text: str) -> None:
    """Print `data` as JSON, or the human-readable `text`."""
    if wants_json(force_json):
        print(json.dumps(data, indent=2, default=str))
    else:
        print(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
