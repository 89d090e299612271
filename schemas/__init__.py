"""The Avro schemas of every record socialstream writes, and the loader that finds them.

Each `<name>.avsc` here is self-contained (named sub-records are defined inline), so a consumer can
decode our topics with any Avro library and the one file. `baseline/` holds the last released
version of each schema; `socialstream schemas check` keeps new versions BACKWARD compatible.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent
BASELINE_DIR = SCHEMA_DIR / "baseline"
NAMESPACE = "io.socialstream"


def schema_names() -> list[str]:
    """File stems of the shipped schemas, e.g. `talkwalker_result`."""
    return sorted(path.stem for path in SCHEMA_DIR.glob("*.avsc"))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema `name` as a JSON object (callers must not mutate it)."""
    path = SCHEMA_DIR / f"{name}.avsc"
    if not path.is_file():
        raise KeyError(f"no schema named {name!r}; known: {', '.join(schema_names())}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def full_name(name: str) -> str:
    """The Avro full name of schema `name`, e.g. `io.socialstream.TalkwalkerResult`."""
    schema = load_schema(name)
    return f"{schema.get('namespace', NAMESPACE)}.{schema['name']}"
