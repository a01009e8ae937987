"""Making a move plan (``create_plan``, offered through ``assets.moves.services``): every step
checked at once, nothing written when one is wrong; the errors keyed ``step N`` name the
asset, rack and unit (a unit another asset holds, unless an asset this plan moves away; a
unit a reservation or another open move plan's step holds; a unit outside the rack; a port
already linked; an address another asset has)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets.models import Asset, Link, Rack, RackUnit, Room
from assets.move_models import MovePlan, MoveState, MoveStep, StepState
from assets.services.addresses import parse_ip
from assets.services.placement import reserved_in_db
from opskit import clock, db
from opskit.validation import ValidationFailed

OPEN_STATES = (MoveState.DRAFT.value, MoveState.IN_PROGRESS.value, MoveState.PAUSED.value)
LIVE_STEPS = (StepState.PENDING.value, StepState.POWERED_OFF.value)


def _rack(text: str, site_id: int | None) -> Rack | None:
    """A rack by name, or ``room/rack`` when the name is in several rooms."""
    room_name, _sep, rack_name = text.strip().rpartition("/")
    query = select(Rack).join(Room).where(Rack.name == rack_name.strip())
    if room_name:
        query = query.where(Room.name == room_name.strip())
    if site_id is not None:
        query = query.where(Room.site_id == site_id)
    racks = db.session().scalars(query).all()
    return racks[0] if len(racks) == 1 else None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _units(rack_id: int, first: int, height: int) -> set[tuple[int, int]]:
    return {(rack_id, u) for u in range(first, first + max(height, 1))}


def open_targets(exclude_plan: int | None) -> dict[tuple[int, int], tuple[str, str]]:
    """(rack, unit) → (plan, asset tag) the live steps of open move plans are to take."""
    rows = db.session().execute(
        select(MoveStep.to_rack_id, MoveStep.to_u, Asset.u_height, MovePlan.name, Asset.asset_tag)
        .join(MovePlan, MoveStep.plan_id == MovePlan.id)
        .join(Asset, MoveStep.asset_id == Asset.id)
        .where(MovePlan.state.in_(OPEN_STATES), MoveStep.state.in_(LIVE_STEPS))
        .where(MovePlan.id != (exclude_plan or -1))
    )
    out = {}
    for rack_id, first, height, plan, tag in rows:
        for key in _units(rack_id, first, height):
            out[key] = (plan, tag)
    return out


def _asset_in_open_plan(asset_id: int) -> str | None:
    return db.session().scalar(
        select(MovePlan.name)
        .join(MoveStep, MoveStep.plan_id == MovePlan.id)
        .where(MoveStep.asset_id == asset_id, MoveStep.state.in_(LIVE_STEPS))
        .where(MovePlan.state.in_(OPEN_STATES))
    )


def _check_ports(asset: Asset, ports: Any, problems: list[str]) -> list[dict[str, str]]:
    """``[{"port", "to_switch", "to_port"}]``: the asset's port re-cabled to a switch port."""
    out = []
    for move in ports or []:
        if not isinstance(move, Mapping):
            problems.append(_("A port move needs port, to_switch and to_port."))
            continue
        port, to_switch, to_port = (str(move.get(k) or "").strip() for k in PORT_KEYS)
        if not (port and to_switch and to_port):
            problems.append(_("A port move needs port, to_switch and to_port."))
            continue
        switch = db.session().scalar(select(Asset).where(Asset.asset_tag == to_switch))
        if switch is None:
            problems.append(_("No asset has the tag “%(tag)s”.", tag=to_switch))
            continue
        taken = link_at(switch.id, to_port)
        if taken is not None and asset.id not in (taken.a_asset_id, taken.b_asset_id):
            problems.append(
                _("Port %(port)s of %(tag)s is already linked.", port=to_port, tag=to_switch)
            )
            continue
        current = link_at(asset.id, port)
        out.append(
            {
                "port": port,
                "from": _other_end(current, asset.id) if current else "",
                "to_switch": to_switch,
                "to_port": to_port,
            }
        )
    return out


