"""What every JSON API resource under ``/api/v1`` shares, whichever package offers it: a
blueprint with the API's error answers, the common fields, parsing of bodies and list
arguments, paging, the 201 + ``Location`` answer, a resource's OpenAPI operations, its writer
(``saver``) and its item routes (get, create, update).

Answers: 422 ``{"error": "validation", "message", "fields": {field: [messages]}}`` for a
``ValidationFailed`` (unknown fields, wrong JSON types, the services' rules); 400 for a body
that is not a JSON object; 404 for an unknown id; 409 when a concurrent write got there first
(a unique constraint fired at commit). The access hook (``opskit.auth``) answers 401 and 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from opskit import db, openapi
from opskit.openapi import MAX_ID, Field, ObjectSchema, Operation
from opskit.validation import ValidationFailed

PREFIX = "/api/v1"
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _api_error(exc: ApiError) -> Any:
    return jsonify(error=exc.error, message=exc.message), exc.status


def _validation_failed(exc: ValidationFailed) -> Any:
    db.session().rollback()
    return jsonify(error="validation", message=str(exc), fields=exc.errors), 422


def _integrity_error(_exc: IntegrityError) -> Any:
    db.session().rollback()
    message = _("Another change got there first; reload and retry.")
    return jsonify(error="conflict", message=message), 409


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/api/v1`` answering the API's errors in JSON."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(ValidationFailed, _validation_failed)
    bp.register_error_handler(IntegrityError, _integrity_error)
    return bp


# --- fields ---------------------------------------------------------------------------------


def text_field(name: str, max_length: int | None = None, **kw: Any) -> Field:
    return Field(name, "string", max_length=max_length, **kw)


def ref_field(name: str, **kw: Any) -> Field:
    """An id naming another object (only written; the related name comes with responses)."""
    return Field(name, "integer", minimum=1, maximum=MAX_ID, example=1, **kw)


ID = Field("id", "integer", read_only=True)
PAGING = (
    Field("page", "integer", minimum=1, maximum=MAX_PAGE, description="1 is the first page"),
    Field("per_page", "integer", minimum=1, maximum=MAX_PER_PAGE),
)


# --- input ----------------------------------------------------------------------------------


def json_body() -> Any:
    raw = request.get_data(cache=True)
    try:
        return openapi.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None


def parse_body(schema: ObjectSchema, *, partial: bool) -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return schema.parse(body, partial=partial)


def list_args(fields: tuple[Field, ...]) -> dict[str, Any]:
    """Query parameters converted by their declarations.

    An empty text search (``?q=``) is no filter; an empty value of a number, a yes/no or a
    choice (``?kind=``) is refused like any other value outside what the parameter takes.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in fields:
        text = request.args.get(spec.name)
        if text is None or (text == "" and spec.type == "string" and spec.enum is None):
            continue
        try:
            values[spec.name] = spec.from_query(text)
        except ValueError as exc:
            errors[spec.name] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    return values


# --- output ---------------------------------------------------------------------------------


def page_of(
    stmt: Select[Any],
    order: tuple[Any, ...],
    schema: ObjectSchema,
    args: Mapping[str, Any],
    shown: Callable[[list[Any]], list[Any]] | None = None,
) -> Any:
    """One page of ``stmt``'s rows as ``{items, total, page, per_page}``; ``shown`` turns the
    page's rows into what ``schema`` dumps (e.g. each with what is computed for it)."""
    page = args.get("page", 1)
    per_page = args.get("per_page", DEFAULT_PER_PAGE)
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = sess.scalars(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page))
    found = list(rows.unique())
    items = [schema.dump(row) for row in (shown(found) if shown is not None else found)]
    return jsonify(items=items, total=total, page=page, per_page=per_page)


def get_or_404(model: type, object_id: int) -> Any:
    obj = db.session().get(model, object_id) if object_id <= MAX_ID else None
    if obj is None:
        raise ApiError(404, "not_found", _("No such object."))
    return obj


def lookup(model: type, object_id: int | None, field: str) -> Any:
    """The object an input id names, or a validation error on ``field``."""
    if object_id is None:
        return None
    obj = db.session().get(model, object_id)
    if obj is None:
        raise ValidationFailed.one(field, _("No object with id %(id)d.", id=object_id))
    return obj


def renamed(exc: ValidationFailed, names: Mapping[str, str]) -> ValidationFailed:
    """Service errors keyed by service names (room) re-keyed by API names (room_id)."""
    return ValidationFailed({names.get(k, k): v for k, v in exc.errors.items()})


