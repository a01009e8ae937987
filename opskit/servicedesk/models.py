"""The service desk's tables, over 500 lines: one module for the tables of its one migration.

Employees' requests (服务请求), their history and suspensions, spare machines lent, repairs with
vendor cases and parts, satisfaction surveys and runbooks.

- ``ServiceRequest``: one employee's request from the phone call (or a walk-in, WeChat, e-mail,
  an alert, a patrol finding) to its closing: 新建 → 已响应 → 处理中 (远程 / 现场) → 已解决 →
  已关闭, with 挂起 (suspended) while waiting on the requester or a vendor. ``client_id`` is made
  by the tablet that logs it, so a retried save is the same request. Its SLA clocks are
  computed (``opskit.servicedesk.clocks``) from the policy's request levels, never stored.
- ``RequestEvent``: every change of a request is a row (who, when, what, from and to status),
  as ``AlertEvent`` is for alerts; the SLA's warnings and breaches too (detail: the clock).
- ``RequestSuspension``: a period the request's clocks stood still, open until resumed.
- ``RequestPhoto``: a photo taken when logging or working a request (file under the instance).
- ``Loan``: a spare machine (a registry asset) lent as the temporary measure, until returned.
- ``Repair`` and ``RepairPart``: a repair record of an asset (from a request or on its own): the
  fault, the vendor case (厂商, case number, RMA), downtime, cost, parts swapped (serial out/in),
  and the signatures of the engineer and the customer drawn on the tablet (PNG data URLs).
- ``Survey``: the satisfaction survey of a closed request, answered once through a signed,
  expiring link (the row holds its nonce) or on the engineer's tablet.
- ``Runbook`` and ``RunbookVersion``: a recovery procedure (故障恢复流程及应急措施) in Markdown for
  an asset kind, a system or one asset, every edit a new version.

A deleted registry asset takes its repairs and loans with it (retire it to keep its history).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assets.queries import LabeledEnum
from opskit.clock import site_tz
from opskit.db import Base, utcnow
from opskit.models import Audited


class Channel(LabeledEnum):
    """How the request reached the engineer (报修渠道)."""

    PHONE = "phone", _l("Phone")
    WALK_IN = "walk_in", _l("Walk-in")
    WECHAT = "wechat", _l("WeChat / WeCom")
    EMAIL = "email", _l("E-mail")
    ALERT = "alert", _l("Monitoring alert")
    PATROL = "patrol", _l("Patrol finding")


class Status(LabeledEnum):
    NEW = "new", _l("New")
    RESPONDED = "responded", _l("Responded")
    IN_PROGRESS = "in_progress", _l("Being handled")
    SUSPENDED = "suspended", _l("Suspended")
    RESOLVED = "resolved", _l("Resolved")
    CLOSED = "closed", _l("Closed")


#: statuses of a request still being worked (its clocks may run)
OPEN_STATUSES = (
    Status.NEW.value,
    Status.RESPONDED.value,
    Status.IN_PROGRESS.value,
    Status.SUSPENDED.value,
)


class Urgency(LabeledEnum):
    """The contract's urgencies (紧急程度)."""

    A = "A", _l("A · system unusable")
    B = "B", _l("B · seriously damaged")
    C = "C", _l("C · minor")


class WorkMode(LabeledEnum):
    REMOTE = "remote", _l("Remote")
    ONSITE = "onsite", _l("On-site work")


class OnsiteHow(LabeledEnum):
    """What the engineer scanned on arrival."""

    ASSET = "asset", _l("The asset's label")
    ROOM = "room", _l("A label in its room")
    ANY = "any", _l("A label on site")


class CloseHow(LabeledEnum):
    CONFIRMED = "confirmed", _l("Confirmed by the requester")
    AUTO = "auto", _l("Closed automatically")


class SuspendReason(LabeledEnum):
    WAITING_REQUESTER = "waiting_requester", _l("Waiting for the requester")
    WAITING_VENDOR = "waiting_vendor", _l("Waiting for the vendor")


class EventKind(LabeledEnum):
    OPENED = "opened", _l("Logged")
    RESPONDED = "responded", _l("Responded")
    WORK_STARTED = "work_started", _l("Work started")
    ONSITE = "onsite", _l("Arrived on site")
    SUSPENDED = "suspended", _l("Suspended")
    RESUMED = "resumed", _l("Resumed")
    RESOLVED = "resolved", _l("Resolved")
    CLOSED = "closed", _l("Closed")
    REOPENED = "reopened", _l("Reopened")
    ASSIGNED = "assigned", _l("Assigned")
    TEMPORARY_MEASURE = "temporary_measure", _l("Temporary measure")
    LOAN_RETURNED = "loan_returned", _l("Spare machine returned")
    SLA_WARNING = "sla_warning", _l("SLA about to run out")
    SLA_BREACHED = "sla_breached", _l("SLA overdue")


class RunbookScope(LabeledEnum):
    ASSET_KIND = "asset_kind", _l("Asset kind")
    SYSTEM = "system", _l("System")
    ASSET = "asset", _l("Single asset")


