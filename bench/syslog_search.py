"""Benchmark: the syslog search page's queries on 1 million stored messages, each against the
same query made to read the table without its indexes, in the same run.

    python bench/syslog_search.py                                   # SQLite, 1,000,000 rows
    python bench/syslog_search.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    OPSKIT_TEST_POSTGRES_URL=... python bench/syslog_search.py       # the same
    python bench/syslog_search.py --rows 200000 --runs 3            # smaller, quicker

The data: ``--rows`` messages (1,000,000) spread over the 90 days before now, in arrival order
(ids rising with time, as the receiver stores them), busier in working hours, from 200 senders
(180 registered switches, firewalls and servers with their management IPs, 20 unknown
addresses; a few chatty ones send most, as in a real room) in the formats the receiver parses:
Cisco ``LINK-3-UPDOWN`` / ``SEC_LOGIN-5-LOGIN_SUCCESS`` / ``SW_MATM-4-MACFLAP_NOTIF``, Huawei
``IFNET/4/LINK_STATE`` / ``SHELL/5/CMDRECORD``, H3C, Linux ``sshd``/``CRON``/``kernel``; mostly
informational and notice, some warnings and errors, a rare power-supply failure. PostgreSQL
(``--postgres`` or ``OPSKIT_TEST_POSTGRES_URL``; a private schema, dropped at the end) is
seeded with ``COPY`` (its indexes dropped first and built again after), SQLite (a temporary
file) with ``executemany``; the indexes are those of the migrations (on PostgreSQL with
``pg_trgm``, the trigram indexes of migration 0018 too).

Timed, each through ``monitors.syslog.queries.search`` (what the page calls; median of
``--runs``): the last hour; one asset's last 24 hours; warning or worse over 7 days; a text
search over 7 days for a rare and a common text; the first page of everything and the 20th
page (a keyset cursor). For each, the SQL it ran is captured and shown with the plan's summary
(``EXPLAIN`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite: which index, or a scan of the
table), then run again without indexes (PostgreSQL ``SET LOCAL enable_indexscan/
enable_bitmapscan/enable_indexonlyscan = off``; SQLite ``FROM syslog_message NOT INDEXED``):
the baseline, and the ratio indexed / baseline. Then the 日志分析 report's figures over the last
30 days (``severity_counts``, ``top_sources``, ``top_programs``, ``hourly_counts``), and one GET
of the page itself through the Flask test client, logged in, for the first page and for a
filtered search.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import PASSWORD, login  # noqa: E402 - after the path is set

DAYS = 90
ASSETS, UNKNOWN = 180, 20
COLUMNS = (
    "received_at",
    "source",
    "asset_id",
    "facility",
    "severity",
    "hostname",
    "program",
    "text",
    "structured_data",
)
RARE_TEXT = "power supply"
COMMON_TEXT = "GigabitEthernet1/0/7"

#: (vendor, program, severity, facility, text template); {i} an interface, {a}.{b} an address
TEMPLATES: dict[str, list[tuple[str, int, int, str]]] = {
    "cisco": [
        ("LINK-3-UPDOWN", 3, 23, "Interface GigabitEthernet1/0/{i}, changed state to {updown}"),
        (
            "LINEPROTO-5-UPDOWN",
            5,
            23,
            "Line protocol on Interface GigabitEthernet1/0/{i}, changed state to {updown}",
        ),
        (
            "SEC_LOGIN-5-LOGIN_SUCCESS",
            5,
            23,
            "Login Success [user: admin] [Source: 10.0.{a}.{b}] [localport: 22] at {t}",
        ),
        ("SYS-5-CONFIG_I", 5, 23, "Configured from console by admin on vty0 (10.0.{a}.{b})"),
        (
            "SW_MATM-4-MACFLAP_NOTIF",
            4,
            23,
            "Host 0050.56{a:02x}.{b:02x}00 in vlan {v} is flapping between port Gi1/0/{i} and "
            "port Gi1/0/{j}",
        ),
        (
            "DOT1X-5-SUCCESS",
            5,
            23,
            "Authentication successful for client (0050.56{a:02x}.{b:02x}00)",
        ),
    ],
    "huawei": [
        (
            "IFNET/4/LINK_STATE",
            4,
            23,
            "The line protocol IP on the interface GigabitEthernet0/0/{i} has entered the "
            "{UPDOWN} state.",
        ),
        (
            "SHELL/5/CMDRECORD",
            5,
            23,
            "Recorded command information. (Task=VT0, Ip=10.0.{a}.{b}, VpnName=, User=admin, "
            'AuthenticationMethod="Local-user", Command="display interface brief")',
        ),
        (
            "SSH/5/SSH_USER_LOGIN",
            5,
            23,
            "The SSH user succeeded in logging in. (UserName=admin, "
            "IPAddress=10.0.{a}.{b}, VpnInstanceName=_public_)",
        ),
        ("NTP/4/NTP_STEP_CHANGE", 4, 23, "The system time is changed. (Step={b} ms)"),
    ],
    "h3c": [
        (
            "IFNET/3/PHY_UPDOWN",
            3,
            23,
            "Physical state on the interface GigabitEthernet1/0/{i} changed to {updown}.",
        ),
        (
            "SHELL/6/SHELL_CMD",
            6,
            23,
            "-Line=vty0-IPAddr=10.0.{a}.{b}-User=admin; Command is dis cu",
        ),
        ("SSHS/6/SSHS_LOG", 6, 23, "Accepted password for admin from 10.0.{a}.{b} port {p}."),
    ],
    "linux": [
        ("sshd", 6, 10, "Accepted publickey for ops from 10.0.{a}.{b} port {p} ssh2"),
        ("sshd", 5, 10, "Failed password for invalid user test from 203.0.113.{b} port {p} ssh2"),
        ("CRON", 6, 9, "(root) CMD (run-parts /etc/cron.hourly)"),
        ("systemd", 6, 3, "Started Session {p} of User ops."),
        ("kernel", 4, 0, "nf_conntrack: table full, dropping packet"),
        ("ntpd", 6, 12, "adjusting local clock by {b}.{a}s"),
    ],
}
#: rare events, any vendor
RARE = [
    ("PLATFORM-2-PS_FAIL", 2, 23, "Power supply {ps} failed or removed"),
    ("DEV/1/POWER_FAILED", 1, 23, "Power supply failure on slot 1 PSU {ps}"),
]


def now() -> datetime:
    from opskit import clock

    return clock.now()


def messages(
    n: int, assets: list[tuple[int | None, str, str, str]], end: datetime
) -> Iterator[tuple]:
    """``n`` rows (COLUMNS order) in time order over the ``DAYS`` days before ``end``."""
    import itertools
    import random

    rng = random.Random(16)
    start = end - timedelta(days=DAYS)
    span, base = DAYS * 86400, start.timestamp()
    offsets: list[float] = []
    while len(offsets) < n:  # busier from 08:00 to 20:00 site time (UTC+8)
        offset = rng.uniform(0, span)
        hour = int((base + offset) // 3600 + 8) % 24
        if 8 <= hour < 20 or rng.random() < 0.35:
            offsets.append(offset)
    offsets.sort()
    weights = list(itertools.accumulate(1 / k**0.9 for k in range(1, len(assets) + 1)))
    senders = rng.choices(range(len(assets)), cum_weights=weights, k=n)  # a few chatty ones
    bits = rng.getrandbits
    for k in range(n):
        asset_id, source, hostname, vendor = assets[senders[k]]
        x = [bits(24) for _ in range(6)]
        rare = x[1] % 5000 == 0
        program, severity, facility, template = (
            RARE[x[0] % len(RARE)] if rare else TEMPLATES[vendor][x[0] % len(TEMPLATES[vendor])]
        )
        up = x[1] % 5 != 0
        text = template.format(
            i=x[2] % 48 + 1,
            j=x[3] % 48 + 1,
            a=x[4] % 250,
            b=x[5] % 250,
            v=x[1] % 400 + 1,
            p=x[3] % 60000 + 1024,
            ps=x[2] % 2 + 1,
            t=f"{x[3] % 24:02d}:{x[4] % 60:02d}:{x[5] % 60:02d}",
            updown="up" if up else "down",
            UPDOWN="UP" if up else "DOWN",
        )
        at = datetime.fromtimestamp(base + offsets[k], UTC)
        yield (at, source, asset_id, facility, severity, hostname, program, text, "")


def make_app(url: str, folder: Path) -> Any:
    from opskit import create_app, migrate
    from opskit.config import Settings
    from opskit.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    return create_app({"TESTING": True}, settings=settings)


def seed(app: Any, rows: int) -> tuple[list[tuple[str, int]], float]:
    """Senders and ``rows`` messages; (the registered senders' tags and ids, chattiest first;
    seconds the messages took)."""
    from assets import services
    from opskit import db, users
    from opskit.audit import acting_as

    vendors = ("cisco", "huawei", "h3c", "linux")
    senders: list[tuple[int | None, str, str, str]] = []
    with app.app_context(), acting_as("bench"):
        for i in range(ASSETS):
            vendor = vendors[i % 4]
            kind = "server" if vendor == "linux" else ("firewall" if i % 9 == 0 else "switch")
            ip = f"10.20.{i // 200}.{i % 200 + 1}"
            tag = f"LOG-{i:03d}"
            asset = services.save_asset(
                {"asset_tag": tag, "name": f"{vendor} {kind} {i}", "kind": kind, "mgmt_ip": ip}
            )
            db.session().flush()
            senders.append((asset.id, ip, tag.lower(), vendor))
        users.create_user("bench", "viewer", PASSWORD, display_name="Bench")
        db.session().commit()
        senders += [(None, f"10.99.0.{k + 1}", "", vendors[k % 4]) for k in range(UNKNOWN)]
        # shuffle so that the chattiest senders are of every kind
        senders = senders[::7] + [s for i, s in enumerate(senders) if i % 7]
        chattiest = [(h.upper(), a) for a, _ip, h, _v in senders if a is not None]
        end = now()
        t0 = time.perf_counter()
        engine = db.engine()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if engine.dialect.name == "postgresql":
                # a bulk load: the indexes dropped, the rows copied, the same indexes built again
                cur.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'syslog_message'"
                    " AND schemaname = current_schema() AND indexname <> 'pk_syslog_message'"
                )
                indexes = list(cur.fetchall())
                for name, _definition in indexes:
                    cur.execute(f'DROP INDEX "{name}"')
                with cur.copy(f"COPY syslog_message ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in messages(rows, senders, end):
                        copy.write_row(row)
                cur.execute("SET maintenance_work_mem = '512MB'")
                for _name, definition in indexes:
                    cur.execute(definition)
            else:
                sql = (
                    f"INSERT INTO syslog_message ({', '.join(COLUMNS)}) "  # noqa: S608 - constants
                    f"VALUES ({', '.join('?' * len(COLUMNS))})"
                )
                batch: list[tuple] = []
                for row in messages(rows, senders, end):
                    at = row[0].replace(tzinfo=None).isoformat(" ", "microseconds")
                    batch.append((at, *row[1:]))
                    if len(batch) == 100_000:
                        cur.executemany(sql, batch)
                        batch.clear()
                cur.executemany(sql, batch)
            raw.commit()
            cur.execute(
                "ANALYZE syslog_message" if engine.dialect.name == "postgresql" else "ANALYZE"
            )
            raw.commit()
        finally:
            raw.close()
    return chattiest, time.perf_counter() - t0


class Capture:
    """The last SELECT on syslog_message the engine ran (statement and parameters)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statement, self.parameters = "", None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM syslog_message" in statement:
            self.statement, self.parameters = statement, parameters


