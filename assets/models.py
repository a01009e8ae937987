"""The registry: where everything is and what it is.

Site → Room → Rack (height in U) → Asset, plus IP prefixes and addresses, links between asset
ports, and communication lines. Invariants live in named database constraints where a database
can hold them (one asset per rack unit, one address per row, one link per port end) and in
``assets.services`` where they need arithmetic (inside the rack, inside the prefix).
"""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime
from importlib import resources
from typing import Any

from babel import support
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.db import Base, utcnow
from opskit.models import Audited

ZH_CATALOG = "zh_Hans_CN"  # the catalog whose words the Excel workbook uses


class LabeledEnum(enum.StrEnum):
    """A registry enumeration whose members carry their word, written once, here.

    Each member is ``KEY = "stored value", _l("English label")``: pages show the label in the
    user's language (``labels()``), and its Simplified Chinese translation in the catalog is the
    word of the Excel workbook, whatever the user's language (``zh_labels()``).
    """

    label: LazyString

    def __new__(cls, value: str, label: LazyString) -> LabeledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, LazyString]:
        """Stored value → label in the user's language (lazy: translated when shown)."""
        return {member.value: member.label for member in cls}

    @classmethod
    def zh_labels(cls) -> dict[str, str]:
        """Stored value → the Chinese word (the catalog's translation of the label)."""
        return _zh_words(cls)

    @property
    def zh(self) -> str:
        return self.zh_labels()[self.value]


@functools.cache
def _zh_catalog() -> support.NullTranslations:
    folder = resources.files("opskit").joinpath("translations")
    return support.Translations.load(str(folder), [ZH_CATALOG])


@functools.cache
def _zh_words(enum_cls: type[LabeledEnum]) -> dict[str, str]:
    catalog = _zh_catalog()
    # the label's msgid: lazy_gettext keeps its arguments
    return {member.value: catalog.gettext(member.label._args[0]) for member in enum_cls}


class AssetKind(LabeledEnum):
    SERVER = "server", _l("Server")
    SWITCH = "switch", _l("Switch")
    ROUTER = "router", _l("Router")
    FIREWALL = "firewall", _l("Firewall")
    STORAGE = "storage", _l("Storage")
    UPS = "ups", _l("UPS")
    PRECISION_AC = "precision_ac", _l("Precision air conditioner")
    PDU = "pdu", _l("PDU")
    SENSOR = "sensor", _l("Environment sensor")
    KVM = "kvm", _l("KVM / console")
    LINE = "line", _l("Communication line")
    OTHER = "other", _l("Other")


class AssetStatus(LabeledEnum):
    IN_SERVICE = "in_service", _l("In service")
    SPARE = "spare", _l("Spare")
    REPAIR = "repair", _l("In repair")
    RETIRED = "retired", _l("Retired")


class Importance(LabeledEnum):
    CORE = "core", _l("Core")
    IMPORTANT = "important", _l("Important")
    GENERAL = "general", _l("General")


class AddressStatus(LabeledEnum):
    ACTIVE = "active", _l("In use")
    RESERVED = "reserved", _l("Reserved")
    DHCP = "dhcp", _l("DHCP")
    FREE = "free", _l("Free")


class ReservationStatus(LabeledEnum):
    RESERVED = "reserved", _l("Reserved")
    INSTALLED = "installed", _l("Installed")
    RELEASED = "released", _l("Released")


class LinkSource(LabeledEnum):
    MANUAL = "manual", _l("Registered")
    DISCOVERED = "discovered", _l("Discovered")


def _in(values: type[enum.Enum]) -> str:
    return ", ".join(f"'{m.value}'" for m in values)


class Site(Audited, Base):
    """A customer site (a building or campus) with one or more machine rooms."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    rooms: Mapped[list[Room]] = relationship(back_populates="site", order_by="Room.name")

    @property
    def audit_label(self) -> str:
        return self.name


class Room(Audited, Base):
    """A machine room (机房) inside a site."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_room_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    floor: Mapped[str] = mapped_column(String(32), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    site: Mapped[Site] = relationship(back_populates="rooms")
    racks: Mapped[list[Rack]] = relationship(back_populates="room", order_by="Rack.name")

    @property
    def audit_label(self) -> str:
        return self.name