def created(schema: ObjectSchema, obj: Any, endpoint: str, **kw: Any) -> Any:
    db.session().commit()
    response = jsonify(schema.dump(obj))
    response.status_code = 201
    response.headers["Location"] = url_for(endpoint, **kw)
    return response


def updated(schema: ObjectSchema, obj: Any) -> Any:
    db.session().commit()
    return jsonify(schema.dump(obj))


# --- the document ---------------------------------------------------------------------------


def declare_operations(
    noun: str,
    plural: str,
    path: str,
    id_name: str,
    schema: ObjectSchema,
    filters: tuple[Field, ...],
    delete: bool = False,
    update: bool = True,
) -> None:
    """Declare list, get and create (and update, delete) of one resource in the document."""
    tag = plural
    item = f"{path}/{{{id_name}}}"
    reg = openapi.register
    reg(
        Operation(
            "get",
            path,
            f"list{schema.name}s",
            f"List {plural}",
            tag,
            query=(*PAGING, *filters),
            result=schema,
            many=True,
            errors=(401, 422),
        )
    )
    reg(
        Operation(
            "get",
            item,
            f"get{schema.name}",
            f"One {noun}",
            tag,
            path_params=(id_name,),
            result=schema,
            errors=(401, 404),
        )
    )
    reg(
        Operation(
            "post",
            path,
            f"create{schema.name}",
            f"Create a {noun}",
            tag,
            body=schema,
            result=schema,
            status=201,
            errors=(400, 401, 403, 409, 422),
        )
    )
    if update:
        reg(
            Operation(
                "patch",
                item,
                f"update{schema.name}",
                f"Change some fields of a {noun}",
                tag,
                path_params=(id_name,),
                body=schema,
                partial=True,
                result=schema,
                errors=(400, 401, 403, 404, 409, 422),
            )
        )
    if delete:
        reg(
            Operation(
                "delete",
                item,
                f"delete{schema.name}",
                f"Delete a {noun}",
                tag,
                path_params=(id_name,),
                status=204,
                errors=(401, 403, 404, 409),
            )
        )


# --- writes and routes ----------------------------------------------------------------------


#: An input id and the service argument it becomes: ``{"site_id": ("site", Site)}``.
Refs = Mapping[str, tuple[str, type]]


def saver(
    save: Callable[[dict[str, Any], Any], Any], refs: Refs | None = None
) -> Callable[[dict[str, Any], Any], Any]:
    """A resource's write: input ids looked up (an unknown one is a 422 on its field), the
    service called and flushed, the service's errors re-keyed by the API's names."""
    refs = refs or {}
    names = {name: field for field, (name, _model) in refs.items()}

    def write(values: dict[str, Any], obj: Any) -> Any:
        data = dict(values)
        for field, (name, model) in refs.items():
            if field in data:
                data[name] = lookup(model, data.pop(field), field)
        try:
            saved = save(data, obj)
            db.session().flush()
        except ValidationFailed as exc:
            raise renamed(exc, names) from None
        return saved

    return write


def item_routes(
    bp: Blueprint,
    singular: str,
    path: str,
    id_name: str,
    schema: ObjectSchema,
    model: type,
    write: Callable[[dict[str, Any], Any], Any],
    *,
    update: bool = True,
    shown: Callable[[Any], Any] | None = None,
) -> None:
    """GET, POST (and PATCH) of one resource on ``bp``: endpoints ``get_<singular>``,
    ``create_<singular>`` and ``update_<singular>``, ``path`` below ``/api/v1``. ``write``
    gets the parsed body and the object (None when creating); ``shown`` turns the object into
    what ``schema`` dumps (default: the object itself)."""
    show = shown or (lambda obj: obj)

    def get_one(**ids: int) -> Any:
        return jsonify(schema.dump(show(get_or_404(model, ids[id_name]))))

    def create() -> Any:
        obj = write(parse_body(schema, partial=False), None)
        return created(schema, show(obj), f"{bp.name}.get_{singular}", **{id_name: obj.id})

    def change(**ids: int) -> Any:
        obj = get_or_404(model, ids[id_name])
        return updated(schema, show(write(parse_body(schema, partial=True), obj)))

    item = f"{path}/<int:{id_name}>"
    bp.add_url_rule(item, f"get_{singular}", get_one, methods=["GET"])
    bp.add_url_rule(path, f"create_{singular}", create, methods=["POST"])
    if update:
        bp.add_url_rule(item, f"update_{singular}", change, methods=["PATCH"])
