"""What the database kinds share (``postgresql``, ``mysql``): settings, the password secret, one
sample of the server's statistics with what was withheld, and the faults as one-line reasons.

A database kind implements :meth:`DatabaseKind.sample`: one connection, the statistics views read,
the result a :class:`Sample` (readings, the counters with their ``age_s`` for
``monitors.counters``, and ``missing``: the metrics a privilege or setting withheld, each with the
grant or setting it needs). A metric whose query fails for a privilege is left out and named in
``missing``; the other metrics are kept. Faults that stop the whole check (wrong password, no
answer within the timeout, the server's connection slots all taken) are a :class:`Refused` with
a reason people read, never an exception out of ``check``.
"""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors.kinds.base import (
    Field,
    MonitorKind,
    Result,
    host,
    number,
    reading,
    require_dict,
    unknown_keys,
    whole,
)
from monitors.metrics import METRICS
from opskit.validation import ValidationFailed

#: the blocking drivers run here, not in asyncio's default pool (a few threads on a small
#: machine): a hung server holding a thread must not make the other servers' checks wait
_DRIVERS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="opskit-db")

#: TLS: "" the engine's default (PostgreSQL prefer, MySQL off), "require" encrypted without
#: checking the certificate, "verify" encrypted with the server's certificate and name checked
TLS_MODES = ("", "require", "verify")


@dataclass
class Sample:
    """One read of a server's statistics."""

    engine: str  # postgresql, mysql or mariadb
    version: str
    readings: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    uptime_s: float | None = None
    #: the statement counters (``monitors.statements.read``'s shape) where the engine keeps them
    statements: dict[str, Any] | None = None

    def add(self, metric: str, value: Any, instance: str = "", **extra: Any) -> None:
        if value is None:
            return
        row = reading(metric, value, METRICS[metric]["unit"], instance)
        row.update(extra)
        self.readings.append(row)

    def withheld(self, metric: str, reason: str) -> None:
        self.missing.append({"metric": metric, "reason": reason})


class Refused(Exception):
    """The check could not read the server at all; ``str()`` is the reason (one line).
    ``full``: the server refused the connection because its connection slots are taken."""

    def __init__(self, reason: str, full: bool = False) -> None:
        super().__init__(reason)
        self.full = full


def database_fields(default_port: int, database: bool) -> tuple[Field, ...]:
    """The form of a database kind; ``database``: it names the database to connect to."""
    return (
        Field("host", _l("Address"), help=_l("IP address or host name"), from_asset="mgmt_ip"),
        Field("port", _l("Port"), "number", default=str(default_port)),
        Field(
            "user",
            _l("User"),
            help=_l("A monitoring account (see the least-privilege recipe in the README)"),
        ),
        *((Field("database", _l("Database"), default="postgres"),) if database else ()),
        Field(
            "tls",
            _l("TLS"),
            "select",
            TLS_MODES,
            help=_l("require: encrypted; verify: encrypted, certificate and name checked"),
        ),
        Field("timeout", _l("Timeout (s)"), "number", default="5"),
        Field(
            "slow_s",
            _l("Slow statement (s)"),
            "number",
            default="1",
            help=_l("A statement running longer than this counts as slow"),
        ),
    )


