"""incident_entry.client_id: a retried timeline line is not written twice

The timeline form (one id per render) and ``POST /api/v1/incidents/{id}/entries`` may carry a
client-made id; unique per incident, so a retry of one submission finds the line the first
wrote. NULL (lines written without one) never collides.

Revision ID: 0032_incident_entry_client_id
Revises: 0031_capacity_snapshots
Create Date: 2026-12-07 02:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_incident_entry_client_id"
down_revision: str | None = "0031_capacity_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_incident_entry_incident_id_client_id", ["incident_id", "client_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_entry", schema=None) as batch_op:
        batch_op.drop_constraint("uq_incident_entry_incident_id_client_id", type_="unique")
        batch_op.drop_column("client_id")
