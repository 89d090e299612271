"""Schemas: documented, self-contained, and BACKWARD compatibility enforced."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastavro

from socialstream.schemas import BASELINE_DIR, SCHEMA_DIR, load_schema, schema_names
from socialstream.schemas.compatibility import check_backward


def _fields(schema: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            for field in schema["fields"]:
                found.append(field)
                found += _fields(field["type"])
        for key in ("items", "values"):
            if key in schema:
                found += _fields(schema[key])
    elif isinstance(schema, list):
        for branch in schema:
            found += _fields(branch)
    return found


def test_every_schema_and_field_is_documented_and_parses_alone() -> None:
    assert len(schema_names()) == 14
    for name in schema_names():
        schema = load_schema(name)
        assert schema["namespace"] == "io.socialstream"
        assert schema.get("doc"), name
        fastavro.parse_schema(schema)  # self-contained: no external named types
        for field in _fields(schema):
            assert field.get("doc"), f"{name}.{field['name']} has no doc"


def test_scored_document_embeds_the_document_schema_unchanged() -> None:
    embedded = load_schema("scored_document")["fields"][0]["type"]
    assert embedded == load_schema("document")


def test_shipped_schemas_are_backward_compatible_with_the_baseline() -> None:
    assert check_backward() == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_adding_a_field_without_default_is_caught(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    path = target / "talkwalker_control.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "shard", "type": "int", "doc": "new, no default"})
    path.write_text(json.dumps(schema))
    problems = check_backward(target, BASELINE_DIR)
    assert [p.name for p in problems] == ["talkwalker_control"]
    assert "shard" in str(problems[0])


def test_adding_an_optional_field_passes(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    path = target / "talkwalker_control.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append(
        {"name": "shard", "type": ["null", "int"], "default": None, "doc": "optional"}
    )
    path.write_text(json.dumps(schema))
    assert check_backward(target, BASELINE_DIR) == []


def test_schemas_check_command_fails_the_build_on_a_breaking_change(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    path = target / "sentiment_bucket.avsc"
    schema = json.loads(path.read_text())
    for field in schema["fields"]:
        if field["name"] == "posts_count":
            field["type"] = "string"  # long -> string cannot read old data
    path.write_text(json.dumps(schema))
    command = [sys.executable, "-m", "socialstream", "schemas", "check"]
    bad = subprocess.run(
        [*command, "--schema-dir", str(target)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "sentiment_bucket" in bad.stderr and "posts_count" in bad.stderr
    good = subprocess.run(command, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr


def test_schemas_export_writes_every_schema(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "socialstream", "schemas", "export", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert sorted(p.stem for p in tmp_path.glob("*.avsc")) == schema_names()