class DatabaseKind(MonitorKind):
    """A database server: settings host, port, user, (database), tls, timeout, slow_s;
    secret ``{"password"}`` (optional: a server may trust the monitor's address)."""

    engine: ClassVar[str]
    default_port: ClassVar[int]
    has_database: ClassVar[bool] = False
    default_user: ClassVar[str]

    secrets = (Field("password", _l("Password")),)

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        known = {"host", "port", "user", "tls", "timeout", "slow_s"}
        if self.has_database:
            known.add("database")
        unknown_keys(settings, known, errors)
        out: dict[str, Any] = {
            "host": host(settings, errors),
            "port": whole(settings, "port", self.default_port, 1, 65535, errors),
            "user": str(settings.get("user") or self.default_user).strip(),
            "tls": str(settings.get("tls") or ""),
            "timeout": number(settings, "timeout", 5.0, 1, 60, errors),
            "slow_s": number(settings, "slow_s", 1.0, 0.01, 86400, errors),
        }
        if not out["user"] or len(out["user"]) > 128:
            errors["user"] = _("Enter the monitoring account's user name.")
        if out["tls"] not in TLS_MODES:
            errors["tls"] = _("Expected one of %(values)s.", values="require, verify")
        if self.has_database:
            out["database"] = str(settings.get("database") or "postgres").strip()
            if len(out["database"]) > 63 or any(c.isspace() for c in out["database"]):
                errors["database"] = _("Not a valid database name.")
        if errors:
            raise ValidationFailed(errors)
        return out

    def kept_secret(self, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in secret.items() if k == "password"}

    def describe(self, settings: dict[str, Any]) -> str:
        where = f"{settings.get('host', '')}:{settings.get('port', self.default_port)}"
        if self.has_database and settings.get("database"):
            where += f"/{settings['database']}"
        return f"{self.key}://{settings.get('user', '')}@{where}"

    @abstractmethod
    def sample(self, settings: dict[str, Any], password: str | None) -> Sample:
        """Connect, read the statistics once, disconnect (blocking; raises :class:`Refused`)."""

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        try:
            password = json.loads(secret).get("password") if secret else None
        except (ValueError, AttributeError):
            return Result(False, f"{self.key} settings: the stored secret is not readable")
        timeout = float(settings.get("timeout", 5.0))
        try:
            # the drivers' own timeouts end the thread; this bounds the check whatever they do
            running = asyncio.get_running_loop().run_in_executor(
                _DRIVERS, self.sample, settings, password
            )
            got = await asyncio.wait_for(running, timeout * 2 + 1)
        except TimeoutError:
            where = f"{settings.get('host', '')}:{settings.get('port', self.default_port)}"
            return Result(False, f"{self.key} {where}: no answer within {timeout:g} s")
        except Refused as exc:
            if exc.full:  # a finding: the server is up, every connection slot is taken
                return Result(False, str(exc), [reading("db.connections.used_percent", 100, "%")])
            return Result(False, str(exc))
        reason = "; ".join(f"{m['metric']}: {m['reason']}" for m in got.missing)
        return Result(
            True,
            reason,
            got.readings,
            uptime_s=got.uptime_s,
            missing=got.missing,
            statements=got.statements,
        )


# --- opskit sql probe's URL ---------------------------------------------------------------------


def parse_url(url: str) -> tuple[str, dict[str, Any], str | None]:
    """``postgresql://user[:password]@host[:port]/database`` or ``mysql://user@host[:port][/db]``
    (SQLAlchemy style: ``postgresql+psycopg``, ``mysql+pymysql``, ``mariadb`` are accepted) as
    (kind, settings, password). A malformed URL raises ``ValueError`` saying what was expected."""
    expected = (
        "expected postgresql://user@host:port/database or mysql://user@host:port "
        "(password from --password-stdin or user:password@)"
    )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}; {expected}") from None
    scheme = parts.scheme.split("+", 1)[0].lower()
    kinds = {"postgresql": "postgresql", "postgres": "postgresql"}
    kinds |= {"mysql": "mysql", "mariadb": "mysql"}
    if scheme not in kinds:
        raise ValueError(f"{url!r}: unknown scheme {parts.scheme!r}; {expected}")
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host; {expected}")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: options after ? or # are not read; {expected}")
    kind = kinds[scheme]
    settings: dict[str, Any] = {"host": parts.hostname}
    if port is not None:
        settings["port"] = port
    if parts.username:
        settings["user"] = unquote(parts.username)
    database = unquote(parts.path.lstrip("/"))
    if "/" in database:
        raise ValueError(f"{url!r}: {database!r} is not one database name; {expected}")
    if database and kind == "postgresql":
        settings["database"] = database
    password = unquote(parts.password) if parts.password is not None else None
    return kind, settings, password
