"""Moves and rebuilds (搬迁): a move plan lists assets from → to (rack and U, optionally switch
ports and addresses), carried out one step per asset on the tablet (``assets.services.moves``
writes the registry; ``inspections.moves`` adds the logbook and the alerts' maintenance).

A step goes pending → powered off (the asset is switched off and its alerts are in
maintenance) → done (placed in its new units and powered on), or, while still pending, is
skipped (the asset stays where it is; who, when and why kept on the step). At most one step
of a plan is powered off at a time. The steps stay as each asset's move history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assets.models import Asset, LabeledEnum, Rack, Site
from opskit.db import Base, utcnow
from opskit.models import Audited


class MoveState(LabeledEnum):
    DRAFT = "draft", _l("Draft")
    IN_PROGRESS = "in_progress", _l("In progress")
    PAUSED = "paused", _l("Paused")
    DONE = "done", _l("Done")
    CANCELLED = "cancelled", _l("Cancelled")


class StepState(LabeledEnum):
    PENDING = "pending", _l("Pending")
    POWERED_OFF = "powered_off", _l("Powered off")
    DONE = "done", _l("Moved")
    SKIPPED = "skipped", _l("Skipped")


def _in(enum_cls: type[LabeledEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)


class MovePlan(Audited, Base):
    """A move (搬迁): its steps, who owns it, and where it stands."""

    __tablename__ = "move_plan"
    __table_args__ = (CheckConstraint(f"state IN ({_in(MoveState)})", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    owner: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default=MoveState.DRAFT.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: the creating form's random id: a retried submission finds this plan
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    site: Mapped[Site | None] = relationship()
    steps: Mapped[list[MoveStep]] = relationship(
        back_populates="plan", order_by="MoveStep.position", cascade="all, delete-orphan"
    )

    @property
    def audit_label(self) -> str:
        return self.name

    @property
    def done_count(self) -> int:
        """Steps finished (moved or skipped)."""
        finished = (StepState.DONE.value, StepState.SKIPPED.value)
        return sum(1 for step in self.steps if step.state in finished)


class MoveStep(Audited, Base):
    """One asset's move: from its rack/U to ``to_rack``/``to_u``; ``ports``: links moved
    (``{"port", "from_switch", "from_port", "to_switch", "to_port"}``: the asset's ``port``
    re-cabled from a switch port to another); ``addresses``: ``{"from", "to"}`` management
    address changes. ``skip_reason``: why it was skipped. ``maintenance_id``: the alerts'
    maintenance window while powered off."""

    __tablename__ = "move_step"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(StepState)})", name="state_known"),
        UniqueConstraint("plan_id", "asset_id"),
        UniqueConstraint("plan_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("move_plan.id", ondelete="CASCADE"))
    position: Mapped[int]
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    from_rack_id: Mapped[int | None] = mapped_column(ForeignKey("rack.id", ondelete="SET NULL"))
    from_u: Mapped[int | None]
    to_rack_id: Mapped[int] = mapped_column(ForeignKey("rack.id", ondelete="RESTRICT"))
    to_u: Mapped[int]
    ports: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=StepState.PENDING.value)
    powered_off_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str] = mapped_column(String(128), default="")
    #: why the step was skipped (required then; ``done_by``/``done_at``: who skipped it, when)
    skip_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    maintenance_id: Mapped[int | None]

    plan: Mapped[MovePlan] = relationship(back_populates="steps")
    asset: Mapped[Asset] = relationship()
    from_rack: Mapped[Rack | None] = relationship(foreign_keys=[from_rack_id])
    to_rack: Mapped[Rack] = relationship(foreign_keys=[to_rack_id])

    @property
    def audit_label(self) -> str:
        return f"{self.plan_id}#{self.position}"
