"""Forms of the registry's pages, and the user-language labels of its kinds and states.

Forms check only the shape of the input (required, number, date); the rules (rack occupancy,
address inside its prefix, unique tags) live in ``assets.services`` and come back as
``ValidationFailed`` errors that the views put beside the matching field (``apply_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# SelectChoice is new in WTForms 3.3; types-WTForms (3.2) does not know it yet
from wtforms import (  # type: ignore[attr-defined]
    BooleanField,
    DateField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from assets.models import AddressStatus, AssetKind, AssetStatus, Importance, LinkSource
from assets.specs import BY_KEY, SPEC_KEYS, SpecError, parse_value

# the words of the registry's kinds and states are written once, on the enumerations
KIND_LABELS = AssetKind.labels()
STATUS_LABELS = AssetStatus.labels()
IMPORTANCE_LABELS = Importance.labels()
ADDRESS_STATUS_LABELS = AddressStatus.labels()
LINK_SOURCE_LABELS = LinkSource.labels()
WARRANTY_LABELS = {
    "expired": _l("Expired"),
    "30": _l("Ends within 30 days"),
    "90": _l("Ends within 90 days"),
    "ok": _l("Covered"),
    "unknown": _l("Unknown"),
}


def label(labels: Mapping[str, Any], value: str | None) -> str:
    """The user-language label of ``value``; an unknown value shows as itself."""
    if value is None:
        return ""
    found = labels.get(value)
    return str(found) if found is not None else value


def choices(pairs: Any) -> list[SelectChoice]:
    """Select options from (value, label) pairs or a {value: label} mapping."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [SelectChoice(str(value), text) for value, text in items]


_choices = choices


def apply_errors(
    form: FlaskForm, errors: Mapping[str, list[str]], aliases: Mapping[str, str] | None = None
) -> list[str]:
    """Put service errors beside the form's fields; return those no field can show."""
    aliases = aliases or {}
    leftover: list[str] = []
    for key, messages in errors.items():
        field = getattr(form, aliases.get(key, key), None)
        if isinstance(field, Field) and field.name != "csrf_token":
            field.errors = [*field.errors, *messages]
        else:
            leftover.extend(messages)
    return leftover


def parse_specs(text: str) -> dict[str, str]:
    """``key: value`` lines into a dict; raises ValidationError naming the bad line."""
    specs: dict[str, str] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        sep = ":" if ":" in line else ("：" if "：" in line else None)
        if sep is None:
            raise ValidationError(
                _('Line %(n)d: write "key: value", e.g. "CPU: 2x Xeon".', n=number)
            )
        key, value = line.split(sep, 1)
        if not key.strip():
            raise ValidationError(_("Line %(n)d: the key is empty.", n=number))
        specs[key.strip()] = value.strip()
    return specs


def format_specs(specs: Mapping[str, Any] | None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (specs or {}).items())


class AssetForm(FlaskForm):
    asset_tag = StringField(_l("Asset tag"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS), default="server")
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS), default="in_service")
    importance = SelectField(
        _l("Importance"), choices=_choices(IMPORTANCE_LABELS), default="general"
    )
    vendor = StringField(_l("Vendor"), validators=[Optional(), Length(max=64)])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=128)])
    serial = StringField(_l("Serial number"), validators=[Optional(), Length(max=128)])
    owner = StringField(_l("Owner"), validators=[Optional(), Length(max=64)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=128)])
    room = SelectField(_l("Room"), choices=[], validate_choice=True)
    rack = SelectField(_l("Rack"), choices=[], validate_choice=True)
    u_position = IntegerField(
        _l("U position (lowest unit)"), validators=[Optional(), NumberRange(min=1, max=60)]
    )
    u_height = IntegerField(
        _l("Height (U)"), default=1, validators=[Optional(), NumberRange(min=0, max=60)]
    )
    mgmt_ip = StringField(_l("Management IP"), validators=[Optional(), Length(max=45)])
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])
    warranty_end = DateField(_l("Warranty end"), validators=[Optional()])
    support_level = StringField(_l("Support level"), validators=[Optional(), Length(max=32)])
    # the vocabulary's specs (assets.specs), then any other as "key: value" lines
    cpu_model = StringField(BY_KEY["cpu_model"].label, validators=[Optional(), Length(max=128)])
    cpu_cores = StringField(BY_KEY["cpu_cores"].label, validators=[Optional(), Length(max=16)])
    memory_gb = StringField(BY_KEY["memory_gb"].label, validators=[Optional(), Length(max=32)])
    disks = StringField(BY_KEY["disks"].label, validators=[Optional(), Length(max=255)])
    firmware = StringField(BY_KEY["firmware"].label, validators=[Optional(), Length(max=128)])
    power_watts = StringField(BY_KEY["power_watts"].label, validators=[Optional(), Length(max=32)])
    cooling_watts = StringField(
        BY_KEY["cooling_watts"].label, validators=[Optional(), Length(max=32)]
    )
    specs = TextAreaField(
        _l("Other specifications (one “key: value” per line)"), render_kw={"rows": 3}
    )
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})
    # line details (kind = line)
    carrier = StringField(_l("Carrier"), validators=[Optional(), Length(max=64)])
    circuit_id = StringField(_l("Circuit ID"), validators=[Optional(), Length(max=64)])
    bandwidth_mbps = IntegerField(
        _l("Bandwidth (Mbit/s)"), validators=[Optional(), NumberRange(min=1)]
    )
    a_end = StringField(_l("A end"), validators=[Optional(), Length(max=255)])
    z_end = StringField(_l("Z end"), validators=[Optional(), Length(max=255)])

    LINE_FIELDS = ("carrier", "circuit_id", "bandwidth_mbps", "a_end", "z_end")

    SPEC_FIELDS = SPEC_KEYS

    def validate_specs(self, field: TextAreaField) -> None:
        parse_specs(field.data or "")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for key in self.SPEC_FIELDS:  # each read as the vocabulary reads it: "64 GB" → 64
            spec_field = getattr(self, key)
            try:
                parse_value(key, spec_field.data or "")
            except SpecError as exc:
                spec_field.errors = [*spec_field.errors, str(exc)]
                ok = False
        return ok

    def spec_values(self) -> dict[str, Any]:
        """The specs typed: the other lines, then the vocabulary's fields (a blank one drops
        that spec; the service reads the values, assets.specs.normalise)."""
        specs: dict[str, Any] = dict(parse_specs(self.specs.data or ""))
        for key in self.SPEC_FIELDS:
            value = (getattr(self, key).data or "").strip()
            if value:
                specs[key] = value
        return specs

    @classmethod
    def spec_data(cls, specs: Mapping[str, Any] | None) -> dict[str, str]:
        """Form data of stored specs: the vocabulary's in their fields, the others as lines."""
        specs = specs or {}
        data = {key: "" if specs.get(key) is None else str(specs[key]) for key in cls.SPEC_FIELDS}
        data["specs"] = format_specs({k: v for k, v in specs.items() if k not in BY_KEY})
        return data


