"""The configuration reference, generated from the settings models (the one source of truth).

`socialstream config reference` prints it; the README carries a copy that a test keeps in step.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from socialstream.runtime.settings import Settings
from socialstream.runtime.topics import TOPICS

BEGIN = "<!-- BEGIN GENERATED: socialstream config reference -->"
END = "<!-- END GENERATED: socialstream config reference -->"


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a `list[Model]` setting (a schedule, a list of queries)."""
    args = get_args(annotation)
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _type_name(annotation: Any) -> str:
    item = _item_model(annotation)
    if item is not None:
        return f"list of {item.__name__} (below)"
    if get_origin(annotation) is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if get_origin(annotation) is list and get_origin(get_args(annotation)[0]) is Literal:
        return "list of " + _type_name(get_args(annotation)[0])
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args and len(args) < len(get_args(annotation)):
        return _type_name(args[0]) + " (optional)"
    if annotation is SecretStr:
        return "secret"
    name = getattr(annotation, "__name__", None)
    return name if name and not get_args(annotation) else str(annotation).replace("typing.", "")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return "" if value in ({}, []) else repr(value)
    return "" if field.default is None else repr(field.default)


def _rows(model: type[BaseModel], path: list[str]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, [*path, name])
            continue
        env = "SOCIALSTREAM_" + "__".join(p.upper() for p in [*path, name])
        yaml_path = ".".join([*path, name])
        rows.append(
            (env, yaml_path, _type_name(annotation), _default(field), field.description or "")
        )
    return rows


def _item_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = []
    for field in model.model_fields.values():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _item_models(annotation)
        elif (item := _item_model(annotation)) is not None:
            found.append(item)
    return found


def reference_markdown() -> str:
    lines = [
        BEGIN,
        "| environment variable | YAML key | type | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for env, yaml_path, kind, default, doc in _rows(Settings, []):
        default_cell = f"`{default}`" if default else ""
        lines.append(f"| `{env}` | `{yaml_path}` | {kind} | {default_cell} | {doc} |")
    for model in _item_models(Settings):
        lines += [
            "",
            f"Each {model.__name__}: {(model.__doc__ or '').strip()}",
            "",
            "| key | type | default | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for name, field in model.model_fields.items():
            default = _default(field) if not field.is_required() else "required"
            default_cell = f"`{default}`" if default and default != "required" else default
            kind = _type_name(field.annotation)
            lines.append(f"| `{name}` | {kind} | {default_cell} | {field.description or ''} |")
    lines += [
        "",
        "| topic | schema | partitions | cleanup | what it holds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in TOPICS:
        partitions = "`topics.partitions`" if spec.high_volume else "1"
        cleanup = "compact" if spec.compacted else f"delete, {spec.retention_ms // 86_400_000} d"
        schema = f"`{spec.schema}`" if spec.schema else "none"
        lines.append(f"| `{spec.name}` | {schema} | {partitions} | {cleanup} | {spec.doc} |")
    lines.append(END)
    return "\n".join(lines)
