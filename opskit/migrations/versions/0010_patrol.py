"""patrol plans, rounds, answers, findings, photos

Revision ID: 0010_patrol
Revises: 0009_monitor_data
Create Date: 2026-11-26 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_patrol"
down_revision: str | None = "0009_monitor_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("checklist_keys", sa.JSON(), nullable=False),
        sa.Column("asset_kinds", sa.JSON(), nullable=False),
        sa.Column("schedule_times", sa.JSON(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["room.id"], name=op.f("fk_patrol_plan_room_id_room"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_patrol_plan_site_id_site"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_plan")),
        sa.UniqueConstraint("name", name=op.f("uq_patrol_plan_name")),
    )
    with op.batch_alter_table("patrol_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_plan_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrol_plan_site_id"), ["site_id"], unique=False)

    op.create_table(
        "patrol_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("checklist_keys", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("engineer", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signature_name", sa.String(length=128), nullable=False),
        sa.Column("signature_image", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved')",
            name=op.f("ck_patrol_round_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["user_account.id"],
            name=op.f("fk_patrol_round_engineer_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["patrol_plan.id"],
            name=op.f("fk_patrol_round_plan_id_patrol_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["room.id"], name=op.f("fk_patrol_round_room_id_room"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_round")),
        sa.UniqueConstraint("client_id", name=op.f("uq_patrol_round_client_id")),
    )
    with op.batch_alter_table("patrol_round", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patrol_round_engineer_id"), ["engineer_id"], unique=False
        )
        batch_op.create_index(
            "ix_patrol_round_plan_scheduled", ["plan_id", "scheduled_for"], unique=False
        )
        batch_op.create_index(
            "ix_patrol_round_room_scheduled", ["room_id", "scheduled_for"], unique=False
        )
        batch_op.create_index("ix_patrol_round_started_at", ["started_at"], unique=False)

    op.create_table(
        "patrol_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("checklist_key", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("monitored_value", sa.Float(), nullable=True),
        sa.Column("monitored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disagrees", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_patrol_answer_asset_id_asset"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["patrol_round.id"],
            name=op.f("fk_patrol_answer_round_id_patrol_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_answer")),
        sa.UniqueConstraint(
            "round_id",
            "target",
            "checklist_key",
            "item_key",
            name="uq_patrol_answer_round_target_item",
        ),
    )
    with op.batch_alter_table("patrol_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_answer_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(
            "ix_patrol_answer_checklist_item", ["checklist_key", "item_key"], unique=False
        )

    op.create_table(
        "patrol_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=1), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=False),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_patrol_finding_alert_id_alert"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["patrol_answer.id"],
            name=op.f("fk_patrol_finding_answer_id_patrol_answer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["patrol_round.id"],
            name=op.f("fk_patrol_finding_round_id_patrol_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_finding")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_patrol_finding_answer_id")),
    )
    with op.batch_alter_table("patrol_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_finding_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_patrol_finding_closed_at", ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrol_finding_round_id"), ["round_id"], unique=False)

    op.create_table(
        "patrol_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["patrol_answer.id"],
            name=op.f("fk_patrol_photo_answer_id_patrol_answer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["patrol_finding.id"],
            name=op.f("fk_patrol_photo_finding_id_patrol_finding"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["patrol_round.id"],
            name=op.f("fk_patrol_photo_round_id_patrol_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_photo")),
        sa.UniqueConstraint("client_id", name=op.f("uq_patrol_photo_client_id")),
    )
    with op.batch_alter_table("patrol_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_photo_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patrol_photo_finding_id"), ["finding_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patrol_photo_round_id"), ["round_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patrol_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_photo_round_id"))
        batch_op.drop_index(batch_op.f("ix_patrol_photo_finding_id"))
        batch_op.drop_index(batch_op.f("ix_patrol_photo_answer_id"))

    op.drop_table("patrol_photo")
    with op.batch_alter_table("patrol_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_finding_round_id"))
        batch_op.drop_index("ix_patrol_finding_closed_at")
        batch_op.drop_index(batch_op.f("ix_patrol_finding_alert_id"))

    op.drop_table("patrol_finding")
    with op.batch_alter_table("patrol_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_patrol_answer_checklist_item")
        batch_op.drop_index(batch_op.f("ix_patrol_answer_asset_id"))

    op.drop_table("patrol_answer")
    with op.batch_alter_table("patrol_round", schema=None) as batch_op:
        batch_op.drop_index("ix_patrol_round_started_at")
        batch_op.drop_index("ix_patrol_round_room_scheduled")
        batch_op.drop_index("ix_patrol_round_plan_scheduled")
        batch_op.drop_index(batch_op.f("ix_patrol_round_engineer_id"))

    op.drop_table("patrol_round")
    with op.batch_alter_table("patrol_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_plan_site_id"))
        batch_op.drop_index(batch_op.f("ix_patrol_plan_room_id"))

    op.drop_table("patrol_plan")