def plan(conn: Any, dialect: str, statement: str, parameters: Any) -> str:
    """The plan's summary: the indexes used, or the table scanned."""
    if dialect == "postgresql":
        lines = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
        steps = []
        for line in lines:
            text = line.strip().lstrip("-> ").strip()
            for marker in ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Seq Scan"):
                if text.startswith(marker) or text.startswith(f"{marker} Backward"):
                    steps.append(text.split("  (")[0])
                    break
        return "; ".join(dict.fromkeys(steps)) or lines[0]
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    return "; ".join(str(r[-1]) for r in rows)


def timed(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm: the first run reads the pages into the cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def unindexed(conn: Any, dialect: str, statement: str, parameters: Any) -> Callable[[], Any]:
    """The same SQL made to read the table without its indexes."""
    if dialect == "postgresql":

        def run() -> Any:
            conn.rollback()  # SET LOCAL lasts this transaction
            for knob in ("indexscan", "bitmapscan", "indexonlyscan"):
                conn.exec_driver_sql(f"SET LOCAL enable_{knob} = off")
            rows = conn.exec_driver_sql(statement, parameters).fetchall()
            conn.rollback()
            return rows

        return run
    scan = statement.replace("FROM syslog_message", "FROM syslog_message NOT INDEXED")
    return lambda: conn.exec_driver_sql(scan, parameters).fetchall()


def measure(app: Any, senders: list[tuple[str, int]], runs: int) -> None:
    from sqlalchemy import text

    from monitors.syslog import queries
    from opskit import db

    end = now()
    chatty, asset_id = senders[9]  # the 10th chattiest registered sender
    with app.app_context():
        engine = db.engine()
        dialect = engine.dialect.name
        capture = Capture(engine)
        found = queries.search()
        cursor = found.next_cursor
        for _ in range(18):
            assert cursor is not None
            cursor = queries.search(before=cursor).next_cursor
        searches: list[tuple[str, dict[str, Any]]] = [
            ("last hour", {"start": end - timedelta(hours=1)}),
            (
                f"asset {chatty}, last 24 h",
                {"start": end - timedelta(days=1), "asset_id": asset_id},
            ),
            ("warning or worse, 7 days", {"start": end - timedelta(days=7), "max_severity": 4}),
            (f"text '{RARE_TEXT}', 7 days", {"start": end - timedelta(days=7), "text": RARE_TEXT}),
            (
                f"text '{COMMON_TEXT}', 7 days",
                {"start": end - timedelta(days=7), "text": COMMON_TEXT},
            ),
            ("everything, first page", {}),
            ("everything, page 20 (keyset)", {"before": cursor}),
        ]
        count = db.session().execute(text("SELECT count(*) FROM syslog_message")).scalar()
        print(f"{count:,} messages in syslog_message ({dialect}); median of {runs} runs each\n")
        header = f"{'search':<34} {'rows':>5} {'indexed':>10} {'no index':>10} {'ratio':>7}  plan"
        print(header)
        print("-" * len(header))
        with engine.connect() as conn:
            for name, args in searches:
                got = queries.search(**args)
                statement, parameters = capture.statement, capture.parameters
                db.session().rollback()
                fast = timed(
                    lambda args=args: queries.search(**args) and db.session().rollback(), runs
                )
                slow = timed(unindexed(conn, dialect, statement, parameters), max(1, runs // 2))
                summary = plan(conn, dialect, statement, parameters)
                print(
                    f"{name:<34} {len(got.items):>5} {fast * 1000:>8.1f} ms {slow * 1000:>7.1f} ms "
                    f"{fast / slow:>6.3f}x  {summary}"
                )
    with app.app_context():  # the 日志分析 report's figures over the last 30 days
        month = (end - timedelta(days=30), end)
        figures: list[tuple[str, Callable[[], Any]]] = [
            ("severities", lambda: queries.severity_counts(*month)),
            ("top sources", lambda: queries.top_sources(*month)),
            ("top programs", lambda: queries.top_programs(*month)),
            ("messages per hour", lambda: queries.hourly_counts(*month)),
        ]
        for name, figure in figures:
            took = timed(figure, max(1, runs // 2))
            print(f"report, last 30 days: {name:<22} {took * 1000:8.1f} ms")
    client = app.test_client()
    login(client)
    for name, url in (
        ("page: everything, first page", "/monitoring/syslog/"),
        ("page: warning or worse, text", f"/monitoring/syslog/?severity=4&q={quote(RARE_TEXT)}"),
    ):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        print(f"{name:<34} GET {statistics.median(times) * 1000:8.1f} ms (whole page, median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages to seed")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per search (median)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("OPSKIT_TEST_POSTGRES_URL", ""),
        help="PostgreSQL URL (a private schema is made and dropped); default: SQLite",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL schema (its URL is printed)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opskit-bench-syslog-") as tmp:
        folder = Path(tmp)
        schema = ""
        if args.postgres:
            from sqlalchemy import create_engine
            from sqlalchemy import text as sql

            schema = f"bench_syslog_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(sql(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}options={quote(f'-csearch_path={schema}')}"
        else:
            url = f"sqlite:///{folder / 'bench.db'}"
        try:
            app = make_app(url, folder)
            senders, seconds = seed(app, args.rows)
            print(
                f"seeded {args.rows:,} messages in {seconds:.1f} s ({args.rows / seconds:,.0f}/s)"
            )
            measure(app, senders, args.runs)
            app.extensions["opskit.engine"].dispose()
        finally:
            if schema and args.keep:
                print(f"kept: {url}")
            elif schema:
                with admin.begin() as conn:
                    conn.execute(sql(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
