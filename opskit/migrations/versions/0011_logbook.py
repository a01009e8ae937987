"""logbook: room access and power on/off; checklist limit overrides

Revision ID: 0011_logbook
Revises: 0010_patrol
Create Date: 2026-11-26 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_logbook"
down_revision: str | None = "0010_patrol"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklist_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('site', 'room', 'asset')", name=op.f("ck_checklist_override_scope_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_override")),
        sa.UniqueConstraint(
            "checklist", "item", "scope", "target_id", name="uq_checklist_override_target"
        ),
    )
    op.create_table(
        "access_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("escort", sa.String(length=100), nullable=False),
        sa.Column("id_number", sa.Text(), nullable=True),
        sa.Column("in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_access_entry_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["room.id"], name=op.f("fk_access_entry_room_id_room"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_entry")),
        sa.UniqueConstraint("client_token", name=op.f("uq_access_entry_client_token")),
    )
    with op.batch_alter_table("access_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_entry_in_at"), ["in_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_entry_room_id"), ["room_id"], unique=False)

    op.create_table(
        "power_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("change_ref", sa.String(length=64), nullable=False),
        sa.Column("performed_by", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('on', 'off', 'restart')", name=op.f("ck_power_event_action_known")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_power_event_asset_id_asset"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_power_event_recorded_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_event")),
        sa.UniqueConstraint("client_token", name=op.f("uq_power_event_client_token")),
    )
    with op.batch_alter_table("power_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_power_event_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_power_event_occurred_at"), ["occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("power_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_power_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_power_event_asset_id"))

    op.drop_table("power_event")
    with op.batch_alter_table("access_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_entry_room_id"))
        batch_op.drop_index(batch_op.f("ix_access_entry_in_at"))

    op.drop_table("access_entry")
    op.drop_table("checklist_override")
