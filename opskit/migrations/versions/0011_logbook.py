"""logbook: room access and power on/off

Revision ID: 0011_logbook
Revises: 0010_patrol
Create Date: 2026-11-26 01:15:00
"""

from collections.abc import Sequence

revision: str = "0011_logbook"
down_revision: str | None = "0010_patrol"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
