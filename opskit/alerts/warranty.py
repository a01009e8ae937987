"""Warranty alerts: the registry's warranties that have ended or end within 30 days, raised as
alerts by the desk (the registry sits below the desk and never imports it).

``sync_warranty_alerts`` is idempotent: run it daily (``opskit assets remind``, a command this
module adds to the registry's group through ``assets.extensions``); each asset has one open alert
(source ``registry``, urgency C) that is updated with the days left, and cleared when the
warranty is extended or the asset retired. The assets come from ``assets.queries``.
"""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from assets import extensions
from assets import queries as registry
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.alerts import wording
from opskit.alerts.models import OPEN_STATUSES, Alert
from opskit.audit import acting_as

RULE = "registry.warranty"
WITHIN_DAYS = 30
#: what a warranty alert says (the msgids below, in the site's language when raised), said again
#: in a workbook's language (``opskit.alerts.wording.register_message_words``)
SAID = (
    "%(tag)s %(name)s: warranty ended on %(date)s",
    "%(tag)s %(name)s: warranty ends on %(date)s (%(days)d days)",
)


def _key(asset_id: int) -> str:
    return f"registry:warranty:{asset_id}"


def sync_warranty_alerts(today: date) -> tuple[int, int]:
    """Raise or update the warranty alerts due today; clear the rest. Returns (open, cleared)."""
    wanted = set()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        for reminder in registry.warranty_reminders(today, within_days=WITHIN_DAYS):
            asset = reminder.asset
            end = asset.warranty_end.isoformat() if asset.warranty_end else ""
            if reminder.days_left < 0:
                text = _(
                    "%(tag)s %(name)s: warranty ended on %(date)s",
                    tag=asset.asset_tag,
                    name=asset.name,
                    date=end,
                )
            else:
                text = _(
                    "%(tag)s %(name)s: warranty ends on %(date)s (%(days)d days)",
                    tag=asset.asset_tag,
                    name=asset.name,
                    date=end,
                    days=reminder.days_left,
                )
            alerts.raise_alert(
                _key(asset.id),
                source="registry",
                rule=RULE,
                urgency="C",
                message=text,
                asset_id=asset.id,
            )
            wanted.add(_key(asset.id))
    stale = (
        db.session()
        .scalars(select(Alert.dedup_key).where(Alert.rule == RULE, Alert.status.in_(OPEN_STATUSES)))
        .all()
    )
    cleared = 0
    for key in stale:
        if key not in wanted:
            alerts.clear_alert(key, note="warranty renewed or asset retired")
            cleared += 1
    return len(wanted), cleared


@click.command("remind")
def remind_cmd() -> None:
    """Raise or clear warranty alerts (expired or ending within 30 days); run daily."""
    with acting_as("reminders"):
        open_count, cleared = sync_warranty_alerts(clock.site_today())
        db.session().commit()
    click.echo(f"warranty alerts open: {open_count}, cleared: {cleared}")


def init_app(app: Flask) -> None:
    """``opskit assets remind``: the command joins the registry's group."""
    extensions.COMMANDS["remind"] = remind_cmd
    wording.register_message_words(RULE, said_again)


def said_again(alerts: list[Alert]) -> dict[int, str]:
    """alert id → a warranty alert's message in the language being written."""
    out = {}
    for alert in alerts:
        said = wording.said_again(alert.message, SAID)
        if said is not None:
            out[alert.id] = said
    return out