def _in(values: type[enum.Enum]) -> str:
    return ", ".join(f"'{m.value}'" for m in values)


class ServiceRequest(Base):
    """One employee's request (服务请求 / 工单), from the call to its closing."""

    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(f"urgency IN ({_in(Urgency)})", name="urgency_known"),
        CheckConstraint(f"status IN ({_in(Status)})", name="status_known"),
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel_known"),
        CheckConstraint(
            f"work_mode IS NULL OR work_mode IN ({_in(WorkMode)})", name="work_mode_known"
        ),
        CheckConstraint(
            f"onsite_how IS NULL OR onsite_how IN ({_in(OnsiteHow)})", name="onsite_how_known"
        ),
        CheckConstraint(
            f"closed_how IS NULL OR closed_how IN ({_in(CloseHow)})", name="closed_how_known"
        ),
        Index("ix_service_request_status_urgency", "status", "urgency"),
        Index("ix_service_request_raised_at", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: made by the tablet (or the server when none is given): a retried save is one request
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    requester_name: Mapped[str] = mapped_column(String(128), default="")
    requester_department: Mapped[str] = mapped_column(String(128), default="")
    requester_phone: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(16))
    #: a key of ``categories.yaml``
    category: Mapped[str] = mapped_column(String(32))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("room.id", ondelete="SET NULL"), index=True
    )
    urgency: Mapped[str] = mapped_column(String(1))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW.value)
    work_mode: Mapped[str | None] = mapped_column(String(8))

    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    responded_by: Mapped[str | None] = mapped_column(String(128))
    #: the first start of remote work (远程拨入): it answers the on-site clock without a visit
    remote_at: Mapped[datetime | None]
    onsite_at: Mapped[datetime | None]
    onsite_by: Mapped[str | None] = mapped_column(String(128))
    onsite_how: Mapped[str | None] = mapped_column(String(8))
    onsite_tag: Mapped[str | None] = mapped_column(String(64))  # the asset tag scanned
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    cause: Mapped[str] = mapped_column(Text, default="")
    work_done: Mapped[str] = mapped_column(Text, default="")
    parts_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(128))
    closed_how: Mapped[str | None] = mapped_column(String(16))
    #: 临时应急措施: what was put in place when the fault could not be fixed in time
    temporary_measure: Mapped[str] = mapped_column(Text, default="")
    temporary_measure_at: Mapped[datetime | None]
    temporary_measure_by: Mapped[str | None] = mapped_column(String(128))

    assigned_to: Mapped[str | None] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert.id", ondelete="SET NULL"), index=True
    )
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrol_finding.id", ondelete="SET NULL"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    #: the vulnerability finding (inspections.vulns) this request fixes; no foreign key: the
    #: finding's row names its request (``vuln_finding.request_id``), and a key both ways
    #: would be a cycle between the two tables
    vuln_finding_id: Mapped[int | None] = mapped_column(index=True)

    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )
    suspensions: Mapped[list[RequestSuspension]] = relationship(
        back_populates="request", order_by="RequestSuspension.id", cascade="all, delete-orphan"
    )
    loans: Mapped[list[Loan]] = relationship(
        back_populates="request", order_by="Loan.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        """SR-<year of the request, site time>-<id, 4 digits>: SR-2026-0042."""
        return f"SR-{self.raised_at.astimezone(site_tz()):%Y}-{self.id:04d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RequestEvent(Base):
    """A change of a request: who, when, what (``kind``), and its status before and after."""

    __tablename__ = "request_event"
    __table_args__ = (Index("ix_request_event_request_at", "request_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    #: what a person wrote (a cause, why it was reopened …)
    note: Mapped[str] = mapped_column(Text, default="")
    #: the key the pages put in words: the clock of an SLA event, a suspension's reason, the
    #: work mode, how it was closed, the tag scanned, the user assigned, the spare lent
    detail: Mapped[str] = mapped_column(String(64), default="")
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))

    request: Mapped[ServiceRequest] = relationship(back_populates="events")


class RequestSuspension(Base):
    """挂起: the request's clocks stand still from ``started_at`` until ``ended_at``."""

    __tablename__ = "request_suspension"
    __table_args__ = (
        CheckConstraint(f"reason IN ({_in(SuspendReason)})", name="reason_known"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        # one open suspension per request: the database holds it
        Index(
            "uq_request_suspension_open",
            "request_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    #: the status the request goes back to when resumed
    status_before: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(128), default="")

    request: Mapped[ServiceRequest] = relationship(back_populates="suspensions")


class RequestPhoto(Base):
    """A photo of a request; the file lives under ``<instance>/request-photos``."""

    __tablename__ = "request_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)  # idempotent uploads
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(128), default="")


class Loan(Audited, Base):
    """A spare machine (a registry asset) lent as a request's temporary measure."""

    __tablename__ = "loan"
    __table_args__ = (
        CheckConstraint(
            "returned_at IS NULL OR returned_at >= lent_at", name="returned_after_lent"
        ),
        # a spare is lent to one request at a time
        Index(
            "uq_loan_open_asset",
            "asset_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    lent_at: Mapped[datetime] = mapped_column(default=utcnow)
    lent_by: Mapped[str] = mapped_column(String(128), default="")
    returned_at: Mapped[datetime | None]
    returned_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[ServiceRequest] = relationship(back_populates="loans")

    @property
    def is_out(self) -> bool:
        return self.returned_at is None

    @property
    def audit_label(self) -> str:
        return f"loan {self.id}"


class Repair(Audited, Base):
    """A repair of an asset (维修记录), for a request or on its own, with its vendor case."""

    __tablename__ = "repair"
    __table_args__ = (
        CheckConstraint(
            "downtime_end IS NULL OR downtime_start IS NULL OR downtime_end >= downtime_start",
            name="downtime_ends_after_start",
        ),
        CheckConstraint(
            "vendor_closed_at IS NULL OR vendor_opened_at IS NULL "
            "OR vendor_closed_at >= vendor_opened_at",
            name="vendor_closed_after_opened",
        ),
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)  # the form's: one per save
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    fault: Mapped[str] = mapped_column(Text, default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    work_done: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str] = mapped_column(String(128), default="")
    vendor_case_number: Mapped[str] = mapped_column(String(64), default="")
    rma_number: Mapped[str] = mapped_column(String(64), default="")
    vendor_engineer: Mapped[str] = mapped_column(String(128), default="")
    vendor_opened_at: Mapped[datetime | None]
    vendor_closed_at: Mapped[datetime | None]
    downtime_start: Mapped[datetime | None]
    downtime_end: Mapped[datetime | None]
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    result: Mapped[str] = mapped_column(Text, default="")
    #: drawn on the tablet: PNG data URLs, as the patrol round's signature
    engineer_signature: Mapped[str] = mapped_column(Text, default="", info={"audit": False})
    customer_signature: Mapped[str] = mapped_column(Text, default="", info={"audit": False})
    signed_by_engineer: Mapped[str] = mapped_column(String(128), default="")
    engineer_signed_at: Mapped[datetime | None]
    signed_by_customer: Mapped[str] = mapped_column(String(128), default="")
    customer_signed_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parts: Mapped[list[RepairPart]] = relationship(
        back_populates="repair", order_by="RepairPart.id", cascade="all, delete-orphan"
    )

    @property
    def audit_label(self) -> str:
        return f"repair {self.id}"


class RepairPart(Base):
    """A part swapped in a repair: what, the serial taken out and the one put in."""

    __tablename__ = "repair_part"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repair.id", ondelete="CASCADE"), index=True)
    part: Mapped[str] = mapped_column(String(200))
    serial_out: Mapped[str] = mapped_column(String(128), default="")
    serial_in: Mapped[str] = mapped_column(String(128), default="")
    quantity: Mapped[int] = mapped_column(default=1)

    repair: Mapped[Repair] = relationship(back_populates="parts")


class Survey(Base):
    """满意度调研 of one request: a score 1-5 and a comment, answered once before it expires."""

    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("via IS NULL OR via IN ('tablet', 'link')", name="via_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), unique=True
    )
    #: the random part of the signed link; a link naming another nonce is refused
    token_nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    score: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    via: Mapped[str | None] = mapped_column(String(8))


class Runbook(Audited, Base):
    """故障恢复流程及应急措施 for an asset kind, a named system or one asset."""

    __tablename__ = "runbook"
    __table_args__ = (
        CheckConstraint(f"scope IN ({_in(RunbookScope)})", name="scope_known"),
        CheckConstraint(
            "scope != 'asset_kind' OR asset_kind IS NOT NULL", name="asset_kind_scope_named"
        ),
        CheckConstraint("scope != 'system' OR system_name != ''", name="system_scope_named"),
        CheckConstraint("current_version >= 0", name="current_version_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    asset_kind: Mapped[str | None] = mapped_column(String(16), index=True)
    system_name: Mapped[str] = mapped_column(String(128), default="")
    #: a runbook of one asset; emptied when the asset is deleted (its text is kept)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    #: the version shown (0: only drafts so far)
    current_version: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[RunbookVersion]] = relationship(
        back_populates="runbook", order_by="RunbookVersion.version", cascade="all, delete-orphan"
    )

    @property
    def audit_label(self) -> str:
        return self.title


class RunbookVersion(Base):
    """One version of a runbook's Markdown body, kept forever."""

    __tablename__ = "runbook_version"
    __table_args__ = (
        UniqueConstraint("runbook_id", "version", name="uq_runbook_version_runbook_id_version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    runbook_id: Mapped[int] = mapped_column(ForeignKey("runbook.id", ondelete="CASCADE"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the resolved request this version was drafted from
    source_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL"), index=True
    )

    runbook: Mapped[Runbook] = relationship(back_populates="versions")
