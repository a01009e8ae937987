"""What every JSON API resource under ``/api/v1`` shares, whichever package offers it: a
blueprint with the API's error answers, paging, lookups by id, a resource's writer (``saver``)
and its item routes (get, create, update). Operations are declared with
``opskit.openapi.operation`` on models from ``opskit.apischema`` (see their docstrings).

Answers: 422 ``{"error": "validation", "message", "fields": {field: [messages]}}`` for a
``ValidationFailed`` (unknown fields, wrong JSON types, the services' rules); 400 for a body
that is not a JSON object; 404 for an unknown id; 409 when a concurrent write got there first
(a unique constraint fired at commit) or an ``ApiError(409, …)``. The access hook
(``opskit.auth``) answers 401 and 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, jsonify, url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from opskit import db
from opskit.apischema import MAX_ID, Paging
from opskit.openapi import Created, operation
from opskit.validation import ValidationFailed

PREFIX = "/api/v1"


class ApiError(Exception):
    """An error answer: ``status``, a code (``not_found``), a message, and maybe fields."""

    def __init__(
        self, status: int, error: str, message: str, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields


def _api_error(exc: ApiError) -> Any:
    if exc.status >= 400:
        db.session().rollback()
    extra = {"fields": exc.fields} if exc.fields is not None else {}
    return jsonify(error=exc.error, message=exc.message, **extra), exc.status


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


# --- reading --------------------------------------------------------------------------------


def where_equal(stmt: Select[Any], model: type, query: BaseModel, names: tuple[str, ...]) -> Any:
    """``stmt`` keeping the rows whose column equals each filter of ``query`` given (not None),
    the filter and the column having the same name."""
    for name in names:
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return stmt


def paginate(
    stmt: Select[Any],
    order: tuple[Any, ...],
    paging: Paging,
    shown: Callable[[list[Any]], list[Any]] | None = None,
) -> dict[str, Any]:
    """One page of ``stmt``'s rows as ``{items, total, page, per_page}`` for a ``Page[...]``
    answer; ``shown`` turns the page's rows into what the item model reads (e.g. each with what
    is computed for it)."""
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    offset = (paging.page - 1) * paging.per_page
    rows = list(sess.scalars(stmt.order_by(*order).offset(offset).limit(paging.per_page)).unique())
    items = shown(rows) if shown is not None else rows
    return {"items": items, "total": total, "page": paging.page, "per_page": paging.per_page}


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
    name: str,
    noun: str | LazyString,
    tag: str,
    path: str,
    model: type,
    out: type[BaseModel],
    create: type[BaseModel],
    write: Callable[[dict[str, Any], Any], Any],
    *,
    patch: type[BaseModel] | None = None,
    shown: Callable[[Any], Any] | None = None,
) -> None:
    """GET one, POST (and PATCH with the ``patch`` body) of a resource on ``bp``: endpoints
    ``get_<name>``, ``create_<name>``, ``update_<name>``; ``path`` below ``/api/v1``, its item
    ``path/<int:<name>_id>``; ``noun`` names it in the summaries. ``write`` gets the given
    fields and the object (None when creating); ``shown`` turns the object into what ``out``
    reads (default: the object itself)."""
    id_name = f"{name}_id"
    item = f"{path}/<int:{id_name}>"
    show = shown or (lambda obj: obj)

    def get_one(**ids: int) -> Any:
        return show(get_or_404(model, ids[id_name]))

    get_one.__name__ = f"get_{name}"
    summary = _l("Get %(noun)s", noun=noun)
    operation(bp, "GET", item, response=out, errors=(404,), tag=tag, summary=summary)(get_one)

    def create_one(body: BaseModel) -> Any:
        obj = write(body.model_dump(exclude_unset=True), None)
        db.session().commit()
        location = url_for(f"{bp.name}.get_{name}", **{id_name: obj.id})
        return Created(show(obj), location)

    create_one.__name__ = f"create_{name}"
    summary = _l("Create %(noun)s", noun=noun)
    operation(
        bp,
        "POST",
        path,
        body=create,
        response=out,
        status=201,
        errors=(409,),
        tag=tag,
        summary=summary,
    )(create_one)
    if patch is None:
        return

    def update_one(body: BaseModel, **ids: int) -> Any:
        obj = get_or_404(model, ids[id_name])
        saved = write(body.model_dump(exclude_unset=True), obj)
        db.session().commit()
        return show(saved)

    update_one.__name__ = f"update_{name}"
    operation(
        bp,
        "PATCH",
        item,
        body=patch,
        response=out,
        errors=(404, 409),
        tag=tag,
        summary=_l("Change %(noun)s (only the fields given)", noun=noun),
    )(update_one)
