"""Small builders and readers of test data (call inside an app context; they flush, not commit)."""

from __future__ import annotations

from datetime import date
from typing import Any

from assets import services
from assets.models import Asset, Prefix, Rack
from opskit import db


def rack(site: str = "总部", room: str = "A机房", name: str = "A01", u_height: int = 42) -> Rack:
    s, _ = services.get_or_create_site(site)
    r, _ = services.get_or_create_room(s, room)
    k, _ = services.get_or_create_rack(r, name, u_height)
    db.session().flush()
    return k


def asset(tag: str, kind: str = "server", **values: Any) -> Asset:
    data: dict[str, Any] = {"asset_tag": tag, "name": values.pop("name", tag), "kind": kind}
    data.update(values)
    a = services.save_asset(data)
    db.session().flush()
    return a


def prefix(cidr: str, **values: Any) -> Prefix:
    p = services.save_prefix({"cidr": cidr, **values})
    db.session().flush()
    return p


def event_kinds(alert_id: int) -> list[str]:
    """The kinds of an alert's history events, oldest first."""
    from sqlalchemy import select

    from opskit.alerts.models import AlertEvent

    query = select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)
    return list(db.session().scalars(query.order_by(AlertEvent.id)))


WARRANTY_DATE = date(2027, 6, 30)
