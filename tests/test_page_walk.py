"""Every page, as every role, in both languages: no error, no stored key, no login name.

The living demo's data (``opskit.demo.seed``) is seeded once for the module. Then every GET
route of ``app.url_map`` is requested with real ids from the demo (an asset of every kind, a
round in every state, every checklist, an alert in every state ...) by admin, engineer,
supervisor, viewer and an anonymous visitor, in Simplified Chinese and in English. A page fails
when

- it answers 5xx;
- its visible text (scripts, styles, tags with their attribute values, and the text of form
  fields removed) holds a snake_case or dotted identifier (``fire_security``,
  ``ups.output.load_percent``) that is not a real identifier of ``ALLOWED_WORDS`` (file names,
  host names, e-mail addresses, URLs);
- in Chinese, its visible text holds a stored key as a word (``fail``, ``snmp``, ``draft``):
  every key opskit stores (enum values, checklist, item and option keys, kinds, roles, the
  actors of opskit itself);
- it shows a person's login name where the person has a full name (outside ``ACCOUNT_PAGES``).

The same checks read every cell of the demo's report pack (every kind) and of the exports
(assets, patrol, logbook), in both languages.

Routes in ``SKIPPED`` are not requested (files, JSON, what the demo has no value for); a route
that answers a file or JSON is recognised as such; a new route whose URL parameter the walk
cannot fill fails the walk, naming the parameter.
"""

from __future__ import annotations

import html
import io
import itertools
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from opskit import clock, db
from opskit.config import Settings
from opskit.models import AuditLog, User
from tests.conftest import PERSONAS, copy_demo, login, make_test_app, post_form

# the walk is one module fixture: its tests run on one worker, so the demo is seeded once
pytestmark = pytest.mark.xdist_group("page_walk")

LOCALES = ("zh_CN", "en")

#: routes not requested by the page walk, and why
SKIPPED = {
    "static": "static files",
    "patrol_service_worker": "the service worker script",
    "home.healthz": "JSON for load balancers",
    # Prometheus's text for scrapers with a token or an allowed address, no login session:
    # tests/monitors/test_prometheus.py and test_prometheus_scrape.py
    "metrics.metrics": "the Prometheus exposition",
    "home.tls_ca": "a certificate file",
    "labels.qr": "an SVG image",
    "inspections.photo": "a photo file (the demo has none)",
    "monitors.asset_series": "JSON for the charts",
    "monitors.topology_json": "JSON for the topology graph",
    "reports.stored": "a stored workbook (the demo has none)",
    "assets_excel.export": "a workbook: read by test_workbooks_...",
    "assets_excel.template": "a workbook: read by test_workbooks_...",
    "patrol_views.export": "a workbook: read by test_workbooks_...",
    "logbook.export": "a workbook: read by test_workbooks_...",
    # the API reference: its field names and values are what it is about (test_api_docs.py)
    "api_docs.page": "the API reference",
    "requests.photo": "a request's photo file (the demo has none)",
}
#: The JSON API (``/api/v1/...``, Bearer tokens only) is not a page: schemathesis drives every
#: operation of it (tests/test_openapi_schemathesis.py), so its routes are skipped by their rule.
API_PREFIX = "/api/v1/"

#: routes that only redirect (to a page the walk visits itself)
REDIRECTS = {
    "labels.resolve",
    "labels.resolve_typed",
    "rack_labels.resolve",
    "inspections.index",
    "inspections.finding",
}
REDIRECT_CODES = {301, 302, 303}

#: pages where accounts are managed: the login name is what they are about
ACCOUNT_PAGES = {"users.user_list", "users.user_edit", "users.account"}

# --- what a reader sees, and what must not be in it ---------------------------------------

