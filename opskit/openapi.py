"""One declaration per API object, used both to check input and to write the OpenAPI document.

A domain declares its JSON objects as ``ObjectSchema`` (a tuple of ``Field``) and its operations
with ``register()``; ``document()`` turns the registry into an OpenAPI 3.0.3 document served at
``/api/v1/openapi.json`` (behind the Bearer token like every ``/api/`` route). Because the same
``Field`` parses a request body, converts a query parameter and describes both in the document,
the document cannot drift from what the code accepts.

- ``ObjectSchema.parse(body, partial=...)`` returns typed values or raises ``ValidationFailed``
  keyed by field: unknown fields, a wrong JSON type, a missing required field, a value outside
  the enumeration, too long or outside the integer range. Text may not hold NUL characters or
  lone surrogates (PostgreSQL and UTF-8 refuse them).
- ``ObjectSchema.dump(obj)`` builds the response object with each field's ``get``.
- ``Field.from_query(text)`` converts a query-string value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from opskit.validation import ValidationFailed

#: Largest id a path or filter may name (PostgreSQL ``integer``); larger ones simply match nothing.
MAX_ID = 2_147_483_647
#: How deep a free-form JSON value (e.g. asset specs) may nest.
MAX_JSON_DEPTH = 20

_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "date": "string",
    "date-time": "string",
    "object": "object",
}


@dataclass(frozen=True)
class Field:
    """One property of an API object.

    ``type`` is ``string``, ``integer``, ``boolean``, ``date`` (ISO 8601 ``YYYY-MM-DD``),
    ``date-time`` (output only) or ``object`` (free-form JSON object). ``get`` reads the value
    from a model object for responses (default: the attribute of the same name).
    """

    name: str
    type: str = "string"
    required: bool = False
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    max_length: int | None = None
    min_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    ip: bool = False  # an IPv4 or IPv6 address (documented with both formats)
    description: str = ""
    example: Any = None
    read_only: bool = False
    get: Callable[[Any], Any] | None = None

    # --- the document ----------------------------------------------------------------------

    def json_schema(self, *, output: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.type]}
        if self.type in ("date", "date-time"):
            schema["format"] = self.type
        if self.enum is not None:
            schema["enum"] = list(self.enum) + ([None] if self.nullable else [])
        if not output:  # limits describe what is accepted; responses carry what is stored
            if self.max_length is not None:
                schema["maxLength"] = self.max_length
            if self.min_length is not None:
                schema["minLength"] = self.min_length
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
            if self.ip:
                schema = {"anyOf": [{**schema, "format": "ipv4"}, {**schema, "format": "ipv6"}]}
            if self.example is not None:
                schema["example"] = self.example
        if self.nullable:
            schema["nullable"] = True
        if self.description:
            schema["description"] = self.description
        return schema

    def parameter(self, location: str = "query") -> dict[str, Any]:
        return {
            "name": self.name,
            "in": location,
            "required": location == "path",
            "schema": self.json_schema(),
            **({"description": self.description} if self.description else {}),
        }

    # --- input -----------------------------------------------------------------------------

    def _type_error(self) -> str:
        expected = {
            "string": _("text"),
            "integer": _("a whole number"),
            "boolean": _("true or false"),
            "date": _("a date YYYY-MM-DD"),
            "object": _("a JSON object"),
        }[self.type]
        if self.nullable:
            return _("Expected %(type)s or null.", type=expected)
        return _("Expected %(type)s.", type=expected)

    def convert(self, value: Any) -> Any:
        """Check a JSON value; return the Python value or raise ``ValueError`` with the reason."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError(self._type_error())
        if self.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(self._type_error())
            if self.minimum is not None and value < self.minimum:
                raise ValueError(_("Must be at least %(n)d.", n=self.minimum))
            if self.maximum is not None and value > self.maximum:
                raise ValueError(_("Must be at most %(n)d.", n=self.maximum))
        elif self.type == "boolean":
            if not isinstance(value, bool):
                raise ValueError(self._type_error())
        elif self.type == "object":
            if not isinstance(value, dict):
                raise ValueError(self._type_error())
            check_json_text(value)
        elif self.type in ("string", "date"):
            if not isinstance(value, str):
                raise ValueError(self._type_error())
            check_text(value)
            if self.max_length is not None and len(value) > self.max_length:
                raise ValueError(_("At most %(n)d characters.", n=self.max_length))
            if self.min_length is not None and len(value.strip()) < self.min_length:
                raise ValueError(_("This field is required."))
            if self.type == "date":
                return parse_date(value)
        else:  # date-time is output only
            raise ValueError(self._type_error())
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(str(v) for v in self.enum)
            raise ValueError(
                _("%(value)s is not one of: %(allowed)s", value=value, allowed=allowed)
            )
        return value

    def from_query(self, text: str) -> Any:
        """Convert a query-string value (integers from digits, everything else as JSON would)."""
        if self.type == "integer":
            stripped = text.strip()
            digits = stripped[1:] if stripped[:1] in "+-" else stripped
            if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
                raise ValueError(self._type_error())
            return self.convert(int(stripped))
        if self.type == "boolean":
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError(self._type_error())
        return self.convert(text)

    # --- output ----------------------------------------------------------------------------

    def read(self, obj: Any) -> Any:
        value = self.get(obj) if self.get is not None else getattr(obj, self.name)
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value


