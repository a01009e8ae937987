"""servicedesk: service requests with their events, suspensions and photos, spare machines
lent, repairs with parts, satisfaction surveys and versioned runbooks (issue #15)

Revision ID: 0015_servicedesk
Revises: 0014_user_session
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_servicedesk"
down_revision: str | None = "0014_user_session"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runbook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("asset_kind", sa.String(length=16), nullable=True),
        sa.Column("system_name", sa.String(length=128), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope != 'asset_kind' OR asset_kind IS NOT NULL",
            name=op.f("ck_runbook_asset_kind_scope_named"),
        ),
        sa.CheckConstraint(
            "scope != 'system' OR system_name != ''", name=op.f("ck_runbook_system_scope_named")
        ),
        sa.CheckConstraint(
            "scope IN ('asset_kind', 'system', 'asset')", name=op.f("ck_runbook_scope_known")
        ),
        sa.CheckConstraint(
            "current_version >= 0", name=op.f("ck_runbook_current_version_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_runbook_asset_id_asset"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook")),
    )
    op.create_index(op.f("ix_runbook_asset_id"), "runbook", ["asset_id"], unique=False)
    op.create_index(op.f("ix_runbook_asset_kind"), "runbook", ["asset_kind"], unique=False)
    op.create_table(
        "service_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("requester_name", sa.String(length=128), nullable=False),
        sa.Column("requester_department", sa.String(length=128), nullable=False),
        sa.Column("requester_phone", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("urgency", sa.String(length=1), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("work_mode", sa.String(length=8), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.String(length=128), nullable=True),
        sa.Column("remote_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("onsite_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("onsite_by", sa.String(length=128), nullable=True),
        sa.Column("onsite_how", sa.String(length=8), nullable=True),
        sa.Column("onsite_tag", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("parts_note", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("closed_how", sa.String(length=16), nullable=True),
        sa.Column("temporary_measure", sa.Text(), nullable=False),
        sa.Column("temporary_measure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("temporary_measure_by", sa.String(length=128), nullable=True),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('phone', 'walk_in', 'wechat', 'email', 'alert', 'patrol')",
            name=op.f("ck_service_request_channel_known"),
        ),
        sa.CheckConstraint(
            "closed_how IS NULL OR closed_how IN ('confirmed', 'auto')",
            name=op.f("ck_service_request_closed_how_known"),
        ),
        sa.CheckConstraint(
            "onsite_how IS NULL OR onsite_how IN ('asset', 'room', 'any')",
            name=op.f("ck_service_request_onsite_how_known"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'responded', 'in_progress', 'suspended', 'resolved', 'closed')",
            name=op.f("ck_service_request_status_known"),
        ),
        sa.CheckConstraint(
            "urgency IN ('A', 'B', 'C')", name=op.f("ck_service_request_urgency_known")
        ),
        sa.CheckConstraint(
            "work_mode IS NULL OR work_mode IN ('remote', 'onsite')",
            name=op.f("ck_service_request_work_mode_known"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_service_request_alert_id_alert"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_service_request_asset_id_asset"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["patrol_finding.id"],
            name=op.f("fk_service_request_finding_id_patrol_finding"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_service_request_incident_id_incident"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["room.id"],
            name=op.f("fk_service_request_room_id_room"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request")),
        sa.UniqueConstraint("client_id", name=op.f("uq_service_request_client_id")),
    )
    op.create_index(
        op.f("ix_service_request_alert_id"), "service_request", ["alert_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_request_asset_id"), "service_request", ["asset_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_request_assigned_to"), "service_request", ["assigned_to"], unique=False
    )
    op.create_index(
        op.f("ix_service_request_finding_id"), "service_request", ["finding_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_request_incident_id"), "service_request", ["incident_id"], unique=False
    )
    op.create_index("ix_service_request_raised_at", "service_request", ["raised_at"], unique=False)
    op.create_index(
        op.f("ix_service_request_room_id"), "service_request", ["room_id"], unique=False
    )
    op.create_index(
        "ix_service_request_status_urgency", "service_request", ["status", "urgency"], unique=False
    )
    op.create_table(
        "loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("lent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lent_by", sa.String(length=128), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "returned_at IS NULL OR returned_at >= lent_at",
            name=op.f("ck_loan_returned_after_lent"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_loan_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_loan_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan")),
    )
    op.create_index(op.f("ix_loan_asset_id"), "loan", ["asset_id"], unique=False)
    op.create_index(op.f("ix_loan_request_id"), "loan", ["request_id"], unique=False)
    op.create_index(
        "uq_loan_open_asset",
        "loan",
        ["asset_id"],
        unique=True,
        sqlite_where=sa.text("returned_at IS NULL"),
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.create_table(
        "repair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("vendor", sa.String(length=128), nullable=False),
        sa.Column("vendor_case_number", sa.String(length=64), nullable=False),
        sa.Column("rma_number", sa.String(length=64), nullable=False),
        sa.Column("vendor_engineer", sa.String(length=128), nullable=False),
        sa.Column("vendor_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("vendor_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downtime_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downtime_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("engineer_signature", sa.Text(), nullable=False),
        sa.Column("customer_signature", sa.Text(), nullable=False),
        sa.Column("signed_by_engineer", sa.String(length=128), nullable=False),
        sa.Column("engineer_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_customer", sa.String(length=128), nullable=False),
        sa.Column("customer_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name=op.f("ck_repair_cost_not_negative")),
        sa.CheckConstraint(
            "downtime_end IS NULL OR downtime_start IS NULL OR downtime_end >= downtime_start",
            name=op.f("ck_repair_downtime_ends_after_start"),
        ),
        sa.CheckConstraint(
            "vendor_closed_at IS NULL OR vendor_opened_at IS NULL OR vendor_closed_at >= vendor_opened_at",
            name=op.f("ck_repair_vendor_closed_after_opened"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_repair_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_repair_request_id_service_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair")),
        sa.UniqueConstraint("client_id", name=op.f("uq_repair_client_id")),
    )
    op.create_index(op.f("ix_repair_asset_id"), "repair", ["asset_id"], unique=False)
    op.create_index(op.f("ix_repair_request_id"), "repair", ["request_id"], unique=False)
    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_event_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    op.create_index(
        "ix_request_event_request_at", "request_event", ["request_id", "at"], unique=False
    )
    op.create_table(
        "request_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_photo_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photo")),
        sa.UniqueConstraint("client_id", name=op.f("uq_request_photo_client_id")),
    )
    op.create_index(
        op.f("ix_request_photo_request_id"), "request_photo", ["request_id"], unique=False
    )
    op.create_table(
        "request_suspension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status_before", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "reason IN ('waiting_requester', 'waiting_vendor')",
            name=op.f("ck_request_suspension_reason_known"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_request_suspension_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_suspension_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_suspension")),
    )
    op.create_index(
        op.f("ix_request_suspension_request_id"), "request_suspension", ["request_id"], unique=False
    )
    op.create_index(
        "uq_request_suspension_open",
        "request_suspension",
        ["request_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "runbook_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_request_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_runbook_version_version_positive")),
        sa.ForeignKeyConstraint(
            ["runbook_id"],
            ["runbook.id"],
            name=op.f("fk_runbook_version_runbook_id_runbook"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_request_id"],
            ["service_request.id"],
            name=op.f("fk_runbook_version_source_request_id_service_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_version")),
        sa.UniqueConstraint("runbook_id", "version", name="uq_runbook_version_runbook_id_version"),
    )
    op.create_index(
        op.f("ix_runbook_version_source_request_id"),
        "runbook_version",
        ["source_request_id"],
        unique=False,
    )
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("token_nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("via", sa.String(length=8), nullable=True),
        sa.CheckConstraint(
            "via IS NULL OR via IN ('tablet', 'link')", name=op.f("ck_survey_via_known")
        ),
        sa.CheckConstraint(
            "score IS NULL OR score BETWEEN 1 AND 5", name=op.f("ck_survey_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_survey_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
        sa.UniqueConstraint("request_id", name=op.f("uq_survey_request_id")),
        sa.UniqueConstraint("token_nonce", name=op.f("uq_survey_token_nonce")),
    )
    op.create_table(
        "repair_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.Column("serial_out", sa.String(length=128), nullable=False),
        sa.Column("serial_in", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_repair_part_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repair.id"],
            name=op.f("fk_repair_part_repair_id_repair"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_part")),
    )
    op.create_index(op.f("ix_repair_part_repair_id"), "repair_part", ["repair_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_repair_part_repair_id"), table_name="repair_part")
    op.drop_table("repair_part")
    op.drop_table("survey")
    op.drop_index(op.f("ix_runbook_version_source_request_id"), table_name="runbook_version")
    op.drop_table("runbook_version")
    op.drop_index(
        "uq_request_suspension_open",
        table_name="request_suspension",
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(op.f("ix_request_suspension_request_id"), table_name="request_suspension")
    op.drop_table("request_suspension")
    op.drop_index(op.f("ix_request_photo_request_id"), table_name="request_photo")
    op.drop_table("request_photo")
    op.drop_index("ix_request_event_request_at", table_name="request_event")
    op.drop_table("request_event")
    op.drop_index(op.f("ix_repair_request_id"), table_name="repair")
    op.drop_index(op.f("ix_repair_asset_id"), table_name="repair")
    op.drop_table("repair")
    op.drop_index(
        "uq_loan_open_asset",
        table_name="loan",
        sqlite_where=sa.text("returned_at IS NULL"),
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.drop_index(op.f("ix_loan_request_id"), table_name="loan")
    op.drop_index(op.f("ix_loan_asset_id"), table_name="loan")
    op.drop_table("loan")
    op.drop_index("ix_service_request_status_urgency", table_name="service_request")
    op.drop_index(op.f("ix_service_request_room_id"), table_name="service_request")
    op.drop_index("ix_service_request_raised_at", table_name="service_request")
    op.drop_index(op.f("ix_service_request_incident_id"), table_name="service_request")
    op.drop_index(op.f("ix_service_request_finding_id"), table_name="service_request")
    op.drop_index(op.f("ix_service_request_assigned_to"), table_name="service_request")
    op.drop_index(op.f("ix_service_request_asset_id"), table_name="service_request")
    op.drop_index(op.f("ix_service_request_alert_id"), table_name="service_request")
    op.drop_table("service_request")
    op.drop_index(op.f("ix_runbook_asset_kind"), table_name="runbook")
    op.drop_index(op.f("ix_runbook_asset_id"), table_name="runbook")
    op.drop_table("runbook")
