"""Photos of answers and findings: checked (type by content, size, that it decodes), scaled
down to ``PHOTO_MAX_SIDE`` and stored as JPEG (EXIF dropped) under
``<instance>/patrol-photos/<round>/``; idempotent by the photo's client id. Flushes; the
caller commits (``prepare_photo`` first, outside the write transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from inspections import forms
from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolPhoto,
    PatrolRound,
)
from inspections.queries import findings as findings_queries
from inspections.queries.rounds import find_round
from inspections.services import answers, common
from opskit import db, photos
from opskit.i18n import site_tz
from opskit.photos import Jpeg
from opskit.validation import ValidationFailed

PHOTO_MAX_BYTES = photos.PHOTO_MAX_BYTES  # OPSKIT config PATROL_PHOTO_MAX_BYTES


def prepare_photo(content: bytes | Jpeg, content_type: str = "") -> Jpeg:
    """``content`` checked and re-encoded (``opskit.photos.to_jpeg``, the limit
    ``PATROL_PHOTO_MAX_BYTES``); a caller does this before its write transaction so the image
    work never holds the database's write lock."""
    if isinstance(content, Jpeg):
        return content
    limit = current_app.config.get("PATROL_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES)
    return photos.to_jpeg(content, content_type, limit)


def save_photo(
    client_id: str,
    photo_id: str,
    content: bytes | Jpeg,
    content_type: str = "",
    *,
    target: str,
    checklist: str,
    item: str,
) -> PatrolPhoto:
    """Store a photo of an answer (idempotent by ``photo_id``; flushes).

    Checked: type (JPEG, PNG, WebP, by content, not by name), size, that it decodes. Photos
    larger than ``PHOTO_MAX_SIDE`` are scaled down; everything is stored as JPEG under
    ``<instance>/patrol-photos/<round>/``. ``content``: the upload, or what ``prepare_photo``
    made of it outside the caller's transaction.
    """
    cid = forms.client_id(client_id)
    pid = forms.client_id(photo_id)
    jpeg = prepare_photo(content, content_type)

    sess = db.session()
    existing = sess.scalar(select(PatrolPhoto).where(PatrolPhoto.client_id == pid))
    if existing is not None:
        return existing
    patrol = find_round(cid)
    if patrol is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    common.editable(patrol)
    answer = sess.scalar(
        select(PatrolAnswer).where(
            PatrolAnswer.round_id == patrol.id,
            PatrolAnswer.target == target,
            PatrolAnswer.checklist_key == checklist,
            PatrolAnswer.item_key == item,
        )
    )
    if answer is None:  # the photo came before the answer: keep it on an empty answer
        answer = answers._store_answer(
            patrol,
            {
                "target": target,
                "checklist": checklist,
                "item": item,
                "value": "",
                "answered_at": datetime(2000, 1, 1, tzinfo=site_tz()),
            },
        )
        sess.flush()
    return _store_photo(pid, patrol, jpeg, answer=answer)


def _store_photo(pid: str, patrol: PatrolRound, jpeg: Jpeg, **owner: Any) -> PatrolPhoto:
    """Write the JPEG under the round's folder and its row (``owner``: answer= or finding_id=)."""
    data, width, height = jpeg.data, jpeg.width, jpeg.height
    relative = f"{patrol.client_id}/{pid}.jpg"
    photos.write(findings_queries.photo_root(), relative, jpeg)
    photo = PatrolPhoto(
        client_id=pid,
        round_id=patrol.id,
        path=relative,
        content_type="image/jpeg",
        size=len(data),
        width=width,
        height=height,
        uploaded_by=common.actor(),
        **owner,
    )
    db.session().add(photo)
    db.session().flush()
    return photo


def save_finding_photo(
    finding: PatrolFinding, photo_id: str, content: bytes | Jpeg, content_type: str = ""
) -> PatrolPhoto:
    """A photo of a finding (e.g. after the repair), idempotent by ``photo_id``; flushes."""
    pid = forms.client_id(photo_id)
    jpeg = prepare_photo(content, content_type)
    sess = db.session()
    existing = sess.scalar(select(PatrolPhoto).where(PatrolPhoto.client_id == pid))
    if existing is not None:
        return existing
    current = common.current(finding)
    patrol = sess.get(PatrolRound, current.round_id)
    assert patrol is not None
    return _store_photo(pid, patrol, jpeg, finding_id=current.id)
