"""``text``: free text (remarks). Never abnormal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspections.items.base import Kind

KIND = Kind(_l("Text"), control="inspections/items/text.html")