#: a "word" of visible text: ASCII letters, digits and the characters identifiers are made of
WORD = re.compile(r"[A-Za-z0-9_.@:/%+#-]+")
SNAKE = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
DOTTED = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+")
#: real identifiers, shown as they are (asset tags, IPs and OIDs never match the patterns above:
#: they are upper case or digits)
ALLOWED_WORDS = [
    re.compile(r"[^@\s]+@[^@\s]+"),  # e-mail addresses
    # URLs (the labels' QR address) and schemes (the HTTP check's "http:// or https://")
    re.compile(r"[a-z][a-z0-9+.-]*://\S*"),
    # file names (uploads, backups, the checklist files, the TLS files)
    re.compile(r"\S+\.(xlsx|xls|csv|yaml|yml|json|png|jpe?g|svg|db|sqlite|crt|pem|key|log|txt)"),
    # a scanner's files (the vulnerability scans' file names: report.xml, weekly.nessus)
    re.compile(r"\S+\.(xml|nessus)"),
    # a device's configuration and firmware files (an upgrade record's files backed up)
    re.compile(r"\S+\.(cfg|bin|ipe|img)"),
    # host names and domains (SMTP servers)
    re.compile(
        r"[a-z0-9-]+(\.[a-z0-9-]+)*\.(example|com|cn|net|org|local|lan|internal|localdomain)"
    ),
    re.compile(r"e\.g|i\.e"),  # Latin abbreviations in English help text
    # the database servers' settings the R-DB recommendations tell a DBA to change (the demo's
    # database server makes them fire in its packs)
    re.compile(r"max_connections|shared_buffers|innodb_buffer_pool_size"),
    # where a database server's statement statistics come from (the top statements sheet)
    re.compile(r"pg_stat_statements|performance_schema"),
]
#: a database's SQL statement, shown as the engine normalised it (the top statements sheet's
#: cells, and quoted in a recommendation): its table and column names are the customer's data
SQL_VERB = r"(?:SELECT|INSERT|UPDATE|DELETE|WITH|CALL|SHOW|SET)\b"
SQL_STATEMENT = re.compile(rf"^{SQL_VERB}.*$|[「“]{SQL_VERB}[^」”]*[」”]", re.S)


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, comments, tags or attribute values."""
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    # a form field's text is what the user types, like an input's value (the YAML editors)
    page = re.sub(r"<(script|style|textarea)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    # a device's configuration lines (a version page's cells) are the device's text, like a
    # database's SQL statement: its keywords (``ip``, ``vlan``) are not opskit's stored keys
    page = re.sub(r'<td class="text(?: left| right)?">.*?</td>', " ", page, flags=re.S)
    # a vulnerability scanner's texts (a finding's name, its solution) are the scanner's words,
    # in its language: ``aes128_ctr`` or ``server`` there is no key of opskit's
    page = re.sub(r'<span class="scanner-text">[^<]*</span>', " ", page)
    page = re.sub(r"<[^>]*>", " ", page)
    return " ".join(html.unescape(page).split())


def words(text: str) -> list[str]:
    """The ASCII words of ``text``, without the real identifiers of the allowlist."""
    found = []
    for raw in WORD.findall(text):
        word = raw.strip(".:/-#")
        if word and not any(a.fullmatch(word) or a.fullmatch(raw) for a in ALLOWED_WORDS):
            found.append(word)
    return found


def identifiers(text: str) -> set[str]:
    """snake_case and dotted identifiers in ``text`` that are not allowlisted real ones."""
    found = set()
    for word in words(SQL_STATEMENT.sub(" ", text)):
        dotted = list(DOTTED.finditer(word))
        found.update(m.group(0) for m in dotted)
        found.update(  # a snake_case part of a dotted one is that one
            m.group(0)
            for m in SNAKE.finditer(word)
            if not any(d.start() <= m.start() < d.end() for d in dotted)
        )
    return found


def plain_words(text: str) -> set[str]:
    """Lower-case ASCII words standing on their own (not part of a tag, address or name)."""
    return {w for w in words(SQL_STATEMENT.sub(" ", text)) if re.fullmatch(r"[a-z][a-z0-9_]*", w)}


def stored_keys() -> set[str]:
    """Every key opskit stores that a page could show instead of its word."""
    from assets import models as assets
    from assets import move_models as moves
    from inspections import labels as patrol
    from inspections.queries import checklists
    from monitors.kinds import KINDS as MONITOR_KINDS
    from monitors.models import MonitorState
    from opskit.alerts import models as alerts
    from opskit.alerts.services import SOURCE_LABELS
    from opskit.alerts.transports import TRANSPORTS as CHANNEL_KINDS
    from opskit.models import Role
    from opskit.people import SYSTEM_ACTORS
    from opskit.servicedesk import categories
    from opskit.servicedesk import models as desk
    from opskit.servicedesk.clocks import STATES as REQUEST_CLOCK_STATES
    from opskit.servicedesk.services.surveys import Refusal, Via
    from opskit.sla import REQUEST_CLOCKS
    from reports.kinds import KINDS as REPORT_KINDS

    keys: set[str] = set()
    enums = [
        assets.AssetKind,
        assets.AssetStatus,
        assets.Importance,
        assets.AddressStatus,
        assets.LinkSource,
        MonitorState,
        Role,
        alerts.AlertStatus,
        alerts.EventKind,
        alerts.IncidentGrade,
        alerts.Phase,
        moves.MoveState,
        moves.StepState,
    ]
    for enum in enums:
        keys.update(member.value for member in enum)
    for labels in (patrol.SLOT_STATE_LABELS, patrol.ROUND_STATUS_LABELS, patrol.LEVEL_LABELS):
        keys.update(labels)
    keys.update(patrol.CHECK_LABELS)  # pass, fail
    for checklist in checklists().values():
        keys.add(checklist.key)
        for item in checklist.items:
            keys.update({item.key, item.kind})
            keys.update(option.key for option in item.options)
    keys.update(MONITOR_KINDS, CHANNEL_KINDS, SOURCE_LABELS, REPORT_KINDS, SYSTEM_ACTORS)
    # the service desk's: a request's channel, status, urgency ..., its category and clocks
    for enum in (
        desk.Channel,
        desk.Status,
        desk.WorkMode,
        desk.OnsiteHow,
        desk.CloseHow,
        desk.SuspendReason,
        desk.EventKind,
        Via,
        Refusal,
    ):
        keys.update(member.value for member in enum)
    keys.update(categories.categories(), REQUEST_CLOCKS, REQUEST_CLOCK_STATES)
    # whoever wrote a row that is not a person (the demo's seeder, the poller ...): 系统/System
    logins = set(db.session().scalars(select(User.username)))
    keys.update(set(db.session().scalars(select(AuditLog.actor).distinct())) - logins)
    return {k for k in keys if re.fullmatch(r"[a-z][a-z0-9_]*", k)}


def problems_in(where: str, text: str, locale: str, keys: set[str], logins: dict) -> list[str]:
    """What ``text`` (a page's visible text, a cell) shows that a reader should not see."""
    named = identifiers(text)
    found = [f"identifier {word!r}" for word in sorted(named)]
    shown = plain_words(text) - named
    if where in ACCOUNT_PAGES:
        shown -= set(logins)  # the accounts' login names, which are also role keys here
    else:
        for username, name in logins.items():
            # the personas' logins are English words: in English text they may be prose
            if username in shown and (locale == "zh_CN" or username not in PERSONAS):
                found.append(f"login name {username!r} (full name {name!r})")
                shown.discard(username)
    if locale == "zh_CN":
        found += [f"stored key {word!r}" for word in sorted(shown & keys)]
    return found


# --- the routes ---------------------------------------------------------------------------


def _route_endpoints() -> tuple[list[str], set[str]]:
    """The GET endpoints of the app, and those of the JSON API among them (built once at
    collection, on a throwaway instance)."""
    folder = Path(tempfile.mkdtemp(prefix="opskit-routes-"))
    try:
        from opskit import create_app

        settings = Settings(
            instance_path=folder / "instance",
            database_url=f"sqlite:///{folder / 'routes.db'}",
            secret_key="routes-only",
        )
        app = create_app({"TESTING": True}, settings=settings)
        rules = [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())]
        app.extensions["opskit.engine"].dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    api = {r.endpoint for r in rules if r.rule.startswith(API_PREFIX)}
    return sorted({r.endpoint for r in rules}), api


