"""What the compiled Avro writer and reader share: names, limits and turning source into code.

Each compiles a record schema into Python source, one function a named record, then `build`s it.
Both are exact or they refuse (`Mismatch`), and the codec then asks fastavro.
"""

from __future__ import annotations

import itertools
from typing import Any

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class Mismatch(ValueError):
    """A value (or bytes) the compiled code does not handle exactly; fastavro must decide."""


class Unsupported(Exception):
    """A schema feature left to fastavro: the schema is not compiled."""


class SchemaCompiler:
    """Fresh names, the named types seen, the functions written and the constants they use."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.functions: dict[str, str] = {}  # record full name -> function name
        self.sources: list[str] = []
        self.constants: dict[str, Any] = {}
        self._ids = itertools.count()

    def fresh(self, prefix: str) -> str:
        """A name no other generated variable or function has."""
        return f"{prefix}{next(self._ids)}"

    @staticmethod
    def full_name(schema: dict[str, Any], namespace: str) -> str:
        name = str(schema["name"])
        if "." in name:
            return name
        space = schema.get("namespace", namespace)
        return f"{space}.{name}" if space else name

    def claim_record(self, schema: dict[str, Any], namespace: str) -> tuple[str, str, bool]:
        """(function name, the record's namespace, whether it is still to be written): each
        named record gets one function, which a recursive reference can call before it exists."""
        full = self.full_name(schema, namespace)
        if full in self.functions:
            return self.functions[full], full.rpartition(".")[0], False
        function = self.fresh("record_")
        self.functions[full] = function
        self.named[full] = schema
        return function, full.rpartition(".")[0], True

    def named_type(self, reference: str, namespace: str) -> Any:
        """The schema a named type's reference points to (its full or its short name)."""
        for candidate in (reference, f"{namespace}.{reference}"):
            if candidate in self.named:
                return self.named[candidate]
        raise Unsupported(f"unknown named type {reference}")

    def build(self, entry: str, label: str, helpers: dict[str, Any]) -> Any:
        """The function named `entry` from the sources written so far, compiled once."""
        source = "\n\n".join(self.sources)
        namespace: dict[str, Any] = {"Mismatch": Mismatch, **helpers, **self.constants}
        exec(compile(source, f"<avro {label}>", "exec"), namespace)  # noqa: S102
        return namespace[entry]
