"""The audit log: every write to an ``Audited`` model leaves a row with before/after values.

It hooks SQLAlchemy's flush, so no view or service can forget it. The actor is the logged-in
user during a request, or whatever ``acting_as()`` names (the CLI, the poller, the demo).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import enum
import getpass
import uuid
from collections.abc import Iterator
from typing import Any

from flask import has_request_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from opskit import db
from opskit.db import utcnow
from opskit.models import AuditLog

SECRET = "******"  # noqa: S105 - the mask shown instead of a secret

_actor: contextvars.ContextVar[tuple[int | None, str] | None] = contextvars.ContextVar(
    "opskit_audit_actor", default=None
)


def cli_actor() -> str:
    """Who a command line acts as: ``cli:<login name>`` (``cli`` where none can be found)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextlib.contextmanager
def acting_as(name: str, user_id: int | None = None) -> Iterator[None]:
    """Attribute writes inside the block to ``name`` (e.g. ``cli:root``, ``poller``)."""
    token = _actor.set((user_id, name))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return current_user.id, current_user.username
        return None, "anonymous"
    return None, "system"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    out: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        column = attr.columns[0]
        if column.info.get("audit") is False:
            continue
        secret = bool(column.info.get("secret"))
        hist = state.attrs[attr.key].history
        if action == "create":
            value = getattr(obj, attr.key)
            if value is None:
                continue
            out[attr.key] = [None, SECRET if secret else _jsonable(value)]
        elif action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted or [None])[0]
            out[attr.key] = [SECRET if secret else _jsonable(value), None]
        elif hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
            if secret:
                out[attr.key] = [SECRET, SECRET]
            else:
                out[attr.key] = [_jsonable(before), _jsonable(after)]
    return out


def _object_id(obj: Any) -> str:
    # the identity key of a new object is set only after the flush: read the primary key
    state = inspect(obj)
    key = state.mapper.primary_key_from_instance(obj)
    if all(part is None for part in key):
        return ""
    return ",".join(str(part) for part in key)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    rows = []
    now = utcnow()
    actor_id, actor = current_actor()
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not getattr(obj, "__audited__", False):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor": actor,
                    "action": action,
                    "object_type": obj.__tablename__,
                    "object_id": _object_id(obj),
                    "summary": str(getattr(obj, "audit_label", "") or ""),
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(insert(AuditLog), rows)


def record(
    action: str,
    object_type: str,
    object_id: str,
    summary: str,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """An audit row for a change that is no row of an ``Audited`` model (a file opskit writes,
    e.g. the site's holiday arrangements): the current actor, ``action`` (create, update or
    delete), what changed as before/after. Added to the session: the caller commits it."""
    actor_id, actor = current_actor()
    db.session().add(
        AuditLog(
            at=utcnow(),
            actor_id=actor_id,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            summary=summary,
            changes={
                key: [_jsonable(before), _jsonable(after)]
                for key, (before, after) in changes.items()
                if before != after
            },
        )
    )


def install() -> None:
    """Hook the audit log into every ORM session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def history(object_type: str, object_id: int | str, limit: int = 200) -> list[AuditLog]:
    """The audit rows of one object, newest first (``object_type`` is the table name)."""
    return list(
        db.session().scalars(
            select(AuditLog)
            .where(AuditLog.object_type == object_type, AuditLog.object_id == str(object_id))
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )
