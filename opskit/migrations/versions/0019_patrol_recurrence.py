"""patrol_plan.recurrence: on which days a plan runs (daily, weekly, monthly, quarterly,
working days; ``inspections.recurrence``) (#17)

Every plan that exists runs every day at its times, as before: its recurrence becomes
``{"freq": "daily"}`` and its ``schedule_times`` are kept. Downgrading drops the column (a
weekly plan then runs every day again).

Revision ID: 0019_patrol_recurrence
Revises: 0018_syslog_text_trgm
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_patrol_recurrence"
down_revision: str | None = "0018_syslog_text_trgm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAILY = {"freq": "daily"}


def upgrade() -> None:
    with op.batch_alter_table("patrol_plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recurrence", sa.JSON(), nullable=True))
    plan = sa.table("patrol_plan", sa.column("recurrence", sa.JSON()))
    op.execute(plan.update().values(recurrence=DAILY))
    with op.batch_alter_table("patrol_plan", schema=None) as batch_op:
        batch_op.alter_column("recurrence", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("patrol_plan", schema=None) as batch_op:
        batch_op.drop_column("recurrence")
