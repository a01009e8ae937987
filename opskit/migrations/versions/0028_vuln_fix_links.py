"""vuln fix links: a finding's fix as a service request or a firmware upgrade record (#20)

``vuln_finding.request_id`` (the desk's request opened for the fix) and ``upgrade_id`` (the
asset's upgrade record linked as the fix); ``service_request.vuln_finding_id``, the finding a
request came from (no foreign key that way: the two tables would reference each other).

Revision ID: 0028_vuln_fix_links
Revises: 0027_reservations
Create Date: 2026-12-06 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_vuln_fix_links"
down_revision: str | None = "0027_reservations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vuln_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("upgrade_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_vuln_finding_request_id_service_request"),
            "service_request",
            ["request_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_vuln_finding_upgrade_id_config_upgrade"),
            "config_upgrade",
            ["upgrade_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vuln_finding_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_service_request_vuln_finding_id"), ["vuln_finding_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_request_vuln_finding_id"))
        batch_op.drop_column("vuln_finding_id")
    with op.batch_alter_table("vuln_finding", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_vuln_finding_upgrade_id_config_upgrade"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_vuln_finding_request_id_service_request"), type_="foreignkey"
        )
        batch_op.drop_column("upgrade_id")
        batch_op.drop_column("request_id")
