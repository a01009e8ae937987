"""Repairs (维修记录) and their vendor cases: recorded for a request or for an asset directly,
edited, and signed by the engineer and the customer on the tablet.

Every field is checked and the wrong ones are named in one ``ValidationFailed`` (nothing is
stored then): the fault left empty, an unknown asset, downtime ending before it started, a
vendor case closed before it was opened, a negative cost, a part row with serials or a quantity
but no part name, a quantity below 1, a text longer than its column. The form's ``client_id``
makes a retried save the same repair. A part row's errors are keyed ``parts-<n>-<field>``
(``n`` counts the rows as given, from 0). Services flush; the caller commits (``db.write``).
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from assets import queries as registry
from opskit import db, people
from opskit.servicedesk.models import Repair, RepairPart, ServiceRequest
from opskit.servicedesk.services import common
from opskit.validation import ValidationFailed

#: the largest cost the column holds (Numeric(12, 2))
MAX_COST = Decimal("9999999999.99")
MAX_LENGTHS = {
    "vendor": 128,
    "vendor_case_number": 64,
    "rma_number": 64,
    "vendor_engineer": 128,
}
PART_LENGTHS = {"part": 200, "serial_out": 128, "serial_in": 128}
MAX_QUANTITY = 10_000
QUANTITY_TEXT, COST_TEXT = f"{MAX_QUANTITY:,}", f"{MAX_COST:,}"
#: a drawn signature: a PNG data URL of at most this many bytes once decoded
SIGNATURE_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_NAME = 128


@dataclass
class PartInput:
    """One row of parts replaced: what, the serial taken out, the one put in, how many."""

    part: str = ""
    serial_out: str = ""
    serial_in: str = ""
    quantity: int | None = 1

    @property
    def is_empty(self) -> bool:
        return not (self.part.strip() or self.serial_out.strip() or self.serial_in.strip())


@dataclass
class RepairInput:
    """What a repair records (times aware, UTC or any zone; ``None``: not known)."""

    fault: str = ""
    diagnosis: str = ""
    work_done: str = ""
    result: str = ""
    vendor: str = ""
    vendor_case_number: str = ""
    rma_number: str = ""
    vendor_engineer: str = ""
    vendor_opened_at: datetime | None = None
    vendor_closed_at: datetime | None = None
    downtime_start: datetime | None = None
    downtime_end: datetime | None = None
    cost: Decimal | None = None
    parts: list[PartInput] = field(default_factory=list)


TEXT_FIELDS = (
    "fault",
    "diagnosis",
    "work_done",
    "result",
    "vendor",
    "vendor_case_number",
    "rma_number",
    "vendor_engineer",
)
VALUE_FIELDS = (
    "vendor_opened_at",
    "vendor_closed_at",
    "downtime_start",
    "downtime_end",
    "cost",
)


def _require_worker() -> None:
    common.require(common.WORKER_ROLES, _("Only engineers, supervisors and admins record repairs."))


def find_repair(client_id: str) -> Repair | None:
    return db.session().scalar(select(Repair).where(Repair.client_id == client_id))


def _part_errors(parts: list[PartInput]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for n, row in enumerate(parts):
        key = f"parts-{n}-"
        if row.is_empty:
            continue
        if not row.part.strip():
            errors[key + "part"] = [_("Name the part (the serials belong to it).")]
        for name, limit in PART_LENGTHS.items():
            if len(getattr(row, name).strip()) > limit:
                errors[key + name] = [_("At most %(n)s characters.", n=limit)]
        if row.quantity is None or not 1 <= row.quantity <= MAX_QUANTITY:
            errors[key + "quantity"] = [_("A quantity from 1 to %(most)s.", most=QUANTITY_TEXT)]
    return errors


def repair_errors(data: RepairInput) -> dict[str, list[str]]:
    """The field rules of a repair's own values (not its asset), keyed by field."""
    errors: dict[str, list[str]] = {}
    if not data.fault.strip():
        errors["fault"] = [_("Describe the fault.")]
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(data, name).strip()) > limit:
            errors[name] = [_("At most %(n)s characters.", n=limit)]
    start, end = data.downtime_start, data.downtime_end
    if start is not None and end is not None and end < start:
        errors["downtime_end"] = [_("The downtime cannot end before it started.")]
    opened, closed = data.vendor_opened_at, data.vendor_closed_at
    if opened is not None and closed is not None and closed < opened:
        errors["vendor_closed_at"] = [_("The vendor case cannot be closed before it was opened.")]
    if data.cost is not None:
        if data.cost < 0:
            errors["cost"] = [_("The cost cannot be negative.")]
        elif data.cost > MAX_COST:
            errors["cost"] = [_("At most %(most)s.", most=COST_TEXT)]
    errors.update(_part_errors(data.parts))
    return errors


def _asset(
    errors: dict[str, list[str]],
    asset_tag: str | None,
    asset_id: int | None,
    req: ServiceRequest | None,
) -> registry.Asset | None:
    """The asset repaired: the typed or scanned tag, else the id, else the request's asset."""
    if asset_tag is not None and asset_tag.strip():
        tag = common.tag_of(asset_tag)
        asset = registry.asset_by_tag(tag)
        if asset is None:
            errors["asset_tag"] = [_("No asset has the tag %(tag)s.", tag=tag)]
        return asset
    if asset_id is not None:
        asset = registry.get_asset(asset_id)
        if asset is None:
            errors["asset_id"] = [_("No such asset.")]
        return asset
    if req is not None and req.asset_id is not None:
        return registry.get_asset(req.asset_id)
    errors["asset_tag"] = [_("Name the asset repaired: scan its label or type its tag.")]
    return None


