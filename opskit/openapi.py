"""Declare an ``/api/v1`` operation once: the route, its input and answer checks, its document.

Usage (a domain's ``api.py``; the models are pydantic classes from ``opskit.apischema``)::

    from typing import Annotated, Any
    from pydantic import AliasPath, Field
    from flask_babel import lazy_gettext as _l
    from opskit import jsonapi, openapi
    from opskit.apischema import Id, Input, Output, Page, Paging, Text, one_of
    from opskit.openapi import operation

    bp = jsonapi.api_blueprint("alerts_api", __name__)

    class AlertFilter(Paging):                       # query: ?page=&per_page=&state=
        state: Annotated[str, one_of(AlertState)] | None = None

    class AlertOut(Output):                          # read from the model's attributes
        id: int
        title: str
        site: str | None = Field(None, validation_alias=AliasPath("site", "name"))

    class AcknowledgeBody(Input):                    # strict JSON, unknown fields refused
        note: Annotated[Text, Field(max_length=10_000)] = ""

    openapi.tag("alerts", _l("Alerts"))             # the section's title on /api-docs

    @operation(bp, "GET", "/alerts", query=AlertFilter, response=Page[AlertOut],
               tag="alerts", summary=_l("List alerts"))
    def list_alerts(query: AlertFilter) -> Any:
        stmt = select(Alert)
        if query.state is not None:
            stmt = stmt.where(Alert.state == query.state)
        return jsonapi.paginate(stmt, (Alert.id.desc(),), query)

    @operation(bp, "POST", "/alerts/<int:alert_id>/acknowledge", body=AcknowledgeBody,
               response=AlertOut, errors=(404, 409), tag="alerts", summary=_l("Acknowledge"))
    def acknowledge_alert(alert_id: int, body: AcknowledgeBody) -> Any:
        alert = jsonapi.get_or_404(Alert, alert_id)
        services.acknowledge(alert, note=body.note)      # audited like the UI's
        db.session().commit()
        return alert                                     # dumped through AlertOut

``operation`` adds the route to the blueprint (endpoint: the function's name), parses the query
string into ``query`` and the JSON body into ``body`` (a 422 keyed by field when wrong, 400 when
the body is not a JSON object) and dumps what the view returns through ``response``:

- an ``Output`` class or ``Page[...]``: the returned object(s) read through it (200, or
  ``status``); a create returns ``Created(obj, location)`` (declare ``status=201``);
- ``None``: the view returns nothing, the answer is 204;
- ``File("application/pdf")``: the view returns a Flask response (``send_file``).

``body=Upload(media_types)`` instead of a model takes the file itself as the body (a scanner
file: ``curl --data-binary @scan.xml``); nothing is parsed, the view reads ``request.stream``
and names what was wrong in a 422 (``fields["file"]``); the document shows a binary body.

``writes`` (default: every method but GET) documents the 403 a viewer's token gets (the access
hook in ``opskit.auth`` refuses it); ``writes=False`` on a POST lets viewers call it too.
``errors`` lists the other statuses the view may answer (404, 409). ``document()`` builds the
OpenAPI 3.1 document of every registered operation, served at ``/api/v1/openapi.json`` and as a
page at ``/api-docs`` (``opskit.api_docs``); tests/test_openapi_schemathesis.py drives all of it
and fails for a route under ``/api/v1`` that is not declared here.

In the view: a service's ``ValidationFailed`` is a 422 (the blueprint's handler), ``jsonapi.
ApiError(409, "conflict", message, fields)`` a 409; a time range is ``class ReadingFilter(Paging,
TimeRange)`` with ``max_span: ClassVar[timedelta] = timedelta(days=400)``; a download is
``response=File("application/zip")`` returning ``send_file(...)``; a write (method other than
GET) is audited by the service it calls, as in the pages.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import LazyString
from flask_babel import gettext as _
from pydantic import BaseModel, Field
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from opskit.apischema import MAX_ID, loads, parse

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class File:
    """A file download answer of this media type."""

    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    """A request body that is a file itself (not JSON): the view reads ``request.stream``.
    Documented as binary under each of ``media_types``."""

    media_types: tuple[str, ...] = ("application/octet-stream",)
    description: str = ""


@dataclass(frozen=True)
class Created:
    """What a create view returns: the new object (dumped through the response model), 201 and
    its ``Location``."""

    obj: Any
    location: str


@dataclass(frozen=True)
class Operation:
    method: str  # lower case
    path: str  # OpenAPI form: /api/v1/assets/{asset_id}
    operation_id: str
    summary: str | LazyString  # a lazy_gettext: the page shows it in the reader's language
    tag: str
    path_params: tuple[tuple[str, str], ...] = ()  # (name, Flask converter)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | Upload | None = None
    response: type[BaseModel] | File | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    writes: bool = False
    description: str = ""

    def statuses(self) -> list[int]:
        """Every error status the operation may answer."""
        codes = {401, *self.errors}
        if self.query is not None or self.body is not None:
            codes.add(422)
        if self.body is not None and not isinstance(self.body, Upload):
            codes.add(400)
        if self.writes:
            codes.add(403)
        return sorted(codes)


OPERATIONS: dict[tuple[str, str], Operation] = {}
#: a tag's title (``tag("alerts", _l("Alerts"))``): the page's section heading
TAGS: dict[str, str | LazyString] = {}

ERROR_TEXT = {
    400: "Malformed request: the body is not a JSON object",
    401: "No valid Bearer token",
    403: "The token's role may not do this (viewers are read-only)",
    404: "No such object",
    409: "Conflicts with the object's state or a concurrent change",
    413: "The body is larger than the server accepts",
    422: "Validation failed; `fields` maps each field to its messages",
}

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def register(op: Operation) -> Operation:
    """Add (or replace) an operation in the document."""
    OPERATIONS[(op.method, op.path)] = op
    return op


def tag(name: str, title: str | LazyString) -> None:
    """Name the section of the operations tagged ``name`` (the document's ``tags``)."""
    TAGS[name] = title


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- the route ------------------------------------------------------------------------------


def _query(model: type[BaseModel]) -> BaseModel:
    return parse(model, request.args.to_dict(flat=True))


def _body(model: type[BaseModel]) -> BaseModel:
    from opskit.jsonapi import ApiError  # lazy: jsonapi builds on this module

    try:
        data = loads(request.get_data(cache=True))
    except ValueError:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return parse(model, data)


def dump(model: type[BaseModel], obj: Any) -> Any:
    """``obj`` (a model object, a mapping, a page) as JSON through ``model``."""
    return model.model_validate(obj, from_attributes=True).model_dump(mode="json")


def _answer(op: Operation, result: Any) -> Any:
    if isinstance(result, Response) or isinstance(op.response, File):
        return result
    if op.response is None:
        return "", 204
    if isinstance(result, Created):
        response = jsonify(dump(op.response, result.obj))
        response.status_code = 201
        response.headers["Location"] = result.location
        return response
    return jsonify(dump(op.response, result)), op.status


def operation(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str | LazyString,
    tag: str,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | Upload | None = None,
    response: type[BaseModel] | File | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    writes: bool | None = None,
    operation_id: str | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route ``rule`` (Flask form, below the blueprint's prefix) and declare it in the document;
    see the module docstring."""
    method = method.upper()

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(
            method=method.lower(),
            path=_CONVERTER.sub(r"{\2}", f"{bp.url_prefix or ''}{rule}"),
            operation_id=operation_id or _camel(view.__name__),
            summary=summary,
            tag=tag,
            path_params=tuple((name, conv or "string") for conv, name in _CONVERTER.findall(rule)),
            query=query,
            body=body,
            response=response,
            status=status,
            errors=errors,
            writes=method != "GET" if writes is None else writes,
            description=description or (view.__doc__ or "").strip(),
        )

        @functools.wraps(view)
        def endpoint(**kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = _query(query)
            if body is not None and not isinstance(body, Upload):
                kwargs["body"] = _body(body)
            return _answer(op, view(**kwargs))

        if method != "GET" and not op.writes:
            endpoint.opskit_viewers_too = True  # type: ignore[attr-defined]
        bp.add_url_rule(rule, view.__name__, endpoint, methods=[method])
        register(op)
        return endpoint

    return decorate


# --- the document ---------------------------------------------------------------------------


def _path_parameter(name: str, converter: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if converter == "int":
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": 1}


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title" and v is not None}
        variants = [v for v in prop.get("anyOf", ()) if v != {"type": "null"}]
        if len(variants) == 1:  # a query parameter is absent, never null
            del prop["anyOf"]
            prop = {**variants[0], **prop}
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            param["description"] = prop["description"]
        param["schema"] = prop
        params.append(param)
    return params


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(op: Operation, refs: dict[Any, dict[str, Any]], queries: dict[Any, Any]) -> Any:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": str(op.summary),
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    params = [_path_parameter(name, conv) for name, conv in op.path_params]
    if op.query is not None:
        params += _query_parameters(queries[op.query])
    if params:
        out["parameters"] = params
    if isinstance(op.body, Upload):
        binary = {"schema": {"type": "string", "format": "binary"}}
        content = {media_type: binary for media_type in op.body.media_types}
        out["requestBody"] = {"required": True, "content": content}
        if op.body.description:
            out["requestBody"]["description"] = op.body.description
    elif op.body is not None:
        out["requestBody"] = {"required": True, "content": _json(refs[(op.body, "validation")])}
    responses: dict[str, Any] = {}
    if isinstance(op.response, File):
        schema = {"type": "string", "format": "binary"}
        responses[str(op.status)] = {
            "description": "The file",
            "content": {op.response.media_type: {"schema": schema}},
        }
    elif op.response is None:
        responses["204"] = {"description": "Done"}
    else:
        description = "Created" if op.status == 201 else "OK"
        content = _json(refs[(op.response, "serialization")])
        responses[str(op.status)] = {"description": description, "content": content}
    for code in op.statuses():
        error = {"$ref": REF.format(model="Error")}
        responses[str(code)] = {"description": ERROR_TEXT[code], "content": _json(error)}
    out["responses"] = responses
    if op.writes:
        out["x-writes"] = True
    return out


class Error(BaseModel):
    """Every error answer: a code (``validation``, ``not_found``, …), a message in the reader's
    language, and for a 422 (sometimes a 409) the messages of each field."""

    error: str
    message: str = ""
    fields: dict[str, list[str]] = Field(default_factory=dict)


class _Names(GenerateJsonSchema):
    """Components named like the classes: ``Page[AssetOut]`` is ``AssetOutPage``."""

    def normalize_name(self, name: str) -> str:
        return super().normalize_name(re.sub(r"^Page\[(?:[\w.]+\.)?(\w+)\]$", r"\1Page", name))


DESCRIPTION = (
    "opskit JSON API. Every call needs `Authorization: Bearer <token>` (create one under My "
    "account or with `opskit token create`). Viewer tokens may only read. A browsable reference "
    "is at /api-docs."
)
#: the components of the last set of operations (their JSON Schema takes ~0.5 s to build)
_SCHEMAS: dict[str, Any] = {}


def _schemas(ops: list[Operation]) -> tuple[Any, dict[str, Any], dict[Any, Any]]:
    """The refs of the operations' models, the components and the query models' schemas."""
    key = [id(op) for op in ops]
    if _SCHEMAS.get("key") == key:
        return _SCHEMAS["value"]
    wanted: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None}
    for op in ops:
        for model, mode in ((op.query, "validation"), (op.body, "validation")):
            if isinstance(model, type):
                wanted[(model, mode)] = None
        if isinstance(op.response, type):
            wanted[(op.response, "serialization")] = None
    refs, defs = models_json_schema(
        list(wanted),  # type: ignore[arg-type]
        ref_template=REF,
        schema_generator=_Names,
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    queries = {}
    for op in ops:  # query models become parameters, not components
        if op.query is not None and op.query not in queries:
            name = refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[1]
            queries[op.query] = schemas.pop(name, {})
    value = (refs, dict(sorted(schemas.items())), queries)
    _SCHEMAS.update(key=key, ops=ops, value=value)  # ops kept: their ids stay theirs
    return value


def document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation; its summaries and tag titles in
    the current locale (``force_locale("en")`` for the JSON)."""
    ops = sorted(OPERATIONS.values(), key=lambda op: (op.path, op.method))
    refs, schemas, queries = _schemas(ops)
    used = sorted({op.tag for op in ops})
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, queries)
    return json.loads(  # the caller's own copy (parts are shared with the cache); C-fast
        json.dumps(
            {
                "openapi": "3.1.0",
                "info": {
                    "title": title,
                    "version": version,
                    "description": DESCRIPTION,
                },
                "tags": [{"name": name, "description": str(TAGS.get(name, name))} for name in used],
                "paths": paths,
                "components": {
                    "schemas": schemas,
                    "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
                },
                "security": [{"bearerAuth": []}],
            }
        )
    )
