"""A Confluent Schema Registry stand-in: the REST subset socialstream's codec uses.

Subjects, versions, global ids, per-subject compatibility (BACKWARD checked with the Apache
`avro` checker, 409 on a breaking change) and Confluent's error body shape. It exists so that
the Confluent wire format is tested end to end against a real HTTP registry on loopback.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialstream.simulators.base import Simulator, SimulatorServer

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def _error(status: int, code: int, message: str) -> Response:
    return JSONResponse({"error_code": code, "message": message}, status, media_type=CONTENT_TYPE)


def _ok(body: Any) -> Response:
    return JSONResponse(body, media_type=CONTENT_TYPE)


class SchemaRegistrySimulator(Simulator):
    """In-memory registry served on loopback."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.compatibility: dict[str, str] = {}
        self.global_compatibility = "BACKWARD"
        app = Starlette(
            routes=[
                Route("/subjects", self._subjects),
                Route("/subjects/{subject}/versions", self._versions, methods=["GET", "POST"]),
                Route("/subjects/{subject}/versions/{version}", self._version),
                Route("/subjects/{subject}", self._lookup, methods=["POST"]),
                Route("/schemas/ids/{schema_id:int}", self._schema_by_id),
                Route("/config", self._config, methods=["GET", "PUT"]),
                Route("/config/{subject}", self._config, methods=["GET", "PUT"]),
            ]
        )
        self.server = SimulatorServer(app, host=host, port=port)

    @staticmethod
    def _canonical(schema_str: str) -> str:
        return json.dumps(json.loads(schema_str), sort_keys=True, separators=(",", ":"))

    def _id_for(self, schema_str: str) -> int | None:
        canonical = self._canonical(schema_str)
        for schema_id, known in self.schemas.items():
            if self._canonical(known) == canonical:
                return schema_id
        return None

    async def _subjects(self, request: Request) -> Response:
        with self._lock:
            return _ok(sorted(self.subjects))

    async def _versions(self, request: Request) -> Response:
        subject = request.path_params["subject"]
        if request.method == "GET":
            with self._lock:
                if subject not in self.subjects:
                    return _error(404, 40401, f"Subject '{subject}' not found.")
                return _ok(list(range(1, len(self.subjects[subject]) + 1)))
        body = await request.json()
        if body.get("schemaType", "AVRO") != "AVRO":
            return _error(422, 42201, "only AVRO schemas are simulated")
        schema_str = body.get("schema", "")
        try:
            new = avro.schema.parse(schema_str)
        except Exception as exc:
            return _error(422, 42201, f"Invalid schema: {exc}")
        with self._lock:
            versions = self.subjects.setdefault(subject, [])
            existing = self._id_for(schema_str)
            if existing is not None and existing in versions:
                return _ok({"id": existing})
            level = self.compatibility.get(subject, self.global_compatibility)
            if versions and level.startswith("BACKWARD"):
                checked = versions if level == "BACKWARD_TRANSITIVE" else versions[-1:]
                checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
                for schema_id in checked:
                    old = avro.schema.parse(self.schemas[schema_id])
                    result = checker.get_compatibility(reader=new, writer=old)
                    if result.compatibility is not SchemaCompatibilityType.compatible:
                        return _error(
                            409,
                            409,
                            "Schema being registered is incompatible with an earlier schema "
                            f"for subject '{subject}': {sorted(map(str, result.messages))}",
                        )
            if existing is None:
                existing = len(self.schemas) + 1
                self.schemas[existing] = schema_str
            versions.append(existing)
            return _ok({"id": existing})

    async def _version(self, request: Request) -> Response:
        subject = request.path_params["subject"]
        version = request.path_params["version"]
        with self._lock:
            versions = self.subjects.get(subject)
            if not versions:
                return _error(404, 40401, f"Subject '{subject}' not found.")
            index = len(versions) if version == "latest" else int(version)
            if not 1 <= index <= len(versions):
                return _error(404, 40402, f"Version {version} not found.")
            schema_id = versions[index - 1]
            return _ok(
                {
                    "subject": subject,
                    "version": index,
                    "id": schema_id,
                    "schema": self.schemas[schema_id],
                }
            )

    async def _lookup(self, request: Request) -> Response:
        subject = request.path_params["subject"]
        body = await request.json()
        with self._lock:
            schema_id = self._id_for(body.get("schema", ""))
            versions = self.subjects.get(subject, [])
            if schema_id is None or schema_id not in versions:
                return _error(404, 40403, "Schema not found")
            return _ok(
                {
                    "subject": subject,
                    "version": versions.index(schema_id) + 1,
                    "id": schema_id,
                    "schema": self.schemas[schema_id],
                }
            )

    async def _schema_by_id(self, request: Request) -> Response:
        schema_id = request.path_params["schema_id"]
        with self._lock:
            if schema_id not in self.schemas:
                return _error(404, 40403, "Schema not found")
            return _ok({"schema": self.schemas[schema_id]})

    async def _config(self, request: Request) -> Response:
        subject = request.path_params.get("subject")
        if request.method == "PUT":
            level = (await request.json()).get("compatibility", "").upper()
            with self._lock:
                if subject is None:
                    self.global_compatibility = level
                else:
                    self.compatibility[subject] = level
            return _ok({"compatibility": level})
        with self._lock:
            level = self.compatibility.get(subject or "", self.global_compatibility)
        return _ok({"compatibilityLevel": level})