def check_text(value: str) -> None:
    """Refuse text no database can store: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError(_("Text may not contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text is not valid Unicode.")) from None


def check_json_text(value: Any, depth: int = 0) -> None:
    """``check_text`` on every key and string inside a JSON value, and a depth limit."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(_("Nested too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH))
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_json_text(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_text(item, depth + 1)


def parse_date(value: str) -> date:
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("%(value)s is not a date (YYYY-MM-DD).", value=value)) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(raw: bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused (they are not JSON and no database stores them).

    Raises ``ValueError`` for anything that is not valid JSON text in UTF-8.
    """
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


class ObjectSchema:
    """A named JSON object: its fields parse input and describe it in the document."""

    def __init__(self, name: str, fields: Iterable[Field], description: str = "") -> None:
        self.name = name
        self.fields = {f.name: f for f in fields}
        self.description = description

    def writable(self) -> list[Field]:
        return [f for f in self.fields.values() if not f.read_only]

    def parse(self, body: Any, *, partial: bool) -> dict[str, Any]:
        """Typed values from a decoded JSON object; ``partial`` (PATCH) requires nothing."""
        if not isinstance(body, Mapping):
            raise TypeError("not an object")
        errors: dict[str, list[str]] = {}
        writable = {f.name: f for f in self.writable()}
        for name in body:
            if name not in writable:
                allowed = ", ".join(writable)
                errors[str(name)] = [_("Unknown field; the fields are: %(fields)s", fields=allowed)]
        values: dict[str, Any] = {}
        for name, spec in writable.items():
            if name not in body:
                if spec.required and not partial:
                    errors[name] = [_("This field is required.")]
                continue
            try:
                values[name] = spec.convert(body[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise ValidationFailed(errors)
        return values

    def dump(self, obj: Any) -> dict[str, Any]:
        return {name: spec.read(obj) for name, spec in self.fields.items()}

    # --- the document ----------------------------------------------------------------------

    def output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.json_schema(output=True) for f in self.fields.values()},
            "required": list(self.fields),
        }
        if self.description:
            schema["description"] = self.description
        return schema

    def input_schema(self, *, partial: bool) -> dict[str, Any]:
        fields = self.writable()
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.json_schema() for f in fields},
            "additionalProperties": False,
        }
        required = [f.name for f in fields if f.required]
        if required and not partial:
            schema["required"] = required
        return schema


# --- the registry of operations -------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/assets/{asset_id}
    operation_id: str
    summary: str
    tag: str
    path_params: tuple[str, ...] = ()
    query: tuple[Field, ...] = ()
    body: ObjectSchema | None = None
    partial: bool = False
    result: ObjectSchema | None = None
    many: bool = False
    status: int = 200
    errors: tuple[int, ...] = field(default=(400, 401, 403, 404, 409, 422))


OPERATIONS: dict[tuple[str, str], Operation] = {}

_ERROR_TEXT = {
    400: "Malformed request: the body is not a JSON object",
    401: "No valid Bearer token",
    403: "The token's role may not do this (viewers are read-only)",
    404: "No such object",
    409: "Conflicts with a concurrent change; retry",
    422: "Validation failed; `fields` maps each field to its messages",
}


def register(operation: Operation) -> Operation:
    """Add (or replace) an operation in the document."""
    OPERATIONS[(operation.method.lower(), operation.path)] = operation
    return operation


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["error"],
        }
    }
    for op in OPERATIONS.values():
        if op.result is not None:
            schemas[op.result.name] = op.result.output_schema()
            if op.many:
                schemas[f"{op.result.name}List"] = {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": f"#/components/schemas/{op.result.name}"},
                        },
                        "total": {"type": "integer", "minimum": 0},
                        "page": {"type": "integer", "minimum": 1},
                        "per_page": {"type": "integer", "minimum": 1},
                    },
                    "required": ["items", "total", "page", "per_page"],
                }
        if op.body is not None:
            suffix = "Patch" if op.partial else "Create"
            schemas[f"{op.body.name}{suffix}"] = op.body.input_schema(partial=op.partial)
    return schemas


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
    }
    params = [
        Field(name, "integer", minimum=1, maximum=MAX_ID, example=1).parameter("path")
        for name in op.path_params
    ]
    params += [f.parameter("query") for f in op.query]
    if params:
        out["parameters"] = params
    if op.body is not None:
        suffix = "Patch" if op.partial else "Create"
        out["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{op.body.name}{suffix}"}
                }
            },
        }
    responses: dict[str, Any] = {}
    if op.status == 204:
        responses["204"] = {"description": "Done"}
    elif op.result is not None:
        name = f"{op.result.name}List" if op.many else op.result.name
        responses[str(op.status)] = {
            "description": "Created" if op.status == 201 else "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    for code in op.errors:
        responses[str(code)] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    out["responses"] = responses
    return out


def document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of every registered operation."""
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), op in sorted(OPERATIONS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        paths.setdefault(path, {})[method] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": "opskit JSON API. Every call needs `Authorization: Bearer <token>` "
            "(create one under My account or with `opskit token create`). Viewer tokens may "
            "only read.",
        },
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
