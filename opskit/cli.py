"""The ``opskit`` command: serve, database, users, tokens, TLS, backup, export.

Every command runs inside the app, so it reads the same ``OPSKIT_*`` settings as the server.
Domains add their own groups (``opskit assets ...``) from their ``init_app``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from opskit import backup, create_app, db, migrate, tls, users
from opskit.audit import acting_as, cli_actor
from opskit.auth import create_token
from opskit.data_cli import export_group
from opskit.demo.cli import demo_cmd
from opskit.files import restrict_umask
from opskit.models import User
from opskit.outputs import OutputFile, parents_option
from opskit.server import run as run_server
from opskit.users import UserError, get_user, set_active, set_password
from opskit.version import __version__

#: kept for the packages that still import it from here (``opskit.audit.cli_actor`` is the base's)
_cli_actor = cli_actor


@click.group(
    cls=FlaskGroup,
    create_app=create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
@click.version_option(__version__, prog_name="opskit")
def cli() -> None:
    """opskit: asset registry, patrol, monitoring, alerts and reports for a machine room.

    Settings come from OPSKIT_* environment variables (see the README).
    """


# Flask's own --app/--env-file/--debug options mean nothing to an opskit user.
cli.params = [p for p in cli.params if p.name not in {"app", "env_file", "debug"}]


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise click.UsageError("--password-stdin given but standard input is empty")
    return line


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


# --- serve ---------------------------------------------------------------------------------


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=None,
    help="Processes (Linux, macOS); default OPSKIT_WORKERS, else one per CPU. Windows: one.",
)
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=None,
    help="Request threads per process; default OPSKIT_THREADS (4).",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with the certificate from `opskit tls init` (needed by tablets).",
)
@with_appcontext
def serve(host: str, port: int, workers: int | None, threads: int | None, tls: bool) -> None:
    """Run the dashboard with the production WSGI server (cheroot, pre-forked workers).

    The listen backlog is OPSKIT_LISTEN_BACKLOG (1024), so tablets submitting together are
    queued, not refused."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_server(app, host=host, port=port, threads=threads, tls=tls, workers=workers or None)


# --- database ------------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    _prepare_sqlite_folder()
    migrate.upgrade(db.engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine())}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1)."""
    migrate.downgrade(db.engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine())}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's revision and the newest one available."""
    click.echo(f"current: {migrate.current_revision(db.engine())}")
    click.echo(f"head:    {migrate.head_revision(db.engine())}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """(Developers) autogenerate a migration from the models; read it before committing."""
    migrate.make_revision(db.engine(), message)


def _prepare_sqlite_folder() -> None:
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@cli.command("setup")
@with_appcontext
def setup() -> None:
    """Upgrade the database and create the first admin if there is no user yet."""
    _prepare_sqlite_folder()
    migrate.upgrade(db.engine())
    with acting_as(cli_actor()):
        password = users.ensure_first_admin()
    if password:
        click.echo("")
        click.echo("  First admin account created:")
        click.echo("    user:     admin")
        click.echo(f"    password: {password}")
        click.echo(
            f"    (also in {users.initial_password_path()} until you change it under My account)"
        )
        click.echo("")


# --- users and tokens ----------------------------------------------------------------------


@cli.group("user")
def user_group() -> None:
    """Accounts: create, change password, disable."""


@user_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["admin", "engineer", "supervisor", "viewer"]),
    default="engineer",
    show_default=True,
)
@click.option("--name", "display_name", default="", help="Full name shown in the UI.")
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create(
    username: str, role: str, display_name: str, locale: str | None, password_stdin: bool
) -> None:
    """Create a user; prints a generated password unless one is given on stdin."""
    password = _read_password(password_stdin)
    try:
        with acting_as(cli_actor()):
            user, password_used = users.create_user(username, role, password, display_name, locale)
    except UserError as exc:
        _fail(str(exc))
        return
    click.echo(f"created {user.username} ({user.role})")
    if password is None:
        click.echo(f"password: {password_used}")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password (generated and printed unless given on stdin)."""
    password = _read_password(password_stdin)
    try:
        with acting_as(cli_actor()):
            new = set_password(get_user(username), password)
    except UserError as exc:
        _fail(str(exc))
        return
    click.echo(f"password changed for {username.strip().lower()}")
    if password is None:
        click.echo(f"password: {new}")


@user_group.command("disable")
@click.argument("username")
@with_appcontext
def user_disable(username: str) -> None:
    """Disable a user: they can no longer log in and their API tokens stop working."""
    _set_active(username, False)


@user_group.command("enable")
@click.argument("username")
@with_appcontext
def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    try:
        with acting_as(cli_actor()):
            user = get_user(username)
            set_active(user, active)
    except UserError as exc:
        _fail(str(exc))
        return
    click.echo(f"{user.username} {'enabled' if active else 'disabled'}")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List users with role and state."""
    for user in db.session().scalars(select(User).order_by(User.username)):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username:24} {user.role:11} {state:9} {user.display_name}")


@cli.group("token")
def token_group() -> None:
    """API tokens for /api/v1 (Bearer)."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. 'cmdb sync'.")
