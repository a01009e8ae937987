"""Photos of a request (taken when logging it): stored as checked JPEGs under
``<instance>/request-photos/<request id>/``, idempotent by the photo's client id (the form's
client id and the photo's place on it, so a retried save stores each photo once). Flushes; the
caller commits, and checks the images (``opskit.photos.to_jpeg``) before its write
transaction."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import select

from opskit import db, photos
from opskit.photos import Jpeg
from opskit.servicedesk.models import RequestPhoto, ServiceRequest
from opskit.servicedesk.services import common

FOLDER = "request-photos"


def photo_root() -> Path:
    return Path(current_app.instance_path) / FOLDER


def photo_file(photo: RequestPhoto) -> Path:
    return photos.inside(photo_root(), photo.path)


def add_photo(req: ServiceRequest, photo_id: str, jpeg: Jpeg) -> RequestPhoto:
    """A photo of ``req`` (its workers, or the viewer who logged it); the same ``photo_id``
    again is the photo stored before."""
    common.require_worker_or_requester(req)
    sess = db.session()
    existing = sess.scalar(select(RequestPhoto).where(RequestPhoto.client_id == photo_id))
    if existing is not None:
        return existing
    relative = f"{req.id}/{photo_id}.jpg"
    photos.write(photo_root(), relative, jpeg)
    photo = RequestPhoto(
        client_id=photo_id,
        request_id=req.id,
        path=relative,
        content_type="image/jpeg",
        size=len(jpeg.data),
        width=jpeg.width,
        height=jpeg.height,
        uploaded_by=common.actor(),
    )
    sess.add(photo)
    sess.flush()
    return photo


def photos_of(request_id: int) -> list[RequestPhoto]:
    return list(
        db.session().scalars(
            select(RequestPhoto)
            .where(RequestPhoto.request_id == request_id)
            .order_by(RequestPhoto.id)
        )
    )
