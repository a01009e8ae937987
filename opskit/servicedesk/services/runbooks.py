"""Runbooks (故障恢复流程及应急措施): recovery procedures in Markdown for an asset kind, a named
system or one asset, every edit a new version, never overwritten.

- ``create_runbook``: the runbook and its version 1 (current).
- ``edit_runbook``: a new version (body, author, time, an optional note) made current; the
  title and scope change on the runbook itself (audited). Saving what is already current (a
  double tap, a retried post) makes no version and returns None. ``base_version``, the version
  the form was opened on: when another version was saved since, the edit is refused (the
  text typed is kept by the form) rather than silently put over a colleague's.
- ``restore_version``: an old version's text as a new current version.
- ``draft_from_request``: a resolved (or closed) request as a draft — title from the request,
  body from its description, cause, work done and parts (its parts note and the parts of its
  repairs), scope its asset, ``source_request_id`` set — in version 1 with
  ``current_version = 0`` (a draft: not shown on asset and request pages). Its first edit is
  version 2, made current. The same request again returns the runbook drafted from it.

Every field is checked and the wrong ones are named at once (``runbook_errors``): an empty
title or body, an unknown scope, a scope without its target (``asset_kind``, ``system_name``,
``asset_tag``), an unknown asset kind or asset, a text longer than its column. Engineers,
supervisors and admins write; viewers read. Services flush; the caller commits (``db.write``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from assets import queries as registry
from opskit import db
from opskit.servicedesk.models import (
    Repair,
    RepairPart,
    Runbook,
    RunbookScope,
    RunbookVersion,
    ServiceRequest,
    Status,
)
from opskit.servicedesk.runbook_queries import drafted_from, latest_version
from opskit.servicedesk.services import common
from opskit.validation import ValidationFailed

MAX_TITLE = 200
MAX_SYSTEM = 128
#: a runbook is a page a person reads: 200,000 characters is far more than any needs
MAX_BODY = 200_000
MAX_NOTE = 2_000
#: the statuses of a request that can be turned into a runbook draft
DRAFTABLE_STATUSES = (Status.RESOLVED.value, Status.CLOSED.value)


@dataclass
class RunbookInput:
    """What a runbook's form or caller gives. The scope's target: ``asset_kind`` (a key of
    the registry's kinds), ``system_name`` (free text) or the asset, by ``asset_tag`` (typed
    or a scanned label's URL) or ``asset_id``; the other targets are ignored."""

    title: str = ""
    scope: str = ""
    body: str = ""
    note: str = ""
    asset_kind: str = ""
    system_name: str = ""
    asset_tag: str = ""
    asset_id: int | None = None


@dataclass(frozen=True)
class Target:
    """A checked scope: what the runbook row stores."""

    scope: str
    asset_kind: str | None = None
    system_name: str = ""
    asset_id: int | None = None


def _require_writer() -> None:
    common.require(common.WORKER_ROLES, _("Only engineers, supervisors and admins write runbooks."))


def _too_long(errors: dict[str, list[str]], name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        most = f"{limit:,}"
        errors[name] = [_("At most %(n)s characters.", n=most)]


def _target(data: RunbookInput, errors: dict[str, list[str]]) -> Target | None:
    scope = data.scope.strip()
    if scope == RunbookScope.ASSET_KIND.value:
        kind = data.asset_kind.strip()
        if not kind:
            errors["asset_kind"] = [_("Choose the asset kind this runbook is for.")]
        elif kind not in registry.AssetKind.labels():
            errors["asset_kind"] = [_("Unknown asset kind.")]
        else:
            return Target(scope, asset_kind=kind)
        return None
    if scope == RunbookScope.SYSTEM.value:
        name = " ".join(data.system_name.split())
        if not name:
            errors["system_name"] = [_("Name the system this runbook is for.")]
            return None
        _too_long(errors, "system_name", name, MAX_SYSTEM)
        return Target(scope, system_name=name)
    if scope == RunbookScope.ASSET.value:
        if data.asset_tag.strip():
            tag = common.tag_of(data.asset_tag)
            asset = registry.asset_by_tag(tag)
            if asset is None:
                errors["asset_tag"] = [_("No asset has the tag %(tag)s.", tag=tag)]
                return None
            return Target(scope, asset_id=asset.id)
        if data.asset_id is not None:
            if registry.get_asset(data.asset_id) is None:
                errors["asset_id"] = [_("No such asset.")]
                return None
            return Target(scope, asset_id=data.asset_id)
        errors["asset_tag"] = [_("Name the asset: scan its label or type its tag.")]
        return None
    errors["scope"] = [
        _("Choose what the runbook is for: an asset kind, a system or one asset.")
        if not scope
        else _("Unknown scope.")
    ]
    return None


def runbook_errors(data: RunbookInput) -> dict[str, list[str]]:
    """Every wrong field of ``data``, keyed by field ({} when it may be saved)."""
    errors: dict[str, list[str]] = {}
    _check(data, errors)
    return errors


def _check(data: RunbookInput, errors: dict[str, list[str]]) -> Target | None:
    title = data.title.strip()
    if not title:
        errors["title"] = [_("Give the runbook a title.")]
    _too_long(errors, "title", title, MAX_TITLE)
    if not data.body.strip():
        errors["body"] = [_("Write the procedure: the steps to recover.")]
    _too_long(errors, "body", data.body, MAX_BODY)
    _too_long(errors, "note", data.note.strip(), MAX_NOTE)
    return _target(data, errors)


def _checked(data: RunbookInput) -> Target:
    errors: dict[str, list[str]] = {}
    target = _check(data, errors)
    if errors or target is None:
        raise ValidationFailed(errors)
    return target


def _body(text: str) -> str:
    """The body as stored: line ends made ``\\n`` (a browser posts ``\\r\\n``), no trailing
    blank lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip() + "\n"


def _apply(runbook: Runbook, title: str, target: Target) -> None:
    runbook.title = title
    runbook.scope = target.scope
    runbook.asset_kind = target.asset_kind
    runbook.system_name = target.system_name
    runbook.asset_id = target.asset_id


def _next_version(runbook: Runbook) -> int:
    sess = db.session()
    sess.flush()
    latest = sess.scalar(
        select(func.max(RunbookVersion.version)).where(RunbookVersion.runbook_id == runbook.id)
    )
    return (latest or 0) + 1


def _add_version(
    runbook: Runbook,
    body: str,
    at: datetime | None,
    *,
    note: str = "",
    source_request_id: int | None = None,
    current: bool = True,
) -> RunbookVersion:
    version = RunbookVersion(
        runbook_id=runbook.id,
        version=_next_version(runbook),
        body=body,
        note=note.strip(),
        author=common.actor(),
        at=at or db.utcnow(),
        source_request_id=source_request_id,
    )
    sess = db.session()
    sess.add(version)
    if current:
        runbook.current_version = version.version
    sess.flush()
    sess.expire(runbook, ["versions"])
    return version


def _runbook(runbook: Runbook | int) -> Runbook:
    if isinstance(runbook, Runbook):
        return runbook
    found = db.session().get(Runbook, runbook)
    if found is None:
        raise ValidationFailed.one("runbook", _("No such runbook."))
    return found


def create_runbook(
    data: RunbookInput, *, at: datetime | None = None, source_request_id: int | None = None
) -> Runbook:
    """A new runbook with its version 1, current (flushes)."""
    _require_writer()
    target = _checked(data)
    now = at or db.utcnow()
    runbook = Runbook(created_by=common.actor(), created_at=now, current_version=0)
    _apply(runbook, data.title.strip(), target)
    db.session().add(runbook)
    db.session().flush()
    _add_version(
        runbook, _body(data.body), now, note=data.note, source_request_id=source_request_id
    )
    return runbook


def edit_runbook(
    runbook: Runbook | int,
    data: RunbookInput,
    *,
    base_version: int | None = None,
    at: datetime | None = None,
) -> RunbookVersion | None:
    """Save ``data`` as the runbook's new current version (flushes); None when it is what the
    runbook already shows (nothing made). Refused (field ``base_version``) when
    ``base_version`` is given and another version was saved since."""
    _require_writer()
    row = _runbook(runbook)
    target = _checked(data)
    body, title = _body(data.body), data.title.strip()
    shown = latest_version(row)
    unchanged = (
        row.current_version > 0
        and shown is not None
        and shown.body == body
        and row.title == title
        and Target(row.scope, row.asset_kind, row.system_name, row.asset_id) == target
    )
    if unchanged:
        return None
    newest = _next_version(row) - 1
    if base_version is not None and base_version != newest:
        raise ValidationFailed.one(
            "base_version",
            _(
                "Version %(n)s was saved by someone else while you edited. Your text is kept "
                "below: compare it with the runbook, then save again.",
                n=newest,
            ),
        )
    source = None
    if row.current_version == 0 and shown is not None:  # the first edit of a draft
        source = shown.source_request_id
    _apply(row, title, target)
    return _add_version(row, body, at, note=data.note, source_request_id=source)


def restore_version(
    runbook: Runbook | int, version: int, *, note: str = "", at: datetime | None = None
) -> RunbookVersion:
    """The text of ``version`` again, as a new current version (flushes); the current version
    itself when it already has that text (a repeated tap makes one version)."""
    _require_writer()
    row = _runbook(runbook)
    old = db.session().scalar(
        select(RunbookVersion).where(
            RunbookVersion.runbook_id == row.id, RunbookVersion.version == version
        )
    )
    if old is None:
        raise ValidationFailed.one("version", _("This runbook has no version %(n)s.", n=version))
    shown = latest_version(row)
    if row.current_version > 0 and shown is not None and shown.body == old.body:
        return shown
    text = note.strip() or _("Restored from version %(n)s.", n=version)
    return _add_version(row, old.body, at, note=text)


# --- a resolved request as a draft ---------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _steps(text: str) -> str:
    """Each line of ``text`` as a numbered step (a single line stays a paragraph)."""
    lines = _lines(text)
    if len(lines) <= 1:
        return "".join(lines)
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))


def _parts(req: ServiceRequest) -> list[str]:
    rows = [f"- {line.lstrip('-*• ').strip()}" for line in _lines(req.parts_note)]
    parts = db.session().scalars(
        select(RepairPart)
        .join(Repair, RepairPart.repair_id == Repair.id)
        .where(Repair.request_id == req.id)
        .order_by(RepairPart.id)
    )
    for part in parts:
        line = f"- {part.part}"
        if part.quantity > 1:
            line += f" × {part.quantity}"
        serials = []
        if part.serial_out:
            serials.append(_("serial out %(serial)s", serial=part.serial_out))
        if part.serial_in:
            serials.append(_("serial in %(serial)s", serial=part.serial_in))
        if serials:
            line += f"（{'，'.join(serials)}）"
        rows.append(line)
    return rows


def draft_body(req: ServiceRequest) -> str:
    """The Markdown a request's draft starts from, in the drafting person's language."""
    sections = [
        (_("Symptoms"), req.description.strip()),
        (_("Cause"), req.cause.strip()),
        (_("Recovery steps"), _steps(req.work_done)),
        (_("Parts replaced"), "\n".join(_parts(req))),
        (_("Temporary measure"), req.temporary_measure.strip()),
    ]
    out = [f"## {heading}\n\n{text}" for heading, text in sections if text]
    out.append(
        _(
            "Drafted from request %(number)s: check each step before relying on it.",
            number=req.number,
        )
    )
    return _body("\n\n".join(out))


def draft_from_request(request_id: int, *, at: datetime | None = None) -> Runbook:
    """A runbook draft from a resolved or closed request (flushes), or the one already drafted
    from it. The scope is the request's asset (a request without one: the form asks)."""
    _require_writer()
    req = db.session().get(ServiceRequest, request_id)
    if req is None:
        raise ValidationFailed.one("request", _("No such request."))
    if req.status not in DRAFTABLE_STATUSES:
        raise common.refused(
            req, _("%(number)s is %(status)s: only a resolved request becomes a runbook.")
        )
    existing = drafted_from(req.id)
    if existing is not None:
        return existing
    now = at or db.utcnow()
    runbook = Runbook(
        title=req.title.strip()[:MAX_TITLE],
        scope=RunbookScope.ASSET.value,
        asset_id=req.asset_id,
        system_name="",
        created_by=common.actor(),
        created_at=now,
        current_version=0,
    )
    db.session().add(runbook)
    db.session().flush()
    _add_version(
        runbook,
        draft_body(req),
        now,
        note=_("Draft from request %(number)s.", number=req.number),
        source_request_id=req.id,
        current=False,
    )
    return runbook