def _skipped(endpoint: str) -> bool:
    return endpoint in SKIPPED or endpoint in API_ENDPOINTS


ENDPOINTS, API_ENDPOINTS = _route_endpoints()
WALKED = [e for e in ENDPOINTS if not _skipped(e)]


@dataclass
class Walk:
    app: Flask
    keys: set[str]
    logins: dict[str, str]  # login name → full name, of those whose full name differs
    urls: dict[str, list[str]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    html_pages: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def _ids() -> dict[str, list[Any]]:
    """Real values for every URL parameter: a few of each where the pages differ by kind."""
    from assets.models import Asset, IPAddress, Prefix, Rack, Reservation, Room, Site
    from assets.move_models import MovePlan
    from inspections.logbook.models import AccessEntry, PowerEvent
    from inspections.models import PatrolFinding, PatrolPlan, PatrolRound
    from inspections.queries import checklists
    from inspections.vulns.models import VulnFinding, VulnScan
    from monitors.configs.models import ConfigVersion
    from monitors.configs.upgrades.models import ConfigUpgrade
    from monitors.models import Monitor
    from opskit import dashboard
    from opskit.alerts.models import Alert, Incident, NotificationChannel
    from opskit.servicedesk.models import Loan, Repair, Runbook, ServiceRequest, Survey
    from opskit.servicedesk.services import token_for

    sess = db.session()

    def first(column, *where) -> Any:
        return sess.scalar(select(column).where(*where).order_by(column).limit(1))

    def one_per(column, group) -> list[Any]:
        chosen: dict[Any, Any] = {}
        for value, key in sess.execute(select(column, group).order_by(column)):
            chosen.setdefault(key, value)
        return sorted(chosen.values())

    monitored = one_per(Monitor.asset_id, Monitor.kind)  # an SNMP device, this host
    # survey links: one still open, one answered, one expired unanswered (410 pages)
    now = clock.now()
    surveys = [
        sess.scalar(select(Survey).where(*where).order_by(Survey.id).limit(1))
        for where in (
            (Survey.used_at.is_(None), Survey.expires_at > now),
            (Survey.used_at.is_not(None),),
            (Survey.used_at.is_(None), Survey.expires_at <= now),
        )
    ]
    with_finding = first(PatrolRound.client_id, PatrolRound.id.in_(select(PatrolFinding.round_id)))
    return {
        "asset_id": sorted(set(one_per(Asset.id, Asset.kind)) | set(monitored)),
        "tag": [first(Asset.asset_tag)],
        "rack_id": [first(Rack.id)],
        "room_id": [first(Room.id)],
        "site_id": [first(Site.id)],
        "prefix_id": [first(Prefix.id)],
        "address_id": [first(IPAddress.id)],
        "reservation_id": [first(Reservation.id)],  # the demo's plan in progress
        "move_id": [first(MovePlan.id)],  # the demo's finished move
        "monitor_id": one_per(Monitor.id, Monitor.kind),
        "client_id": sorted(
            set(one_per(PatrolRound.client_id, PatrolRound.status)) | {with_finding}
        ),
        "plan_id": list(sess.scalars(select(PatrolPlan.id).order_by(PatrolPlan.id))),
        "finding_id": [first(PatrolFinding.id)],
        "key": sorted(checklists()),
        "entry_id": [first(AccessEntry.id)],
        "event_id": [first(PowerEvent.id)],
        "alert_id": one_per(Alert.id, Alert.status),
        "incident_id": one_per(Incident.id, Incident.status),
        "channel_id": [first(NotificationChannel.id)],
        "user_id": [first(User.id, User.username == "zhangwei")],
        # a request in every status, and the one with the spare lent (temporary measure,
        # breaches, a vendor repair)
        "request_id": sorted(
            set(one_per(ServiceRequest.id, ServiceRequest.status)) | {first(Loan.request_id)}
        ),
        # a vendor repair signed by both sides, and one of the engineer's own
        "repair_id": [
            first(Repair.id, Repair.rma_number != ""),
            first(Repair.id, Repair.vendor == ""),
        ],
        "token": [token_for(survey) for survey in surveys if survey is not None],
        "name": sorted(dashboard.TILES),  # /tiles/<name>
        # a runbook of every scope the demo has (the UPS one, of two versions, first)
        "runbook_id": one_per(Runbook.id, Runbook.scope),
        # /runbooks/<id>/versions/<n>: every runbook's first; the UPS one's second, with the
        # difference from the first (the others have none: 404)
        "version": [1, 2],
        # /configs/<asset_id>/versions/<id>: the core switch's change (a diff); the other
        # assets' URLs with it are 404
        "version_id": [first(ConfigVersion.id, ConfigVersion.number == 2)],
        "upgrade_id": [first(ConfigUpgrade.id)],
        # a vulnerability finding of every state, a scan of every scanner (nmap's inventory)
        "vuln_id": one_per(VulnFinding.id, VulnFinding.state),
        "scan_id": one_per(VulnScan.id, VulnScan.scanner),
    }


def _urls(app: Flask) -> dict[str, list[str]]:
    """Every walked endpoint's URLs, its parameters filled with the demo's values."""
    from assets.models import Rack
    from inspections.models import PatrolPlan

    with app.app_context():
        ids = _ids()
        door = db.session().get(Rack, ids["rack_id"][0])
        rack_label = {"site": door.room.site.name, "room": door.room.name, "rack": door.name}
        plan = db.session().get(PatrolPlan, ids["plan_id"][0])
        slot = datetime.combine(
            clock.site_today() + timedelta(days=1),
            time.fromisoformat(plan.schedule_times[0]),
            clock.site_tz(),
        )
        # the round start page's offline pages: a planned slot (tomorrow's: today's may all
        # have their rounds) and an ad hoc round of a room
        offline = [
            {"plan_id": plan.id, "room_id": plan.room_id, "scheduled_for": slot.isoformat()},
            {"room_id": plan.room_id, "adhoc": "1"},
        ]
    rack = ids["rack_id"][0]
    queries: dict[str, list[dict[str, Any]]] = {
        # with the loopback warning (the tests' base URL is localhost), and printed anyway
        "labels.sheet": [{"rack_id": rack}, {"rack_id": rack, "print_anyway": "1"}],
        "rack_labels.resolve": [rack_label],  # where a rack label leads
        "rack_labels.sheet": [
            {"rack_id": rack},
            {"room_id": ids["room_id"][0], "print_anyway": "1"},
        ],
        "patrol_views.trends": [{}, {"item": "room_environment.cold_aisle_temperature"}],
        "inspections.offline_round": offline,
    }
    urls: dict[str, list[str]] = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint not in WALKED or "GET" not in (rule.methods or ()):
                continue
            names = sorted(rule.arguments)
            missing = [n for n in names if not ids.get(n) or None in ids[n]]
            assert not missing, f"{rule.rule}: no value for {missing} in the demo's data"
            for values in itertools.product(*(ids[n] for n in names)):
                for query in queries.get(rule.endpoint, [{}]):
                    args = dict(zip(names, values, strict=True)) | query
                    urls.setdefault(rule.endpoint, []).append(url_for(rule.endpoint, **args))
    return urls


def _set_locale(app: Flask, locale: str) -> None:
    with app.app_context():
        db.session().execute(update(User).values(locale=locale))
        db.session().commit()


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Walk]:
    """The demo site on a test database (with the personas), and one notification channel."""
    folder = tmp_path_factory.mktemp("page-walk")
    app = make_test_app(copy_demo(demo_template, folder), folder / "instance", None)
    with app.app_context():
        keys = stored_keys()
        users = db.session().execute(select(User.username, User.display_name))
        logins = {u: n for u, n in users if n and n != u}
    admin = app.test_client()
    login(admin, "admin")
    channel = {"name": "值班邮件组", "kind": "email", "host": "smtp.example.cn", "port": "25"}
    channel.update({"from": "opskit@example.cn", "to": "oncall@example.cn", "urgency_A": "1"})
    assert post_form(admin, "/alerts/channels/new", channel).status_code == 302
    walk = Walk(app, keys, logins, _urls(app))
    yield walk
    app.extensions["opskit.engine"].dispose()


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def walk(demo: Walk) -> Walk:
    """Every URL requested by every role and an anonymous visitor, in both languages."""

    def visit(client: FlaskClient, who: str, locale: str) -> None:
        for endpoint, urls in demo.urls.items():
            for url in urls:
                with client.get(url) as response:
                    status, mimetype = response.status_code, response.mimetype
                    body = response.get_data(as_text=True) if mimetype == "text/html" else ""
                demo.statuses[endpoint].add(status)
                where = f"{url} ({who}, {locale})"
                if status >= 500:
                    demo.problems[endpoint].append(f"{where}: {status}")
                    continue
                if status == 200 and mimetype != "text/html":
                    demo.files[endpoint] += 1  # a file or JSON: not a page
                if mimetype != "text/html" or status in REDIRECT_CODES:
                    continue
                if status in (200, 400):  # a page, or a form with its errors
                    demo.html_pages[endpoint] += 1
                text = visible_text(body)
                for problem in problems_in(endpoint, text, locale, demo.keys, demo.logins):
                    demo.problems[endpoint].append(f"{where}: {problem}")

    for locale in LOCALES:
        _set_locale(demo.app, locale)
        anonymous = demo.app.test_client()
        with anonymous.session_transaction() as session:
            session["locale"] = locale
        visit(anonymous, "anonymous", locale)
        for role in PERSONAS:
            client = demo.app.test_client()
            login(client, role)
            visit(client, role, locale)
    return demo


