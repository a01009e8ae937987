"""traps: the SNMP traps ``opskit traps`` received (issue #16)

Revision ID: 0016_traps
Revises: 0015_servicedesk
Create Date: 2026-12-06 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_traps"
down_revision: str | None = "0015_servicedesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snmp_trap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=45), nullable=False),
        sa.Column("agent_addr", sa.String(length=45), nullable=False),
        sa.Column("version", sa.String(length=3), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("trap_oid", sa.String(length=255), nullable=False),
        sa.Column("varbinds", sa.JSON(), nullable=False),
        sa.Column("actions", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_snmp_trap_asset_id_asset"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snmp_trap")),
    )
    op.create_index(op.f("ix_snmp_trap_asset_id"), "snmp_trap", ["asset_id"], unique=False)
    op.create_index(op.f("ix_snmp_trap_received_at"), "snmp_trap", ["received_at"], unique=False)
    op.create_index(
        "ix_snmp_trap_trap_oid_received_at", "snmp_trap", ["trap_oid", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_snmp_trap_trap_oid_received_at", table_name="snmp_trap")
    op.drop_index(op.f("ix_snmp_trap_received_at"), table_name="snmp_trap")
    op.drop_index(op.f("ix_snmp_trap_asset_id"), table_name="snmp_trap")
    op.drop_table("snmp_trap")
