"""What every write of the registry shares: stored enumeration values checked by field."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import gettext as _


def enum_value(
    cls: type[enum.Enum], value: Any, field: str, errors: dict[str, list[str]]
) -> str | None:
    try:
        return cls(value).value
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        errors.setdefault(field, []).append(
            _("%(value)s is not one of: %(allowed)s", value=value, allowed=allowed)
        )
        return None