# --- the tests ----------------------------------------------------------------------------


def test_the_checks_catch_keys_identifiers_and_login_names() -> None:
    text = visible_text(
        '<p title="fire_security">消防安防 fire_security</p><script>var a_b = 1</script>'
        "<td>ups.output.load_percent</td><td>巡检人 zhangwei</td><td>fail</td>"
        "<td>backup_2026.xlsx ops@example.cn smtp.example.cn e.g. ZJ-UPS-A1 10.0.0.1</td>"
        "<td>http://localhost/a/ZJ-UPS-A1</td><textarea>working_hours: 5x8</textarea>"
    )
    assert identifiers(text) == {"fire_security", "ups.output.load_percent"}
    found = problems_in("home.index", text, "zh_CN", {"fail", "http"}, {"zhangwei": "张伟"})
    assert "stored key 'fail'" in found and "login name 'zhangwei' (full name '张伟')" in found
    assert "stored key 'http'" not in found  # part of an address
    assert not problems_in("users.user_list", "zhangwei", "zh_CN", set(), {"zhangwei": "张伟"})
    # in English, a persona's login may be a word of the prose ("an engineer"); not in Chinese
    assert not problems_in("home.index", "an engineer", "en", set(), {"engineer": "张伟"})
    assert problems_in("home.index", "巡检人 engineer", "zh_CN", set(), {"engineer": "张伟"})
    # a database's statements are its data: a statement cell, or one quoted in a sentence
    assert identifiers("SELECT qty FROM order_lines WHERE item_id = $1") == set()
    assert identifiers("语句「UPDATE stock SET qty = $1 WHERE item_id = $2」。请 order_lines") == {
        "order_lines"
    }


