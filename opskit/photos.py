"""Photos taken on the tablet (patrol answers and findings, service requests): checked — type
by content (JPEG, PNG, WebP), size, that it decodes — scaled down to ``PHOTO_MAX_SIDE`` and
re-encoded as JPEG, which also drops the EXIF data (the phone's GPS position); written under a
folder of the instance, never outside it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from opskit.files import make_private
from opskit.validation import ValidationFailed

PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # before resizing
PHOTO_MAX_SIDE = 1600  # pixels; larger photos are scaled down and stored as JPEG


@dataclass(frozen=True)
class Jpeg:
    """An uploaded photo, checked and re-encoded (``to_jpeg``)."""

    data: bytes
    width: int
    height: int


def to_jpeg(content: bytes, content_type: str, limit: int = PHOTO_MAX_BYTES) -> Jpeg:
    """Check an uploaded photo and return it as a JPEG at most ``PHOTO_MAX_SIDE`` wide/high;
    a ``ValidationFailed`` on ``photo`` says what is wrong with it."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in PHOTO_TYPES:
        raise ValidationFailed.one(
            "photo", _("A photo must be JPEG, PNG or WebP, got %(type)s.", type=kind or "?")
        )
    if not content:
        raise ValidationFailed.one("photo", _("The photo is empty."))
    if len(content) > limit:
        raise ValidationFailed.one(
            "photo",
            _(
                "The photo is %(size)s MB; the limit is %(limit)s MB.",
                size=f"{len(content) / 1048576:.1f}",
                limit=f"{limit / 1048576:.1f}",
            ),
        )
    try:
        with Image.open(io.BytesIO(content)) as probe:
            actual = probe.format
            probe.verify()
        with Image.open(io.BytesIO(content)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed.one("photo", _("The file is not a readable image.")) from None
    if actual not in PHOTO_TYPES.values():
        raise ValidationFailed.one(
            "photo", _("A photo must be JPEG, PNG or WebP, got %(type)s.", type=actual or "?")
        )
    return Jpeg(out.getvalue(), width, height)


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused when it leads outside ``root``."""
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise ValidationFailed.one("photo", "bad photo path")
    return path


def write(root: Path, relative: str, jpeg: Jpeg) -> Path:
    """Store the JPEG at ``root / relative`` (its folder made), private to this account."""
    path = inside(root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg.data)
    make_private(path)
    return path
