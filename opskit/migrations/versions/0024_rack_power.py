"""rack: rated power per feed (#23)

A rack's power budget as data on the rack: ``power_a_watts`` and ``power_b_watts``, the rated
watts of its feed A and feed B (a rack with one feed has only A; none: not known, the capacity
model does not check its power). Read by ``assets.capacity``.

Revision ID: 0024_rack_power
Revises: 0023_db_statements
Create Date: 2026-12-06 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_rack_power"
down_revision: str | None = "0023_db_statements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rack", schema=None) as batch_op:
        batch_op.add_column(sa.Column("power_a_watts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("power_b_watts", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "power_positive",
            "(power_a_watts IS NULL OR power_a_watts > 0)"
            " AND (power_b_watts IS NULL OR power_b_watts > 0)",
        )
        batch_op.create_check_constraint(
            "power_b_needs_a", "power_b_watts IS NULL OR power_a_watts IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("rack", schema=None) as batch_op:
        batch_op.drop_constraint("power_b_needs_a", type_="check")
        batch_op.drop_constraint("power_positive", type_="check")
        batch_op.drop_column("power_b_watts")
        batch_op.drop_column("power_a_watts")