@with_appcontext
def token_create(username: str, name: str) -> None:
    """Create an API token for USERNAME and print it once."""
    try:
        with acting_as(cli_actor()):
            token = create_token(get_user(username), name)
            db.session().commit()
    except UserError as exc:
        _fail(str(exc))
        return
    click.echo(token)


# --- TLS -----------------------------------------------------------------------------------


@cli.group("tls")
def tls_group() -> None:
    """HTTPS for tablets: a local CA and a server certificate."""


@tls_group.command("init")
@click.argument("hosts", nargs=-1, required=True)
@click.option("--days", default=825, show_default=True, help="Server certificate lifetime.")
@with_appcontext
def tls_init(hosts: tuple[str, ...], days: int) -> None:
    """Create (or keep) the local CA and issue a server certificate for HOSTS (names or IPs)."""
    directory = Path(current_app.instance_path) / "tls"
    try:
        files = tls.init_tls(directory, list(hosts), days=days)
    except ValueError as exc:
        _fail(str(exc))
        return
    info = tls.describe(files)
    click.echo(f"CA certificate:     {files.ca_cert}")
    click.echo(f"CA fingerprint:     SHA-256 {info['ca_fingerprint_sha256']}")
    click.echo(f"server certificate: {files.cert}")
    click.echo(f"valid for:          {', '.join(info['server_sans'])}")
    click.echo(f"expires:            {info['not_valid_after']}")
    click.echo("Install the CA on each tablet (README: HTTPS for tablets), then run")
    click.echo("  opskit serve --tls --host 0.0.0.0 --port 8443")


# --- backup --------------------------------------------------------------------------------


@cli.command("backup")
@click.argument("file", type=OutputFile())
@parents_option
@with_appcontext
def backup_cmd(file: Path, parents: bool) -> None:
    """Copy the live SQLite database to FILE (online, consistent). PostgreSQL: use pg_dump."""
    try:
        info = backup.backup_sqlite(current_app.config["DATABASE_URL"], file)
    except backup.BackupError as exc:
        _fail(str(exc))
        return
    click.echo(f"backup written to {file} ({info.size} bytes, revision {info.revision})")


@cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Replace it even while a server or poller has it open.")
@with_appcontext
def restore_cmd(file: Path, yes: bool, force: bool) -> None:
    """Replace the SQLite database with the verified backup FILE.

    Refused while a server, poller or demo has the database open: stop them first.
    """
    if not yes and not click.confirm(f"Replace the current database with {file}?"):
        sys.exit(1)
    try:
        info = backup.restore_sqlite(file, current_app.config["DATABASE_URL"], force=force)
    except backup.BackupError as exc:
        _fail(str(exc))
        return
    click.echo(f"restored {file} (revision {info.revision}); run `opskit db upgrade` if older")


# --- demo ----------------------------------------------------------------------------------


cli.add_command(demo_cmd)
cli.add_command(export_group)  # opskit export readings|alerts|rounds|assets (opskit.data)


def main() -> None:
    restrict_umask()  # the database, backups, packs and keys are nobody else's to read
    cli(prog_name="opskit")


if __name__ == "__main__":
    main()
