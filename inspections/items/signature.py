"""``signature``: the round's signature (its image or id), answered once for the round when it
is submitted, not on an item's row. Never abnormal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspections.items.base import Kind

KIND = Kind(_l("Signature"), per_item=False)
