"""Numbers from URLs stay within what the database can hold.

Ids and numeric query parameters end up in SQL as 64-bit integers. A number past that range
(``/assets/99999999999999999999``, ``?page=1e30`` spelled out in digits) made SQLite raise
``OverflowError`` and PostgreSQL "integer out of range": a 500. Here:

- an ``int`` URL part past 2**63-1 is a 404, like any unknown id;
- an out-of-range number that still reaches the database (a query parameter a view turned
  into an ``int``) is answered 400 "a number is out of range", naming the parameters that
  hold such numbers, instead of a 500.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

#: the largest value of a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT)
DB_INT_MAX = 2**63 - 1
_DIGITS = re.compile(r"-?\d+")


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` answering 404 past the database's integer range.

    Not ``max=``: a number past it would then not match the rule at all and fall through to
    another rule of the same path (``/api/v1/assets/<tag>`` answering a DELETE with 405).
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if abs(number) > DB_INT_MAX:
            raise NotFound()
        return number


def out_of_range_args() -> list[str]:
    """Names of the request's parameters holding a whole number beyond the database's range."""
    names = set()
    for name, values in request.values.lists():
        for value in values:
            for part in value.split(","):
                part = part.strip()
                if _DIGITS.fullmatch(part) and abs(int(part)) > DB_INT_MAX:
                    names.add(name)
                    break
    return sorted(names)


def _out_of_range(exc: Exception) -> Any:
    if isinstance(exc, DataError) and "out of range" not in str(exc.orig).lower():
        raise exc
    names = ", ".join(out_of_range_args()) or "?"
    message = _(
        "A number is out of range (%(names)s): at most %(max)d.", names=names, max=DB_INT_MAX
    )
    return current_app.handle_http_exception(BadRequest(message))


def install_converter(app: Flask) -> None:
    """Before any blueprint is registered: its rules are built with the bounded converter."""
    app.url_map.converters["int"] = BoundedIntConverter


def init_app(app: Flask) -> None:
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DataError, _out_of_range)
