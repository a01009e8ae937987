"""People as a reader knows them: full names (姓名), and the system as 系统.

Rows store who did something by login name (``zhangwei``) or, for the machine's own acts, by
a system actor (``sla``, ``system``, ``poller``). Pages, exports and reports show the person's
full name instead; the login name is shown only where accounts are managed.
``full_name()`` reads every account once per request (or once per call outside a request).
"""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select

from opskit import db
from opskit.models import User

# actors that are not people: opskit itself (the SLA clock, the poller, rules, the scheduler,
# the demo's seeder)
SYSTEM_ACTORS = frozenset({"sla", "system", "poller", "rules", "scheduler", "demo"})


def _names() -> dict[str, str]:
    if has_request_context() and "_opskit_people" in g:
        return g._opskit_people
    rows = db.session().execute(select(User.username, User.display_name))
    names = {username: (shown or "").strip() or username for username, shown in rows}
    if has_request_context():
        g._opskit_people = names
    return names


def full_name(username: str | None) -> str:
    """The person's full name; 系统/System for opskit's own acts; the stored text otherwise."""
    if not username:
        return ""
    if username in SYSTEM_ACTORS:
        return _("System")
    if username == "anonymous":  # the audit's actor for a write outside any login
        return _("Not logged in")
    if username.startswith("cli:"):  # `opskit ...` run by an account of this computer
        account = username.removeprefix("cli:")
        if account == "demo":
            return _("System")
        return _("Command line (%(account)s)", account=account)
    return _names().get(username, username)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["person"] = full_name