class Rack(Audited, Base):
    """A rack (机柜) of ``u_height`` units, numbered bottom-up unless ``descending_units``, with
    the rated power of its feeds (A, and B for a rack fed twice)."""

    __tablename__ = "rack"
    __table_args__ = (
        UniqueConstraint("room_id", "name", name="uq_rack_room_name"),
        CheckConstraint("u_height BETWEEN 1 AND 60", name="u_height_range"),
        CheckConstraint(
            "(power_a_watts IS NULL OR power_a_watts > 0)"
            " AND (power_b_watts IS NULL OR power_b_watts > 0)",
            name="power_positive",
        ),
        CheckConstraint(
            "power_b_watts IS NULL OR power_a_watts IS NOT NULL", name="power_b_needs_a"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    u_height: Mapped[int] = mapped_column(default=42)
    descending_units: Mapped[bool] = mapped_column(default=False)
    #: rated watts of feed A and feed B (one feed: A only; None: not known)
    power_a_watts: Mapped[int | None]
    power_b_watts: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")

    room: Mapped[Room] = relationship(back_populates="racks")
    assets: Mapped[list[Asset]] = relationship(back_populates="rack")

    @property
    def audit_label(self) -> str:
        return self.name


class Asset(Audited, Base):
    """One registered thing: server, switch, UPS, air conditioner, sensor, line ...

    Location is a room, optionally a rack in that room with a U position (the lowest unit it
    occupies) and a height in U (0U for vertical PDUs and the like, which occupy no unit).
    """

    __tablename__ = "asset"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(AssetKind)})", name="kind_known"),
        CheckConstraint(f"status IN ({_in(AssetStatus)})", name="status_known"),
        CheckConstraint(f"importance IN ({_in(Importance)})", name="importance_known"),
        CheckConstraint("u_height BETWEEN 0 AND 60", name="u_height_range"),
        CheckConstraint("u_position IS NULL OR u_position >= 1", name="u_position_positive"),
        CheckConstraint("u_position IS NULL OR rack_id IS NOT NULL", name="u_position_needs_rack"),
        Index("ix_asset_kind_status", "kind", "status"),
        Index("ix_asset_warranty_end", "warranty_end"),
        Index("ix_asset_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_tag: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(128), default="")
    serial: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default=AssetStatus.IN_SERVICE.value)
    importance: Mapped[str] = mapped_column(String(16), default=Importance.GENERAL.value)
    owner: Mapped[str] = mapped_column(String(64), default="")
    contact: Mapped[str] = mapped_column(String(128), default="")
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("room.id", ondelete="RESTRICT"), index=True
    )
    rack_id: Mapped[int | None] = mapped_column(
        ForeignKey("rack.id", ondelete="RESTRICT"), index=True
    )
    u_position: Mapped[int | None]
    u_height: Mapped[int] = mapped_column(default=1)
    mgmt_ip: Mapped[str | None] = mapped_column(String(45), index=True)
    purchase_date: Mapped[date | None]
    warranty_end: Mapped[date | None]
    support_level: Mapped[str] = mapped_column(String(32), default="")
    specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, info={"audit": False})
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, info={"audit": False}
    )

    room: Mapped[Room | None] = relationship()
    rack: Mapped[Rack | None] = relationship(back_populates="assets")
    units: Mapped[list[RackUnit]] = relationship(
        back_populates="asset", cascade="all, delete-orphan"
    )
    line: Mapped[CommunicationLine | None] = relationship(
        back_populates="asset", cascade="all, delete-orphan"
    )

    @property
    def audit_label(self) -> str:
        return f"{self.asset_tag} {self.name}"

    @property
    def occupied_units(self) -> range:
        """The units this asset takes in its rack (none for 0U or an unknown position)."""
        if self.rack is None or self.u_position is None:
            return range(0)
        return range(self.u_position, self.u_position + self.u_height)


