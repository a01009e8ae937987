"""The JSON API's models: pydantic v2 classes that check input and describe it in the document.

The one schema source of ``/api/v1``: a domain writes its bodies, filters and answers as the
classes below, declares its routes with ``opskit.openapi.operation`` (which parses with them),
and ``opskit.openapi.document()`` writes their JSON Schema into the OpenAPI 3.1 document — the
document cannot drift from what the code accepts. (pydantic, not marshmallow + apispec: one
library, validation in pydantic-core, JSON Schema 2020-12 = OpenAPI 3.1, types mypy checks.)

- ``Input``: a JSON body. Strict JSON types (``"1"`` is not a number), unknown fields refused.
  ``partial(Model)`` is the same body for PATCH (every field optional, absent = unchanged; read
  the given ones with ``model_dump(exclude_unset=True)``).
- ``Query``: query parameters (text converted to the field's type; unknown names refused).
  ``Paging`` (``page``, ``per_page`` ≤ 500) and ``TimeRange`` (``since``/``until`` with a time
  zone, span ≤ ``max_span``) are mixed into a domain's filters; ``Period`` is a ``TimeRange``
  a list may leave out (none given: no time limit); ``filters(query)`` is what a list's
  query selects, as keyword arguments for a domain's ``queries`` function.
- ``Output``: an answer, read from the model object's attributes (``from_attributes``; an
  ``AliasPath`` reaches a related object's name). ``Page[X]`` is a page of them.
- Field types: ``Text`` (no NUL, no lone surrogate), ``Name`` (also not blank), ``Id``
  (1 … 2,147,483,647), ``Day`` (``YYYY-MM-DD``), ``JsonObject`` (free-form, depth-bounded),
  ``one_of(values)`` for a choice among values known at run time.
- ``failed(exc)`` turns pydantic's errors into ``ValidationFailed`` keyed by field, each message
  in the reader's language (a validator may itself raise ``ValidationFailed`` to name fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from copy import copy
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from opskit import clock
from opskit.validation import ValidationFailed

#: Largest id a path or filter may name (PostgreSQL ``integer``); larger ones simply match nothing.
MAX_ID = 2_147_483_647
#: How deep a free-form JSON value (e.g. asset specs) may nest.
MAX_JSON_DEPTH = 20
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000

# --- text rules (also used outside pydantic) ------------------------------------------------


def check_text(value: str) -> str:
    """Refuse text no database can store: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError(_("Text may not contain NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text is not valid Unicode.")) from None
    return value


def check_json_text(value: Any, depth: int = 0) -> Any:
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
    return value


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


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("missing", "blank")
    return value


def _day(value: Any) -> Any:
    return parse_date(value) if isinstance(value, str) else value


# --- field types ----------------------------------------------------------------------------

Text = Annotated[str, AfterValidator(check_text)]
Name = Annotated[str, AfterValidator(check_text), AfterValidator(_not_blank)]
Id = Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])]
Day = Annotated[date, BeforeValidator(_day)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_text)]