PORT_KEYS = ("port", "to_switch", "to_port")


def link_at(asset_id: int, port: str) -> Link | None:
    return db.session().scalar(
        select(Link).where(
            ((Link.a_asset_id == asset_id) & (Link.a_port == port))
            | ((Link.b_asset_id == asset_id) & (Link.b_port == port))
        )
    )


def _other_end(link: Link, asset_id: int) -> str:
    if link.a_asset_id == asset_id:
        return f"{link.b_asset.asset_tag} {link.b_port}"
    return f"{link.a_asset.asset_tag} {link.a_port}"


def _check_address(asset: Asset, address: Any, problems: list[str]) -> list[dict[str, str]]:
    """The new management address (``{"to": ...}`` or the address itself)."""
    if not address:
        return []
    text = str(address.get("to") if isinstance(address, Mapping) else address).strip()
    try:
        new = str(parse_ip(text))
    except ValueError as exc:
        problems.append(str(exc))
        return []
    other = db.session().scalar(
        select(Asset.asset_tag).where(Asset.mgmt_ip == new, Asset.id != asset.id)
    )
    if other is not None:
        problems.append(_("%(address)s is the address of %(tag)s.", address=new, tag=other))
        return []
    return [{"from": asset.mgmt_ip or "", "to": new}]


def check_units(
    asset: Asset,
    rack: Rack,
    first: int,
    leaving: set[int],
    targets: dict[tuple[int, int], tuple[str, str]],
    problems: list[str],
) -> None:
    """The target units exist and are free: no other asset (but those this plan moves out),
    no reservation, no other open move plan's target."""
    top = first + max(asset.u_height, 1) - 1
    words = {"rack": rack.name}
    if first < 1 or top > rack.u_height:
        problems.append(
            _(
                "U%(first)d-U%(last)d is outside rack %(rack)s (1-%(height)d U).",
                first=first,
                last=top,
                height=rack.u_height,
                **words,
            )
        )
        return
    wanted = set(range(first, top + 1))
    for unit, holder in sorted(_occupants(rack, wanted).items()):
        if holder.id != asset.id and holder.id not in leaving:
            problems.append(
                _(
                    "U%(unit)d of rack %(rack)s is already occupied by %(tag)s.",
                    unit=unit,
                    tag=holder.asset_tag,
                    **words,
                )
            )
            return
    for unit, (plan, until) in sorted(reserved_in_db(rack, wanted).items()):
        problems.append(
            _(
                "U%(unit)d of rack %(rack)s is reserved for plan %(plan)s until %(until)s.",
                unit=unit,
                plan=plan,
                until=until,
                **words,
            )
        )
        return
    for unit in sorted(wanted):
        if (rack.id, unit) in targets:
            plan, tag = targets[(rack.id, unit)]
            problems.append(
                _(
                    "U%(unit)d of rack %(rack)s is where move plan %(plan)s puts %(tag)s.",
                    unit=unit,
                    plan=plan,
                    tag=tag,
                    **words,
                )
            )
            return


def _occupants(rack: Rack, wanted: set[int]) -> dict[int, Asset]:
    rows = db.session().execute(
        select(RackUnit.unit, Asset)
        .join(Asset, RackUnit.asset_id == Asset.id)
        .where(RackUnit.rack_id == rack.id, RackUnit.unit.in_(wanted))
    )
    return {unit: asset for unit, asset in rows}