class SiteForm(FlaskForm):
    name = StringField(_l("Site name"), validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class RoomForm(FlaskForm):
    site = SelectField(_l("Site"), choices=[], validators=[DataRequired()])
    name = StringField(_l("Room name"), validators=[DataRequired(), Length(max=100)])
    floor = StringField(_l("Floor"), validators=[Optional(), Length(max=32)])
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class RackForm(FlaskForm):
    room = SelectField(_l("Room"), choices=[], validators=[DataRequired()])
    name = StringField(_l("Rack name"), validators=[DataRequired(), Length(max=100)])
    u_height = IntegerField(
        _l("Height (U)"), default=42, validators=[DataRequired(), NumberRange(min=1, max=60)]
    )
    descending_units = BooleanField(_l("Units numbered from the top (U1 at the top)"))
    # the capacity model's power budget (assets.capacity): blank when not known
    power_a_watts = IntegerField(
        _l("Feed A rated power (W)"), validators=[Optional(), NumberRange(min=1, max=1_000_000)]
    )
    power_b_watts = IntegerField(
        _l("Feed B rated power (W, a second feed)"),
        validators=[Optional(), NumberRange(min=1, max=1_000_000)],
    )
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class PrefixForm(FlaskForm):
    cidr = StringField(
        _l("Prefix (CIDR)"),
        validators=[DataRequired(), Length(max=49)],
        render_kw={"placeholder": "10.1.20.0/24"},
    )
    vlan = IntegerField(_l("VLAN"), validators=[Optional(), NumberRange(min=1, max=4094)])
    purpose = StringField(_l("Purpose"), validators=[Optional(), Length(max=128)])
    gateway = StringField(_l("Gateway"), validators=[Optional(), Length(max=45)])
    site = SelectField(_l("Site"), choices=[])
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class AddressForm(FlaskForm):
    address = StringField(_l("IP address"), validators=[DataRequired(), Length(max=45)])
    status = SelectField(_l("Status"), choices=_choices(ADDRESS_STATUS_LABELS), default="active")
    asset = StringField(
        _l("Asset tag"),
        validators=[Optional(), Length(max=64)],
        description=_l("Leave empty for an address not assigned to a registered asset."),
    )
    interface = StringField(_l("Interface"), validators=[Optional(), Length(max=64)])
    hostname = StringField(_l("Host name"), validators=[Optional(), Length(max=128)])
    mac = StringField(_l("MAC address"), validators=[Optional(), Length(max=32)])
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class LinkForm(FlaskForm):
    a_asset = StringField(_l("Asset tag (end A)"), validators=[DataRequired(), Length(max=64)])
    a_port = StringField(_l("Port (end A)"), validators=[DataRequired(), Length(max=64)])
    b_asset = StringField(_l("Asset tag (end B)"), validators=[DataRequired(), Length(max=64)])
    b_port = StringField(_l("Port (end B)"), validators=[DataRequired(), Length(max=64)])
    medium = StringField(
        _l("Medium"),
        validators=[Optional(), Length(max=32)],
        render_kw={"placeholder": _l("e.g. Cat6, OM4 fibre")},
    )
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})


class ConfirmForm(FlaskForm):
    """A POST with only the CSRF token: the confirmation of a delete."""