def test_every_get_route_is_walked_or_skipped_for_a_reason(walk: Walk) -> None:
    assert set(walk.urls) == set(WALKED)
    assert not [e for e in SKIPPED if e not in ENDPOINTS], "a skipped route no longer exists"


@pytest.mark.parametrize("endpoint", WALKED)
def test_page(walk: Walk, endpoint: str) -> None:
    problems = walk.problems.get(endpoint, [])
    shown = "\n".join(problems[:40])
    if len(problems) > 40:
        shown += f"\n... {len(problems) - 40} more"
    assert not problems, f"{len(problems)} problems:\n{shown}"
    if endpoint in REDIRECTS:
        assert walk.statuses[endpoint] <= REDIRECT_CODES, walk.statuses[endpoint]
    else:
        # at least one role saw the page itself (not only redirects, 403 or 404), or the
        # route sends a file or JSON (an icon, a manifest): nothing to read there
        assert walk.html_pages[endpoint] or walk.files[endpoint], walk.statuses[endpoint]


@pytest.mark.parametrize("locale", LOCALES)
def test_workbooks_show_words_and_full_names(demo: Walk, locale: str, tmp_path: Path) -> None:
    """The demo's report pack (every kind, the month of a week ago: at least a week of the
    demo's history) and the exports the pages offer, cell by cell."""
    from reports.build import build_pack
    from reports.periods import parse_period

    app = demo.app
    with app.test_request_context("/"):
        month = f"{clock.site_today() - timedelta(days=7):%Y-%m}"
        build_pack(parse_period(month, clock.site_tz()), tmp_path / "pack.xlsx", None, locale)
        with force_locale(locale):
            key_header = gettext("Key")  # a header of the import template's help sheet
    books = {"report pack": openpyxl.load_workbook(tmp_path / "pack.xlsx", read_only=True)}
    _set_locale(app, locale)
    client = app.test_client()
    login(client, "admin")
    for url in (
        "/assets/excel/export.xlsx",
        "/assets/excel/template.xlsx",
        f"/patrol/export.xlsx?month={month}",
        "/patrol/logbook/export.xlsx",
    ):
        with client.get(url) as response:
            assert response.status_code == 200, url
            books[url] = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    problems = set()
    cells = 0
    for name, book in books.items():
        for sheet in book.worksheets:
            keys_column = None  # the import template's help names each column's English key
            for number, row in enumerate(sheet.iter_rows(values_only=True)):
                if number == 0 and name.endswith("template.xlsx") and key_header in row:
                    keys_column = row.index(key_header)
                for column, value in enumerate(row):
                    if not isinstance(value, str) or column == keys_column:
                        continue
                    cells += 1
                    for problem in problems_in("workbook", value, locale, demo.keys, demo.logins):
                        problems.add(f"{name} / {sheet.title}: {problem} in {value[:60]!r}")
        book.close()
    assert cells > 1000  # the books are full of the demo's data
    assert not problems, "\n".join(sorted(problems))
