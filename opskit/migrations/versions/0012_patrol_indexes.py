"""patrol: index for the day's rounds (scheduled ones by scheduled_for, ad hoc by started_at)

Revision ID: 0012_patrol_indexes
Revises: 0011_logbook
Create Date: 2026-11-26 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_patrol_indexes"
down_revision: str | None = "0011_logbook"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_patrol_round_scheduled_started",
        "patrol_round",
        ["scheduled_for", "started_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_patrol_round_scheduled_started", table_name="patrol_round")
