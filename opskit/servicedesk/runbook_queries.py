"""Runbooks' reads: one runbook and its versions, the list with search and filters, and the
runbooks that apply to an asset or a request.

**Which runbooks apply to an asset**: those of the asset itself, those of its kind (every UPS),
and those of a system the asset belongs to. A system is free text (财务系统, OA, 邮件系统), and
the registry has no field for it, so the rule is simple and said on the form: a system's
runbook applies to every asset whose **name or notes contain the system's name** (ignoring
case). A request's runbooks are its asset's. Drafts (``current_version = 0``) show in the list,
never on asset or request pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select

from assets import queries as registry
from opskit import db
from opskit.servicedesk.models import Runbook, RunbookScope, RunbookVersion, ServiceRequest

#: the order of the scopes on asset and request pages: the asset's own first
SCOPE_ORDER = {
    RunbookScope.ASSET.value: 0,
    RunbookScope.SYSTEM.value: 1,
    RunbookScope.ASSET_KIND.value: 2,
}


@dataclass(frozen=True)
class RunbookItem:
    """A runbook as lists and panels show it: the version it shows (its current one, or a
    draft's newest) and the asset it is for (scope ``asset``)."""

    runbook: Runbook
    shown: RunbookVersion | None
    asset: registry.Asset | None

    @property
    def is_draft(self) -> bool:
        return self.runbook.current_version == 0


def get_runbook(runbook_id: int) -> Runbook | None:
    return db.session().get(Runbook, runbook_id)


def latest_version(runbook: Runbook) -> RunbookVersion | None:
    """The version a runbook shows: its current one, or (a draft) its newest."""
    stmt = select(RunbookVersion).where(RunbookVersion.runbook_id == runbook.id)
    if runbook.current_version:
        return db.session().scalar(stmt.where(RunbookVersion.version == runbook.current_version))
    return db.session().scalar(stmt.order_by(RunbookVersion.version.desc()).limit(1))


def versions_of(runbook_id: int) -> list[RunbookVersion]:
    """Every version of a runbook, newest first."""
    return list(
        db.session().scalars(
            select(RunbookVersion)
            .where(RunbookVersion.runbook_id == runbook_id)
            .order_by(RunbookVersion.version.desc())
        )
    )


def get_version(runbook_id: int, version: int) -> RunbookVersion | None:
    return db.session().scalar(
        select(RunbookVersion).where(
            RunbookVersion.runbook_id == runbook_id, RunbookVersion.version == version
        )
    )


def previous_version(runbook_id: int, version: int) -> RunbookVersion | None:
    """The version saved before ``version`` (None for the first)."""
    return db.session().scalar(
        select(RunbookVersion)
        .where(RunbookVersion.runbook_id == runbook_id, RunbookVersion.version < version)
        .order_by(RunbookVersion.version.desc())
        .limit(1)
    )


def _items(runbooks: list[Runbook]) -> list[RunbookItem]:
    if not runbooks:
        return []
    sess = db.session()
    by_id = {r.id: r for r in runbooks}
    shown: dict[int, RunbookVersion] = {}
    for version in sess.scalars(
        select(RunbookVersion)
        .join(Runbook, Runbook.id == RunbookVersion.runbook_id)
        .where(
            RunbookVersion.runbook_id.in_(by_id),
            or_(Runbook.current_version == 0, RunbookVersion.version == Runbook.current_version),
        )
        .order_by(RunbookVersion.runbook_id, RunbookVersion.version)
    ):
        shown[version.runbook_id] = version  # a draft's newest wins (ordered by version)
    assets = {
        a.id: a
        for a in registry.assets_by_ids(sorted({r.asset_id for r in runbooks if r.asset_id}))
    }
    return [
        RunbookItem(r, shown.get(r.id), assets.get(r.asset_id) if r.asset_id else None)
        for r in runbooks
    ]


def runbook_query(q: str = "", scope: str = "", asset_kind: str = "") -> Select[Runbook]:
    """Runbooks whose title, system, asset (tag or name) or shown text contains ``q`` (taken
    literally), of ``scope`` and ``asset_kind`` when given, by title."""
    stmt = select(Runbook)
    if q.strip():
        shown_body = (
            select(RunbookVersion.id)
            .where(
                RunbookVersion.runbook_id == Runbook.id,
                or_(
                    Runbook.current_version == 0,
                    RunbookVersion.version == Runbook.current_version,
                ),
                db.text_search(q, RunbookVersion.body),
            )
            .exists()
        )
        assets = select(registry.Asset.id).where(
            db.text_search(q, registry.Asset.asset_tag, registry.Asset.name)
        )
        stmt = stmt.where(
            or_(
                db.text_search(q, Runbook.title, Runbook.system_name),
                Runbook.asset_id.in_(assets),
                shown_body,
            )
        )
    if scope:
        stmt = stmt.where(Runbook.scope == scope)
    if asset_kind:
        stmt = stmt.where(Runbook.asset_kind == asset_kind)
    return stmt.order_by(Runbook.title, Runbook.id)


def list_runbooks(q: str = "", scope: str = "", asset_kind: str = "") -> list[RunbookItem]:
    return _items(list(db.session().scalars(runbook_query(q, scope, asset_kind))))


def system_applies(system_name: str, asset: registry.Asset) -> bool:
    """A system's runbook applies to ``asset`` when its name or notes contain the system's
    name, ignoring case."""
    name = system_name.strip().casefold()
    return bool(name) and (name in asset.name.casefold() or name in asset.notes.casefold())


def _sorted(runbooks: list[Runbook]) -> list[Runbook]:
    return sorted(runbooks, key=lambda r: (SCOPE_ORDER.get(r.scope, 9), r.title, r.id))


def runbooks_for_asset(asset_id: int) -> list[RunbookItem]:
    """The published runbooks of an asset: its own, its systems' and its kind's."""
    asset = registry.get_asset(asset_id)
    if asset is None:
        return []
    sess = db.session()
    published = Runbook.current_version > 0
    direct = sess.scalars(
        select(Runbook).where(
            published,
            or_(
                and_(Runbook.scope == RunbookScope.ASSET.value, Runbook.asset_id == asset.id),
                and_(
                    Runbook.scope == RunbookScope.ASSET_KIND.value,
                    Runbook.asset_kind == asset.kind,
                ),
            ),
        )
    )
    systems = sess.scalars(
        select(Runbook).where(published, Runbook.scope == RunbookScope.SYSTEM.value)
    )
    found = [*direct, *(r for r in systems if system_applies(r.system_name, asset))]
    return _items(_sorted(found))


def runbooks_for_request(request_id: int) -> list[RunbookItem]:
    """The runbooks of a request: its asset's (none when it names no asset)."""
    req = db.session().get(ServiceRequest, request_id)
    if req is None or req.asset_id is None:
        return []
    return runbooks_for_asset(req.asset_id)


def system_names() -> list[str]:
    """The systems runbooks are written for, for the form's suggestions."""
    return list(
        db.session().scalars(
            select(Runbook.system_name)
            .where(Runbook.system_name != "")
            .distinct()
            .order_by(Runbook.system_name)
        )
    )


def drafted_from(request_id: int) -> Runbook | None:
    """The runbook drafted from the request ``request_id``, if one was."""
    return db.session().scalar(
        select(Runbook)
        .join(RunbookVersion, RunbookVersion.runbook_id == Runbook.id)
        .where(RunbookVersion.source_request_id == request_id)
        .order_by(Runbook.id)
        .limit(1)
    )