def _apply(repair: Repair, data: RepairInput) -> None:
    for name in TEXT_FIELDS:
        setattr(repair, name, getattr(data, name).strip())
    for name in VALUE_FIELDS:
        setattr(repair, name, getattr(data, name))
    repair.parts = [
        RepairPart(
            part=row.part.strip(),
            serial_out=row.serial_out.strip(),
            serial_in=row.serial_in.strip(),
            quantity=row.quantity or 1,
        )
        for row in data.parts
        if not row.is_empty
    ]


def record_repair(
    data: RepairInput,
    *,
    request_id: int | None = None,
    asset_tag: str | None = None,
    asset_id: int | None = None,
    client_id: str | None = None,
) -> Repair:
    """Record a repair of an asset, for the request ``request_id`` or on its own (flushes).
    The asset is ``asset_tag`` (typed or scanned), else ``asset_id``, else the request's. The
    same ``client_id`` again returns the repair it made, unchanged."""
    _require_worker()
    cid = (client_id or "").strip() or common.new_client_id()
    if not common.CLIENT_ID_RE.match(cid):
        raise ValidationFailed.one(
            "client_id", _("Expected a form id of 8–64 letters, digits, - or _.")
        )
    existing = find_repair(cid)
    if existing is not None:
        return existing
    errors = repair_errors(data)
    req = None
    if request_id is not None:
        req = db.session().get(ServiceRequest, request_id)
        if req is None:
            errors["request_id"] = [_("No such request.")]
    asset = _asset(errors, asset_tag, asset_id, req)
    if errors:
        raise ValidationFailed(errors)
    assert asset is not None
    repair = Repair(
        client_id=cid,
        request_id=req.id if req is not None else None,
        asset_id=asset.id,
        created_by=common.actor(),
        created_at=db.utcnow(),
    )
    _apply(repair, data)
    db.session().add(repair)
    db.session().flush()
    return repair


def update_repair(repair: Repair, data: RepairInput, *, asset_tag: str | None = None) -> Repair:
    """Change what a repair records; its parts become ``data.parts`` (flushes). An empty
    ``asset_tag`` keeps the asset. The signatures stay."""
    _require_worker()
    errors = repair_errors(data)
    asset = None
    if asset_tag is not None and asset_tag.strip():
        asset = _asset(errors, asset_tag, None, None)
    if errors:
        raise ValidationFailed(errors)
    if asset is not None:
        repair.asset_id = asset.id
    _apply(repair, data)
    db.session().flush()
    return repair


# --- signatures ------------------------------------------------------------------------------


def signature_png(data_url: str) -> bytes:
    """The PNG image of a drawn signature's data URL; ValueError when it is no PNG."""
    if not data_url.startswith(SIGNATURE_PREFIX):
        raise ValueError("not a PNG data URL")
    encoded = data_url.removeprefix(SIGNATURE_PREFIX)
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise ValueError("too large")
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise ValueError("not a PNG")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError("not an image") from exc
    return png


def _signature(errors: dict[str, list[str]], key: str, data_url: str) -> str:
    value = (data_url or "").strip()
    if not value:
        return ""
    try:
        signature_png(value)
    except ValueError:
        errors[key] = [_("The signature did not come through as a drawing: draw it again.")]
        return ""
    return value


def sign_repair(
    repair: Repair,
    *,
    engineer_signature: str = "",
    engineer_name: str = "",
    customer_signature: str = "",
    customer_name: str = "",
    at: datetime | None = None,
) -> Repair:
    """Put the engineer's and/or the customer's drawn signature (PNG data URLs) on the repair,
    with their names and the time (``at``, default now); a side not drawn keeps what it had.
    The engineer's name defaults to the acting account's full name; the customer's is needed."""
    _require_worker()
    errors: dict[str, list[str]] = {}
    engineer = _signature(errors, "engineer_signature", engineer_signature)
    customer = _signature(errors, "customer_signature", customer_signature)
    engineer_name = engineer_name.strip() or people.full_name(common.actor())
    customer_name = customer_name.strip()
    if len(engineer_name) > MAX_NAME:
        errors["engineer_name"] = [_("At most %(n)s characters.", n=MAX_NAME)]
    if len(customer_name) > MAX_NAME:
        errors["customer_name"] = [_("At most %(n)s characters.", n=MAX_NAME)]
    elif customer and not customer_name:
        errors["customer_name"] = [_("Write the name of the customer who signed.")]
    if not errors and not engineer and not customer:
        errors["engineer_signature"] = [
            _("Draw a signature: the engineer's, the customer's or both.")
        ]
    if errors:
        raise ValidationFailed(errors)
    now = at or db.utcnow()
    if engineer:
        repair.engineer_signature = engineer
        repair.signed_by_engineer = engineer_name
        repair.engineer_signed_at = now
    if customer:
        repair.customer_signature = customer
        repair.signed_by_customer = customer_name
        repair.customer_signed_at = now
    db.session().flush()
    return repair
