"""reservations: accepted plans holding rack units, switch ports and addresses (#23)

One row per held unit (rack, unit), port (switch asset, port) and address, each unique: two
plans accepted at the same moment cannot both hold the same one, on SQLite and PostgreSQL
alike (read by ``assets.reservations``).

Revision ID: 0027_reservations
Revises: 0026_vuln_scans
Create Date: 2026-12-06 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_reservations"
down_revision: str | None = "0026_vuln_scans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _holder(name: str, *columns: sa.Column, unique: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservation.id"],
            name=op.f(f"fk_{name}_reservation_id_reservation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=f"uq_{name}_{'_'.join(unique)}"),
    )
    op.create_index(op.f(f"ix_{name}_reservation_id"), name, ["reservation_id"])


def upgrade() -> None:
    op.create_table(
        "reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placements", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('reserved', 'installed', 'released')",
            name=op.f("ck_reservation_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation")),
    )
    op.create_index("ix_reservation_status_expires_at", "reservation", ["status", "expires_at"])
    _holder(
        "reserved_unit",
        sa.Column("rack_id", sa.Integer(), sa.ForeignKey(
            "rack.id", name=op.f("fk_reserved_unit_rack_id_rack"), ondelete="CASCADE"
        ), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        unique=("rack_id", "unit"),
    )  # fmt: skip
    _holder(
        "reserved_port",
        sa.Column("asset_id", sa.Integer(), sa.ForeignKey(
            "asset.id", name=op.f("fk_reserved_port_asset_id_asset"), ondelete="CASCADE"
        ), nullable=False),
        sa.Column("port", sa.String(length=64), nullable=False),
        unique=("asset_id", "port"),
    )  # fmt: skip
    _holder(
        "reserved_address",
        sa.Column("prefix_id", sa.Integer(), sa.ForeignKey(
            "ip_prefix.id", name=op.f("fk_reserved_address_prefix_id_ip_prefix"),
            ondelete="CASCADE",
        ), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        unique=("address",),
    )  # fmt: skip


def downgrade() -> None:
    for name in ("reserved_address", "reserved_port", "reserved_unit"):
        op.drop_index(op.f(f"ix_{name}_reservation_id"), table_name=name)
        op.drop_table(name)
    op.drop_index("ix_reservation_status_expires_at", table_name="reservation")
    op.drop_table("reservation")
