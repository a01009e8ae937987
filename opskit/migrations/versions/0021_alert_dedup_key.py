"""alert: an index on dedup_key for every alert, open or not (#16)

The only index on ``alert.dedup_key`` was the partial unique one of the open alerts, which a
query of all of a condition's alerts cannot use: the desk's flapping check (a condition's
raised/resolved changes in the last 30 minutes, ``opskit.alerts.conditions``) and the lookup
of a flapping condition's last alert read the whole table, a cost that grew with every alert
ever raised (a trap or syslog storm raises and resolves thousands). Now they read the index.

Revision ID: 0021_alert_dedup_key
Revises: 0020_spec_vocabulary
Create Date: 2026-12-06 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_alert_dedup_key"
down_revision: str | None = "0020_spec_vocabulary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alert_dedup_key", "alert", ["dedup_key"])


def downgrade() -> None:
    op.drop_index("ix_alert_dedup_key", table_name="alert")
