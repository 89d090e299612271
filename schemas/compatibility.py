"""BACKWARD compatibility of the shipped schemas against the committed baseline.

BACKWARD, as in Confluent Schema Registry: a consumer using the new schema can read data written
with the old one. The check itself is the Apache `avro` package's reader/writer checker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from socialstream.schemas import BASELINE_DIR, SCHEMA_DIR


@dataclass(frozen=True)
class CompatibilityProblem:
    """One schema whose new version cannot read data written with its baseline."""

    name: str
    messages: tuple[str, ...]
    locations: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(self.locations) or "/"
        return f"{self.name}: not BACKWARD compatible at {where}: {'; '.join(self.messages)}"


def _parse(path: Path) -> avro.schema.Schema:
    return avro.schema.parse(path.read_text(encoding="utf-8"))


def check_backward(
    schema_dir: Path = SCHEMA_DIR, baseline_dir: Path = BASELINE_DIR
) -> list[CompatibilityProblem]:
    """Problems of every schema in `schema_dir` that has a baseline; empty when all are fine.

    A schema with no baseline is new and passes; a baseline whose schema was removed is a
    problem, because consumers of that topic would lose their schema.
    """
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    problems: list[CompatibilityProblem] = []
    current = {path.stem: path for path in schema_dir.glob("*.avsc")}
    for baseline in sorted(baseline_dir.glob("*.avsc")):
        path = current.get(baseline.stem)
        if path is None:
            problems.append(CompatibilityProblem(baseline.stem, ("schema removed",), ()))
            continue
        reader, writer = _parse(path), _parse(baseline)
        result = checker.get_compatibility(reader=reader, writer=writer)
        if result.compatibility is not SchemaCompatibilityType.compatible:
            problems.append(
                CompatibilityProblem(
                    baseline.stem,
                    tuple(sorted(str(m) for m in result.messages)),
                    tuple(_incompatible_fields(checker, reader, writer))
                    or tuple(sorted(str(loc) for loc in result.locations)),
                )
            )
    return problems


def _incompatible_fields(
    checker: ReaderWriterCompatibilityChecker,
    reader: avro.schema.Schema,
    writer: avro.schema.Schema,
) -> list[str]:
    """Name the top-level fields at fault (the checker's own locations can be just `/`)."""
    if not isinstance(reader, avro.schema.RecordSchema) or not isinstance(
        writer, avro.schema.RecordSchema
    ):
        return []
    old = {field.name: field for field in writer.fields}
    named = []
    for field in reader.fields:
        if field.name not in old:
            if not field.has_default:
                named.append(f"field {field.name} (added without a default)")
            continue
        check = checker.get_compatibility(reader=field.type, writer=old[field.name].type)
        if check.compatibility is not SchemaCompatibilityType.compatible:
            named.append(f"field {field.name}")
    return named


def export(target: Path) -> list[Path]:
    """Write the shipped .avsc set (pretty-printed) into `target`; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        out = target / path.name
        out.write_text(
            json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2) + "\n",
            encoding="utf-8",
        )
        written.append(out)
    return written
