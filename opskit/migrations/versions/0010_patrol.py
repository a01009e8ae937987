"""patrol plans, rounds, answers, findings, photos

Revision ID: 0010_patrol
Revises: 0009_monitor_data
Create Date: 2026-11-26 01:15:00
"""

from collections.abc import Sequence

revision: str = "0010_patrol"
down_revision: str | None = "0009_monitor_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
