"""move_step: why a step was skipped (#23)

A move step can be skipped (the asset stays where it is) by an engineer or an admin with a
reason; ``skip_reason`` keeps it beside ``done_by``/``done_at`` (who skipped it, and when), so
the move's page and the asset's move history show why.

Revision ID: 0030_move_skip_reason
Revises: 0029_moves
Create Date: 2026-12-07 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_move_skip_reason"
down_revision: str | None = "0029_moves"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("move_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("move_step", schema=None) as batch_op:
        batch_op.drop_column("skip_reason")
