"""Typed settings read from ``OPSKIT_*`` environment variables.

Every setting has a default that suits a single engineer's laptop: an SQLite database in the
instance folder, Chinese UI, the Asia/Shanghai time zone. For any variable ``OPSKIT_X`` the
variable ``OPSKIT_X_FILE`` may name a file holding the value instead (Docker/systemd secrets).

The secret key is generated into ``<instance>/secret_key`` on first start when it is not set, so
sessions survive a restart without the engineer having to invent one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "OPSKIT_"
LOCALES = ("zh_CN", "en")
REPORT_PERIODS = ("month", "quarter", "year")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(ValueError):
    """A setting has a value opskit cannot use; the message names the variable."""


def _env(name: str, environ: dict[str, str]) -> str | None:
    key = ENV_PREFIX + name
    if key in environ:
        return environ[key]
    file_key = key + "_FILE"
    if file_key in environ:
        path = Path(environ[file_key])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_key}: cannot read {path}: {exc.strerror}") from exc
    return None


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{ENV_PREFIX}{name}: expected true/false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{ENV_PREFIX}{name}: must be at least {minimum}, got {value}")
    return value


@dataclass
class Settings:
    """opskit's settings. The docstring of each field is the README's configuration table."""

    instance_path: Path = field(
        default_factory=lambda: Path.cwd() / "instance",
        metadata={"env": "INSTANCE_PATH", "doc": "Folder for the database, secret key, TLS files"},
    )
    database_url: str = field(
        default="",
        metadata={
            "env": "DATABASE_URL",
            "doc": "SQLAlchemy URL; default sqlite:///<instance>/opskit.db. "
            "PostgreSQL: postgresql+psycopg://user@host/db",
        },
    )
    secret_key: str = field(
        default="",
        metadata={"env": "SECRET_KEY", "doc": "Session signing key; generated on first start"},
    )
    encryption_key: str = field(
        default="",
        metadata={
            "env": "ENCRYPTION_KEY",
            "doc": "Fernet key for secrets at rest; generated into <instance>/encryption_key",
        },
    )
    base_url: str = field(
        default="",
        metadata={
            "env": "BASE_URL",
            "doc": "Address the tablets use, e.g. https://opskit.lan:8443 (QR labels encode it)",
        },
    )
    site_name: str = field(
        default="",
        metadata={"env": "SITE_NAME", "doc": "Customer site name shown on reports and pages"},
    )
    timezone: str = field(
        default="Asia/Shanghai",
        metadata={"env": "TIMEZONE", "doc": "Site time zone used for display and reports"},
    )
    default_locale: str = field(
        default="zh_CN",
        metadata={"env": "DEFAULT_LOCALE", "doc": "UI language for new users: zh_CN or en"},
    )
    secure_cookies: bool = field(
        default=False,
        metadata={
            "env": "SECURE_COOKIES",
            "doc": "Mark session cookies Secure (on automatically under `opskit serve --tls`)",
        },
    )
    login_max_failures: int = field(
        default=5,
        metadata={
            "env": "LOGIN_MAX_FAILURES",
            "doc": "Failed logins for a name from one address before a lockout",
        },
    )
    login_lockout_minutes: int = field(
        default=15,
        metadata={"env": "LOGIN_LOCKOUT_MINUTES", "doc": "Lockout window after too many failures"},
    )
    session_hours: int = field(
        default=12,
        metadata={"env": "SESSION_HOURS", "doc": "How long a login lasts (one shift by default)"},
    )
    retention_raw_days: int = field(
        default=14,
        metadata={"env": "RETENTION_RAW_DAYS", "doc": "Days raw monitor readings are kept"},
    )
    retention_5min_days: int = field(
        default=180,
        metadata={"env": "RETENTION_5MIN_DAYS", "doc": "Days 5-minute rollups are kept"},
    )
    retention_hourly_days: int = field(
        default=1095,
        metadata={"env": "RETENTION_HOURLY_DAYS", "doc": "Days hourly rollups are kept (3 years)"},
    )
    report_schedule: str = field(
        default="month,quarter,year",
        metadata={
            "env": "REPORT_SCHEDULE",
            "doc": "Packs built on the first working day after each period: any of month, "
            "quarter, year (comma-separated), or none",
        },
    )
    dashboard_refresh_s: int = field(
        default=30,
        metadata={
            "env": "DASHBOARD_REFRESH_S",
            "doc": "Seconds between refreshes of each dashboard tile (home page and /kiosk)",
        },
    )
    dashboard_cache_s: int = field(
        default=5,
        metadata={
            "env": "DASHBOARD_CACHE_S",
            "minimum": 0,
            "doc": "Seconds a dashboard tile is reused per site and language (each server "
            "process keeps its own), so many wall screens cost one query; 0: off",
        },
    )
    workers: int = field(
        default=0,
        metadata={
            "env": "WORKERS",
            "minimum": 0,
            "doc": "`opskit serve` processes (Linux, macOS); 0: one per CPU. Windows: one",
        },
    )
    threads: int = field(
        default=4,
        metadata={"env": "THREADS", "doc": "Request threads in each `opskit serve` process"},
    )
    listen_backlog: int = field(
        default=1024,
        metadata={
            "env": "LISTEN_BACKLOG",
            "doc": "Connections the kernel queues before the server accepts them (tablets "
            "submitting at once); Linux caps it at net.core.somaxconn",
        },
    )

    request_auto_close_days: int = field(
        default=3,
        metadata={
            "env": "REQUEST_AUTO_CLOSE_DAYS",
            "doc": "Working days a resolved service request waits for the requester to confirm "
            "before it closes by itself",
        },
    )

    syslog_port: int = field(
        default=514,
        metadata={
            "env": "SYSLOG_PORT",
            "doc": "Port (UDP and TCP) `opskit syslog receive` listens on; below 1024 needs root "
            "or CAP_NET_BIND_SERVICE (else e.g. 10514 and a redirect, see Syslog)",
        },
    )
    syslog_retention_days: int = field(
        default=180,
        metadata={
            "env": "SYSLOG_RETENTION_DAYS",
            "doc": "Days received syslog messages are kept (network logs: at least six months "
            "by the Cybersecurity Law)",
        },
    )

    import_max_rows: int = field(
        default=200_000,
        metadata={
            "env": "IMPORT_MAX_ROWS",
            "doc": "Most data rows one Excel import takes (all sheets together); a bigger "
            "workbook is refused, naming the limit",
        },
    )

    metrics_allow: str = field(
        default="",
        metadata={
            "env": "METRICS_ALLOW",
            "doc": "Addresses or networks that may read /metrics without a token (Prometheus), "
            "comma-separated, e.g. 127.0.0.1,10.0.0.0/24; empty: a Bearer token only",
        },
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            raw = _env(name, env)
            if raw is None or raw == "":
                continue
            if f.type in ("bool", bool):
                values[f.name] = _bool(name, raw)
            elif f.type in ("int", int):
                values[f.name] = _int(name, raw, minimum=f.metadata.get("minimum", 1))
            elif f.name == "instance_path":
                values[f.name] = Path(raw).expanduser().resolve()
            else:
                values[f.name] = raw.strip()
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{ENV_PREFIX}TIMEZONE: unknown time zone {self.timezone!r} "
                "(expected an IANA name such as Asia/Shanghai)"
            ) from None
        self.report_periods()
        if self.import_max_rows < 1:
            raise ConfigError(
                f"{ENV_PREFIX}IMPORT_MAX_ROWS: must be at least 1, got {self.import_max_rows}"
            )
        if not 1 <= self.syslog_port <= 65535:
            raise ConfigError(
                f"{ENV_PREFIX}SYSLOG_PORT: expected a port from 1 to 65535, got {self.syslog_port}"
            )
        self.metrics_networks()
        if self.default_locale not in LOCALES:
            raise ConfigError(
                f"{ENV_PREFIX}DEFAULT_LOCALE: expected one of {', '.join(LOCALES)}, "
                f"got {self.default_locale!r}"
            )

    def report_periods(self) -> tuple[str, ...]:
        """The period lengths the report schedule builds (``OPSKIT_REPORT_SCHEDULE``)."""
        raw = self.report_schedule.strip().lower()
        if raw in ("", "none"):
            return ()
        chosen = [part.strip() for part in raw.split(",") if part.strip()]
        unknown = [part for part in chosen if part not in REPORT_PERIODS]
        if unknown:
            raise ConfigError(
                f"{ENV_PREFIX}REPORT_SCHEDULE: expected month, quarter, year or none "
                f"(comma-separated), got {', '.join(repr(u) for u in unknown)}"
            )
        return tuple(p for p in REPORT_PERIODS if p in chosen)

    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        """The networks of ``OPSKIT_METRICS_ALLOW`` (an address is a network of one)."""
        networks = []
        for part in self.metrics_allow.split(","):
            if not part.strip():
                continue
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"{ENV_PREFIX}METRICS_ALLOW: {part.strip()!r} is not an address or a "
                    "network (expected e.g. 127.0.0.1 or 10.0.0.0/24)"
                ) from None
        return tuple(networks)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'opskit.db'}"

    def ensure_secret_key(self) -> str:
        """Return the secret key, generating and storing one in the instance folder if unset."""
        if self.secret_key:
            return self.secret_key
        path = self.instance_path / "secret_key"
        made = secret_file(path, lambda: secrets.token_urlsafe(48).encode())
        self.secret_key = made.decode("utf-8")
        return self.secret_key

    @classmethod
    def table(cls) -> list[tuple[str, str, str]]:
        """(variable, default, meaning) rows for the README."""
        rows = []
        for f in fields(cls):
            default = "" if f.name in {"instance_path"} else str(f.default)
            if f.name == "instance_path":
                default = "./instance"
            rows.append((ENV_PREFIX + f.metadata["env"], default, f.metadata["doc"]))
        return rows


def secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key stored in ``path`` (owner-only), made by ``make()`` and stored if there is none.

    Safe when several processes start at once on a new instance (``opskit poll --processes``,
    the demo): the key is written to a private temporary file and hard-linked into place, so
    ``path`` appears complete or not at all, and whoever links second reads the winner's key.
    """
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(make() + b"\n")
        with contextlib.suppress(FileExistsError):  # another process stored its key first
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes().strip()