def create_plan(
    name: str,
    steps: Sequence[Mapping[str, Any]],
    owner: str,
    site_id: int | None = None,
    notes: str = "",
    client_token: str | None = None,
) -> MovePlan:
    """A move plan (draft) of ``steps``: each ``asset`` (tag), ``to_rack`` (name or
    ``room/rack``), ``to_u``, optional ``ports`` (``[{port, to_switch, to_port}]``) and
    ``address`` (the new management address). All steps are checked; one wrong refuses the
    plan (``ValidationFailed`` keyed ``name`` and ``step N``). A retried form (same
    ``client_token``) returns the plan it made."""
    sess = db.session()
    if client_token:
        found = sess.scalar(select(MovePlan).where(MovePlan.client_token == client_token))
        if found is not None:
            return found
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("A move plan needs a name.")]
    elif len(name) > 128:
        errors["name"] = [
            _("At most %(limit)s characters (got %(count)s).", limit=128, count=len(name))
        ]
    elif sess.scalar(select(MovePlan.id).where(MovePlan.name == name)) is not None:
        errors["name"] = [_("There is already a move plan %(name)s.", name=name)]
    if not steps:
        errors["steps"] = [_("Add at least one step: an asset and where it goes.")]
    targets = open_targets(None)
    assets: list[Asset | None] = []
    for row in steps:
        tag = str(row.get("asset") or "").strip()
        assets.append(sess.scalar(select(Asset).where(Asset.asset_tag == tag)) if tag else None)
    leaving = {a.id for a in assets if a is not None}
    seen: dict[int, int] = {}
    mine: dict[tuple[int, int], str] = {}
    built: list[MoveStep] = []
    for number, (row, asset) in enumerate(zip(steps, assets, strict=True), start=1):
        problems: list[str] = []
        tag = str(row.get("asset") or "").strip()
        if asset is None:
            problems.append(
                _("No asset has the tag “%(tag)s”.", tag=tag[:64])
                if tag
                else _("Scan or type the asset tag.")
            )
        rack = _rack(str(row.get("to_rack") or ""), site_id)
        if rack is None:
            problems.append(
                _("No rack %(rack)s (write room/rack when the name is in several rooms).",
                  rack=str(row.get("to_rack") or "").strip()[:100] or "—")
            )  # fmt: skip
        first = _int(row.get("to_u"))
        if first is None:
            problems.append(_("The new U must be a whole number, got “%(value)s”.",
                              value=str(row.get("to_u") or "")[:20]))  # fmt: skip
        if asset is not None and not problems:
            assert rack is not None and first is not None
            if asset.id in seen:
                problems.append(
                    _("%(tag)s is already step %(step)d.", tag=asset.asset_tag, step=seen[asset.id])
                )
            other = _asset_in_open_plan(asset.id)
            if other is not None:
                problems.append(
                    _("%(tag)s is in move plan %(plan)s.", tag=asset.asset_tag, plan=other)
                )
            if asset.rack_id == rack.id and asset.u_position == first:
                problems.append(
                    _("%(tag)s is already in rack %(rack)s at U%(unit)d.",
                      tag=asset.asset_tag, rack=rack.name, unit=first)
                )  # fmt: skip
            check_units(asset, rack, first, leaving, targets, problems)
            for key in _units(rack.id, first, asset.u_height):
                if key in mine and not problems:
                    problems.append(
                        _("U%(unit)d of rack %(rack)s is also the target of %(tag)s.",
                          unit=key[1], rack=rack.name, tag=mine[key])
                    )  # fmt: skip
                mine[key] = asset.asset_tag
            ports = _check_ports(asset, row.get("ports"), problems)
            addresses = _check_address(asset, row.get("address"), problems)
        if problems:
            label = _("Step %(step)d", step=number)
            errors[f"step {number}"] = [f"{label} ({tag or '—'}): {p}" for p in problems]
            continue
        assert asset is not None and rack is not None and first is not None
        seen[asset.id] = number
        built.append(
            MoveStep(
                position=number,
                asset_id=asset.id,
                from_rack_id=asset.rack_id,
                from_u=asset.u_position,
                to_rack_id=rack.id,
                to_u=first,
                ports=ports,
                addresses=addresses,
                state=StepState.PENDING.value,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    plan = MovePlan(
        name=name,
        site_id=site_id,
        owner=owner,
        notes=notes.strip(),
        state=MoveState.DRAFT.value,
        created_at=clock.now(),
        client_token=client_token or None,
        steps=built,
    )
    sess.add(plan)
    sess.flush()
    return plan
