"""The patrol's public writes (other packages, the views, the CLI and the demo call these).

Nothing here commits (the rule of every domain's services): the functions flush, and the caller
— a view, a CLI command, a worker — commits once, usually through ``opskit.db.write``, which
runs them in a ``BEGIN IMMEDIATE`` transaction on SQLite (writers queue instead of failing with
"database is locked") and retries a unique-key race between two retries of one submission
(PostgreSQL): the retry finds the stored round by its ``client_id``. The work is in one module
per noun: ``plans``, ``rounds``, ``answers``, ``findings``, ``photos``.
"""

from __future__ import annotations

from inspections.services.answers import save_answer
from inspections.services.findings import close_finding
from inspections.services.photos import (
    Jpeg,
    prepare_photo,
    save_finding_photo,
    save_photo,
)
from inspections.services.plans import save_plan
from inspections.services.rounds import (
    approve_round,
    comment_round,
    new_client_id,
    save_submission,
    sign_round,
    start_round,
    submit_round,
    unsaved_round,
)

__all__ = [
    "Jpeg",
    "approve_round",
    "close_finding",
    "comment_round",
    "new_client_id",
    "prepare_photo",
    "save_answer",
    "save_finding_photo",
    "save_photo",
    "save_plan",
    "save_submission",
    "sign_round",
    "start_round",
    "submit_round",
    "unsaved_round",
]
