"""The API's browsable reference at ``/api-docs``: the OpenAPI document of ``/api/v1`` rendered on
the server (templates/api/docs.html) for any logged-in user — tags, then operations with their
parameters, body and answer fields and error statuses. Nothing is fetched from the internet (no
script, no font): the page is plain HTML on the app's own stylesheet.

The page reads the same ``opskit.openapi.document()`` as ``/api/v1/openapi.json``; ``Schema``
flattens a JSON Schema (``$ref``, ``anyOf`` with null, enums, limits) into rows a reader scans;
an answer that is one of several models (``oneOf`` with a ``discriminator``, e.g. the readings'
two layouts) shows each model's fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from opskit import openapi
from opskit.version import __version__

bp = Blueprint("api_docs", __name__)

_LITERAL = re.compile(r"``(.+?)``")


@bp.app_template_filter("api_text")
def api_text(text: str) -> Markup:
    """A description as the docstrings write it: a name between double backquotes is code."""
    parts = _LITERAL.split(text)  # text, literal, text, ...
    code = Markup("<code>{}</code>")
    return Markup("").join(code.format(p) if n % 2 else escape(p) for n, p in enumerate(parts))


#: what each error status means, in the reader's language
STATUS_TEXT = {
    400: _l("The body is not a JSON object."),
    401: _l("No valid Bearer token."),
    403: _l("The token's role may not do this (viewers only read)."),
    404: _l("No such object."),
    409: _l("The object's state does not allow it, or a concurrent change got there first."),
    413: _l("The body is larger than the server accepts."),
    422: _l("Wrong input: `fields` names each wrong field with its messages."),
}
_TYPES = {
    "string": _l("text"),
    "integer": _l("whole number"),
    "number": _l("number"),
    "boolean": _l("true or false"),
    "object": _l("object"),
    "array": _l("list"),
    "null": _l("null"),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    limits: str
    description: str


class Schema:
    """Rows of a JSON Schema's properties, ``$ref`` resolved against the document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def name(self, schema: dict[str, Any]) -> str:
        return schema["$ref"].rsplit("/", 1)[1] if "$ref" in schema else ""

    def type(self, schema: dict[str, Any]) -> str:
        """``text``, ``whole number or null``, ``list of AssetOut`` … in the reader's language."""
        if "$ref" in schema:
            return self.name(schema)
        if "anyOf" in schema or "oneOf" in schema:
            options = schema.get("anyOf") or schema["oneOf"]
            return _(" or ").join(self.type(option) for option in options)
        kind = schema.get("type", "")
        if kind == "array":
            return _("list of %(type)s", type=self.type(schema.get("items", {})))
        if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            of = self.type(schema["additionalProperties"])
            return _("object of %(type)s", type=of)
        words = str(_TYPES.get(kind, kind or _("any JSON value")))
        if "format" in schema:
            words += f" ({schema['format']})"
        return words

    def limits(self, schema: dict[str, Any]) -> str:
        parts: list[str] = []
        for option in schema.get("anyOf", [schema]):
            if "enum" in option:
                parts.append(_("one of: %(values)s", values=", ".join(map(str, option["enum"]))))
            if "minimum" in option:
                parts.append(f"≥ {option['minimum']}")
            if "maximum" in option:
                parts.append(f"≤ {option['maximum']}")
            if "maxLength" in option:
                parts.append(_("at most %(n)d characters", n=option["maxLength"]))
        if "default" in schema and schema["default"] not in ("", None, [], {}):
            parts.append(_("default %(value)s", value=schema["default"]))
        return "; ".join(parts)

    def fields(self, schema: dict[str, Any]) -> list[Field]:
        body = self.resolve(schema)
        required = set(body.get("required", ()))
        return [
            Field(
                name,
                self.type(prop),
                name in required,
                self.limits(prop),
                prop.get("description", ""),
            )
            for name, prop in body.get("properties", {}).items()
        ]

    def parameter(self, param: dict[str, Any]) -> Field:
        schema = param.get("schema", {})
        return Field(
            param["name"],
            self.type(schema),
            bool(param.get("required")),
            self.limits(schema),
            param.get("description", ""),
        )

    def choice(self, schema: dict[str, Any]) -> tuple[str, list[str]]:
        """A ``oneOf``'s discriminating field and its models' names (``("", [])`` if none)."""
        body = self.resolve(schema) if schema else {}
        names = [self.name(option) for option in body.get("oneOf", ()) if "$ref" in option]
        return body.get("discriminator", {}).get("propertyName", ""), names

    def answer(self, response: dict[str, Any]) -> tuple[str, str, list[Field]]:
        """The media type, the schema's name (a page's items' too) and its fields."""
        for media, content in response.get("content", {}).items():
            schema = content.get("schema", {})
            fields = self.fields(schema) if "$ref" in schema else []
            return media, self.name(schema), fields
        return "", "", []


@bp.get("/api-docs")
def page() -> Any:
    """The API reference, for any logged-in user (the API itself needs a Bearer token)."""
    document = openapi.document("opskit API", __version__)
    schema = Schema(document)
    tags: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            success = next(code for code in responses if int(code) < 400)
            media, model, fields = schema.answer(responses[success])
            answer = responses[success].get("content", {}).get("application/json", {})
            field, variants = schema.choice(answer.get("schema", {}))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            tags.setdefault(op["tags"][0], []).append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "writes": op.get("x-writes", False),
                    "parameters": [schema.parameter(p) for p in op.get("parameters", ())],
                    "body_model": schema.name(body.get("schema", {})),
                    "body": schema.fields(body["schema"]) if body else [],
                    "status": success,
                    "media": media,
                    "model": model,
                    "answer": fields,
                    "choice": field,
                    "variants": [
                        (name, schema.fields(schema.components[name])) for name in variants
                    ],
                    # a status without words of the page's own: the document's (English) words
                    "errors": [
                        (int(c), STATUS_TEXT.get(int(c), r.get("description", "")))
                        for c, r in responses.items()
                        if int(c) >= 400
                    ],
                }
            )
    return render_template(
        "api/docs.html",
        document=document,
        tags=sorted(tags.items()),
        titles={t["name"]: t["description"] for t in document["tags"]},
        schema=schema,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
