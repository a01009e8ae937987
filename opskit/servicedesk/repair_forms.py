"""The repair form as the tablet posts it: plain fields, local date-times
(``datetime-local``: site time), a cost as typed (full-width digits, ¥ and thousands
separators allowed), and the part rows as repeated ``part`` / ``serial_out`` / ``serial_in`` /
``quantity`` fields in row order. ``parse`` turns it into the service's ``RepairInput`` and
names what it cannot read; ``values_of`` fills the form from a stored repair."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from opskit.servicedesk.models import Repair
from opskit.servicedesk.services import PartInput, RepairInput

TEXTS = (
    "fault",
    "diagnosis",
    "work_done",
    "result",
    "vendor",
    "vendor_case_number",
    "rma_number",
    "vendor_engineer",
)
TIMES = ("downtime_start", "downtime_end", "vendor_opened_at", "vendor_closed_at")
PART_FIELDS = ("part", "serial_out", "serial_in", "quantity")
MAX_PART_ROWS = 100


@dataclass(frozen=True)
class Parsed:
    data: RepairInput
    asset_tag: str
    client_id: str
    errors: dict[str, list[str]]
    #: the part rows as typed, to show again
    rows: list[dict[str, str]]


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """A site-local date-time as a form sends it (``2026-11-26T09:30``, seconds allowed)."""
    text = unicodedata.normalize("NFKC", text).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)
        except (ValueError, OverflowError):
            continue
    raise ValueError(text)


def parse_cost(text: str) -> Decimal | None:
    """A cost as typed (1200, 1,200.50, ¥1200, １２００); None when empty; ValueError."""
    value = unicodedata.normalize("NFKC", text).strip()
    value = re.sub(r"^[¥￥]|元$", "", value).replace(",", "").strip()
    if not value:
        return None
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise ValueError(text)
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(text) from exc


def parse_quantity(text: str) -> int | None:
    """The quantity of a part row: 1 when left empty; None when it is no whole number."""
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        return 1
    return int(value) if re.fullmatch(r"\d{1,9}", value) else None


def _rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    columns = {name: form.getlist(name) for name in PART_FIELDS}
    count = min(max((len(values) for values in columns.values()), default=0), MAX_PART_ROWS)
    return [
        {name: (values[n] if n < len(values) else "") for name, values in columns.items()}
        for n in range(count)
    ]


def parse(form: MultiDict[str, str], tz: ZoneInfo) -> Parsed:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {name: form.get(name, "") for name in TEXTS}
    for name in TIMES:
        raw = form.get(name, "").strip()
        values[name] = None
        if raw:
            try:
                values[name] = parse_local(raw, tz)
            except ValueError:
                errors[name] = [_("Expected a date and time (year-month-day hour:minute).")]
    try:
        values["cost"] = parse_cost(form.get("cost", ""))
    except ValueError:
        values["cost"] = None
        errors["cost"] = [_("Write the cost as a number, e.g. 1200.50.")]
    rows = _rows(form)
    parts = []
    for n, row in enumerate(rows):
        quantity = parse_quantity(row["quantity"])
        if quantity is None:
            errors[f"parts-{n}-quantity"] = [_("Write the quantity as a whole number.")]
        parts.append(
            PartInput(
                part=row["part"],
                serial_out=row["serial_out"],
                serial_in=row["serial_in"],
                quantity=quantity if quantity is not None else 1,
            )
        )
    return Parsed(
        data=RepairInput(**values, parts=parts),
        asset_tag=form.get("asset_tag", "").strip(),
        client_id=form.get("client_id", "").strip(),
        errors=errors,
        rows=rows,
    )


def local_input(moment: datetime | None, tz: ZoneInfo) -> str:
    """The value of a ``datetime-local`` input for ``moment``."""
    return f"{moment.astimezone(tz):%Y-%m-%dT%H:%M}" if moment is not None else ""


def values_of(repair: Repair, tz: ZoneInfo) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The form's fields and part rows for editing ``repair``."""
    values = {name: getattr(repair, name) or "" for name in TEXTS}
    for name in TIMES:
        values[name] = local_input(getattr(repair, name), tz)
    values["cost"] = f"{repair.cost:.2f}" if repair.cost is not None else ""
    rows = [
        {
            "part": p.part,
            "serial_out": p.serial_out,
            "serial_in": p.serial_in,
            "quantity": str(p.quantity),
        }
        for p in repair.parts
    ]
    return values, rows