class one_of:
    """A choice among values known when the module loads (an enum's values, a vocabulary)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(getattr(v, "value", v) for v in values)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        allowed = self.values

        def check(value: Any) -> Any:
            if value not in allowed:
                raise PydanticCustomError(
                    "one_of",
                    "not one of {allowed}",
                    {"value": value, "allowed": ", ".join(str(v) for v in allowed)},
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["enum"] = list(self.values)
        return out


# --- models ---------------------------------------------------------------------------------


class Input(BaseModel):
    """A JSON request body: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query parameters: text converted to each field's type, unknown names refused."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    """An answer, read from an object's attributes; every field is always present."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class Paging(Query):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1 is the first page")
    per_page: int = Field(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


class TimeRange(Query):
    """``since`` … ``until`` (ISO 8601 with a time zone). ``until`` defaults to now, ``since``
    to ``until`` minus ``default_span``; a span over ``max_span`` (a subclass sets both) is a
    422 naming ``since``."""

    max_span: ClassVar[timedelta] = timedelta(days=366)
    default_span: ClassVar[timedelta] = timedelta(days=1)

    since: AwareDatetime | None = Field(None, description="Start (inclusive), with time zone")
    until: AwareDatetime | None = Field(None, description="End (exclusive), default now")

    @model_validator(mode="after")
    def _bounded(self) -> TimeRange:
        since, until = self.bounds()
        if until <= since:
            raise ValidationFailed.one("until", _("Must be later than since."))
        if until - since > self.max_span:
            raise ValidationFailed.one(
                "since", _("The range may span at most %(n)d days.", n=self.max_span.days)
            )
        return self

    def bounds(self) -> tuple[datetime, datetime]:
        until = self.until or clock.now()
        return self.since or until - self.default_span, until


class Period(TimeRange):
    """An optional ``TimeRange`` for a list's filters: neither ``since`` nor ``until`` given,
    ``period()`` is ``(None, None)`` (no time limit: the paging bounds the answer); else the
    checked bounds (``until`` alone: the ``default_span`` before it, at most ``max_span``)."""

    default_span: ClassVar[timedelta] = timedelta(days=366)

    def period(self) -> tuple[datetime | None, datetime | None]:
        if self.since is None and self.until is None:
            return None, None
        return self.bounds()


def filters(query: BaseModel, *leave_out: str) -> dict[str, Any]:
    """A list's query as keyword arguments for the domain's statement: every field but the
    paging ones and ``leave_out``; a ``Period``'s ``since``/``until`` as its ``period()``."""
    values = query.model_dump(exclude={*Paging.model_fields, *leave_out})
    if isinstance(query, Period):
        values["since"], values["until"] = query.period()
    return values


T = TypeVar("T")


class Page(Output, Generic[T]):
    """One page of a list: ``items``, the ``total`` over every page, ``page``, ``per_page``."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def partial(model: type[Input], name: str | None = None) -> type[Input]:
    """``model`` for PATCH: every field may be left out (and is then unchanged)."""
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        optional = copy(info)
        optional.default, optional.default_factory = None, None
        optional.json_schema_extra = _no_default
        fields[key] = (info.annotation, optional)
    title = name or model.__name__.removesuffix("Create") + "Patch"
    return create_model(title, __base__=Input, __doc__=model.__doc__, **fields)


# --- errors in the reader's language --------------------------------------------------------


def _expected(kind: str) -> Callable[[dict[str, Any]], str]:
    def message(_ctx: dict[str, Any]) -> str:
        words = {
            "text": _("text"),
            "integer": _("a whole number"),
            "number": _("a number"),
            "boolean": _("true or false"),
            "object": _("a JSON object"),
            "list": _("a list"),
            "date": _("a date YYYY-MM-DD"),
            "datetime": _("a date and time with its time zone (ISO 8601)"),
        }
        return _("Expected %(type)s.", type=words[kind])

    return message


_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda _c: _("This field is required."),
    "string_too_long": lambda c: _("At most %(n)d characters.", n=c["max_length"]),
    "string_too_short": lambda c: _("At least %(n)d characters.", n=c["min_length"]),
    "too_long": lambda c: _("At most %(n)d items.", n=c["max_length"]),
    "greater_than_equal": lambda c: _("Must be at least %(n)d.", n=c["ge"]),
    "less_than_equal": lambda c: _("Must be at most %(n)d.", n=c["le"]),
    "greater_than": lambda c: _("Must be more than %(n)s.", n=c["gt"]),
    "less_than": lambda c: _("Must be less than %(n)s.", n=c["lt"]),
    "one_of": lambda c: _("%(value)s is not one of: %(allowed)s", **c),
    "literal_error": lambda c: _("Expected one of: %(allowed)s", allowed=c["expected"]),
    "enum": lambda c: _("Expected one of: %(allowed)s", allowed=c["expected"]),
    "timezone_aware": lambda _c: _("Give the time zone, e.g. 2026-01-31T08:00:00+08:00."),
    "string_pattern_mismatch": lambda _c: _("Not in the expected form."),
}
for _kind, _types in {
    "text": ("string_type", "string_unicode"),
    "integer": ("int_type", "int_parsing", "int_from_float", "int_parsing_size"),
    "number": ("float_type", "float_parsing", "decimal_type", "decimal_parsing"),
    "boolean": ("bool_type", "bool_parsing"),
    "object": ("dict_type", "model_type", "model_attributes_type"),
    "list": ("list_type",),
    "date": (
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ),
    "datetime": ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
}.items():
    for _type in _types:
        _MESSAGES[_type] = _expected(_kind)


def failed(exc: ValidationError, model: type[BaseModel] | None = None) -> ValidationFailed:
    """pydantic's errors keyed by field (``a.b`` for a nested one), translated."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        raised = ctx.get("error")
        if isinstance(raised, ValidationFailed):  # a validator named the fields itself
            for field, messages in raised.errors.items():
                errors.setdefault(field, []).extend(messages)
            continue
        field = ".".join(str(part) for part in error["loc"]) or "body"
        kind = error["type"]
        if kind == "too_long" and isinstance(error["input"], str):
            kind = "string_too_long"  # a length on a text type with validators of its own
        if kind == "extra_forbidden" and model is not None:
            allowed = ", ".join(model.model_fields)
            message = _("Unknown field; the fields are: %(fields)s", fields=allowed)
        elif kind == "value_error" and raised is not None:
            message = str(raised)  # our validators raise translated messages
        elif kind in _MESSAGES:
            message = _MESSAGES[kind](ctx)
        else:
            message = _("Not a valid value.")
        errors.setdefault(field, []).append(message)
    return ValidationFailed(errors)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """``data`` checked by ``model``; a ``ValidationFailed`` keyed by field if it is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise failed(exc, model) from None