class RackUnit(Base):
    """One occupied rack unit. The unique constraint is the rule "one asset per unit"."""

    __tablename__ = "rack_unit"
    __table_args__ = (UniqueConstraint("rack_id", "unit", name="uq_rack_unit_rack_id_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rack_id: Mapped[int] = mapped_column(ForeignKey("rack.id", ondelete="CASCADE"))
    unit: Mapped[int]
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)

    asset: Mapped[Asset] = relationship(back_populates="units")


class CommunicationLine(Audited, Base):
    """The carrier details of an asset of kind ``line`` (专线): circuit, bandwidth, both ends."""

    __tablename__ = "communication_line"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    carrier: Mapped[str] = mapped_column(String(64), default="")
    circuit_id: Mapped[str] = mapped_column(String(64), unique=True)
    bandwidth_mbps: Mapped[int | None]
    a_end: Mapped[str] = mapped_column(String(255), default="")
    z_end: Mapped[str] = mapped_column(String(255), default="")

    asset: Mapped[Asset] = relationship(back_populates="line")

    @property
    def audit_label(self) -> str:
        return self.circuit_id


class Prefix(Audited, Base):
    """An IP network (IPv4 or IPv6) in CIDR form, e.g. 10.1.20.0/24, with VLAN and purpose."""

    __tablename__ = "ip_prefix"
    __table_args__ = (
        CheckConstraint("family IN (4, 6)", name="family_known"),
        CheckConstraint("vlan IS NULL OR vlan BETWEEN 1 AND 4094", name="vlan_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cidr: Mapped[str] = mapped_column(String(49), unique=True)
    family: Mapped[int]
    #: Sortable form of the network address: 32 hex digits (IPv4 mapped into IPv6 space).
    sort_key: Mapped[str] = mapped_column(String(32), index=True)
    prefix_length: Mapped[int]
    vlan: Mapped[int | None]
    purpose: Mapped[str] = mapped_column(String(128), default="")
    gateway: Mapped[str | None] = mapped_column(String(45))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")

    site: Mapped[Site | None] = relationship()
    addresses: Mapped[list[IPAddress]] = relationship(back_populates="prefix")

    @property
    def audit_label(self) -> str:
        return self.cidr


class IPAddress(Audited, Base):
    """One registered IP address, inside the most specific registered prefix containing it."""

    __tablename__ = "ip_address"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(AddressStatus)})", name="status_known"),
        Index("ix_ip_address_prefix_sort", "prefix_id", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(45), unique=True)
    family: Mapped[int]
    sort_key: Mapped[str] = mapped_column(String(32), index=True)
    prefix_id: Mapped[int] = mapped_column(ForeignKey("ip_prefix.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=AddressStatus.ACTIVE.value)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    interface: Mapped[str] = mapped_column(String(64), default="")
    hostname: Mapped[str] = mapped_column(String(128), default="")
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")

    prefix: Mapped[Prefix] = relationship(back_populates="addresses")
    asset: Mapped[Asset | None] = relationship()

    @property
    def audit_label(self) -> str:
        return self.address


class Link(Audited, Base):
    """A cable or connection between two asset ports, registered by hand or discovered (LLDP).

    Ends are stored in a canonical order (the smaller (asset id, port) is end A) so a link is
    one row whichever way it was entered; each end is unique, so a port has at most one link.
    """

    __tablename__ = "link"
    __table_args__ = (
        UniqueConstraint("a_asset_id", "a_port", name="uq_link_a_end"),
        UniqueConstraint("b_asset_id", "b_port", name="uq_link_b_end"),
        CheckConstraint(f"source IN ({_in(LinkSource)})", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    a_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    a_port: Mapped[str] = mapped_column(String(64))
    b_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    b_port: Mapped[str] = mapped_column(String(64))
    medium: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(String(16), default=LinkSource.MANUAL.value)
    notes: Mapped[str] = mapped_column(Text, default="")

    a_asset: Mapped[Asset] = relationship(foreign_keys=[a_asset_id])
    b_asset: Mapped[Asset] = relationship(foreign_keys=[b_asset_id])

    @property
    def audit_label(self) -> str:
        return f"{self.a_port} ↔ {self.b_port}"


class Reservation(Base):
    """A plan accepted (``assets.reservations``): the rack units, switch ports and addresses it
    holds (预留) for its owner until ``expires_at``. Each unit, port and address is one row with
    a unique constraint, so two plans can never hold the same one: of two accepted at once,
    the database lets exactly one in. Released (or expired) holds are deleted, the reservation
    row stays as the record."""

    __tablename__ = "reservation"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ReservationStatus)})", name="status_known"),
        Index("ix_reservation_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.RESERVED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    #: the accepted candidate's placements, as ``assets.plan.fit`` answered them
    placements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ReservedUnit(Base):
    """One rack unit a reservation holds; unique per rack unit."""

    __tablename__ = "reserved_unit"
    __table_args__ = (UniqueConstraint("rack_id", "unit", name="uq_reserved_unit_rack_id_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservation.id", ondelete="CASCADE"), index=True
    )
    rack_id: Mapped[int] = mapped_column(ForeignKey("rack.id", ondelete="CASCADE"))
    unit: Mapped[int]
    device: Mapped[str] = mapped_column(String(128), default="")


class ReservedPort(Base):
    """One switch port a reservation holds; unique per port."""

    __tablename__ = "reserved_port"
    __table_args__ = (UniqueConstraint("asset_id", "port", name="uq_reserved_port_asset_id_port"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservation.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    port: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(128), default="")


class ReservedAddress(Base):
    """One address a reservation holds in a prefix; unique per address."""

    __tablename__ = "reserved_address"
    __table_args__ = (UniqueConstraint("address", name="uq_reserved_address_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservation.id", ondelete="CASCADE"), index=True
    )
    prefix_id: Mapped[int] = mapped_column(ForeignKey("ip_prefix.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(45))
    device: Mapped[str] = mapped_column(String(128), default="")
