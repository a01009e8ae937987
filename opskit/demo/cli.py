"""``opskit demo``: create the demo site on an empty database and run it alive."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from monitors.kinds.ping import icmp_unavailable
from opskit import db, migrate, users
from opskit.addresses import tablet_notes
from opskit.audit import acting_as
from opskit.demo import run, seed
from opskit.server import run as serve
from opskit.tls import server_ssl_paths


def _wipe_database() -> None:
    """Drop everything: delete the SQLite file, or downgrade another database to nothing."""
    url = current_app.config["DATABASE_URL"]
    engine = db.engine()
    if url.startswith("sqlite:///"):
        engine.dispose()
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        migrate.downgrade(engine, "base")
    users.forget_initial_password()  # the admin it names was in the deleted database
    workdir = Path(current_app.instance_path) / "demo"
    if workdir.exists():
        shutil.rmtree(workdir, ignore_errors=True)


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete everything in the database and start again.")
@click.option("--yes", is_flag=True, help="Do not ask before --reset deletes the database.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--snmp-port-base",
    "snmp_port",
    default=16161,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="UDP port of the simulated SNMP agents on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--trap-port",
    default=run.DEFAULT_TRAP_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="UDP port on 127.0.0.1 of the demo's SNMP trap receiver (0: any free port).",
)
@click.option(
    "--syslog-port",
    default=run.DEFAULT_SYSLOG_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="UDP and TCP port on 127.0.0.1 of the demo's syslog receiver (0: any free port).",
)
@click.option(
    "--serve-existing",
    is_flag=True,
    help="If the database holds data the demo did not create, just serve it (make run).",
)
@click.option("--seed-only", is_flag=True, help="Create the demo data, then exit.")
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with the certificate from `opskit tls init` (needed by tablets).",
)
@with_appcontext
def demo_cmd(
    reset: bool,
    yes: bool,
    host: str,
    port: int,
    snmp_port: int,
    trap_port: int,
    syslog_port: int,
    serve_existing: bool,
    seed_only: bool,
    tls: bool,
) -> None:
    """A living demo site: two machine rooms, 60+ assets, weeks of history, simulated devices.

    On an empty database it creates the site, then runs simulated SNMP agents (which also send
    SNMP traps and syslog), the trap and syslog receivers, the poller, the notifier and the web
    server until Ctrl-C. On a database it created before, it runs again.
    """
    if tls:
        try:  # before anything starts: a missing certificate says what to run
            server_ssl_paths(Path(current_app.instance_path) / "tls")
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    if reset:
        url = current_app.config["DATABASE_URL"]
        if not yes and not click.confirm(f"Delete everything in {url} and start a new demo?"):
            sys.exit(1)
        _wipe_database()
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(db.engine())
    with acting_as("cli:demo"):
        password = users.ensure_first_admin()
        db.session().commit()
    # now, before anything that may fail: a new password is not lost with it, and a later run
    # says where the unchanged first password is kept
    _print_login(password)
    sys.stdout.flush()

    if snmp_port == 0 or not run.udp_port_free(snmp_port):
        wanted = snmp_port
        snmp_port = run.free_udp_port()
        if wanted:
            click.echo(f"UDP port {wanted} is in use; the simulated agents use {snmp_port}.")

    if seed.is_empty():
        click.echo("Creating the demo site (two rooms, weeks of history) ...")
        counts = seed.seed(snmp_port=snmp_port)
        click.echo("  " + ", ".join(seed.iter_summary(counts)))
    elif not seed.is_demo():
        if serve_existing:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            serve(app, host=host, port=port, tls=tls, login_note=False)  # printed above
            return
        click.echo(
            "error: this database already holds data that the demo did not create. Use another "
            "OPSKIT_INSTANCE_PATH (or OPSKIT_DATABASE_URL), or `opskit demo --reset` to delete it.",
            err=True,
        )
        sys.exit(1)
    if seed.demo_state() == "seeding":
        click.echo(
            "error: an earlier `opskit demo` was stopped while it created the demo site; "
            "run `opskit demo --reset` to start again.",
            err=True,
        )
        sys.exit(1)
    aliases = run.loopback_aliases()
    with acting_as("cli:demo"):
        seed.point_monitors_at(snmp_port, shared_host=None if aliases else "127.0.0.1")
        db.session().commit()
    db.session().close()
    if seed_only:
        return

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - display only
    scheme = "https" if tls else "http"

    def announce(traps_at: int, syslog_at: int) -> None:
        count = len(run.devices.DEVICES)
        click.echo("")
        click.echo(
            f"  opskit demo running on {scheme}://{shown}:{port}/  (Ctrl-C stops everything)"
        )
        click.echo(f"  simulated SNMP agents: {count} on udp://127.0.0.1:{snmp_port}")
        click.echo(f"  SNMP traps received on udp://127.0.0.1:{traps_at}")
        click.echo(f"  syslog received on udp and tcp://127.0.0.1:{syslog_at}")
        if aliases:
            first, last = (run.devices.address(d) for d in run.devices.DEVICES[:: count - 1])
            click.echo(
                f"  each device answers and sends traps and syslog from its own address, "
                f"{first} to {last}"
            )
        else:
            click.echo(
                "  this system has no loopback aliases (127.0.0.101 ...): the devices share "
                "127.0.0.1 and send no traps or syslog"
            )
        why = icmp_unavailable()
        if why:  # the lines' pings (the 可用性 report's lines) go down with the reason
            click.echo(
                f"  the lines' pings cannot send ICMP here ({why}): run as root or allow it with "
                "sysctl net.ipv4.ping_group_range"
            )
        _print_login(password)
        for line in tablet_notes(app.config.get("BASE_URL") or "", host, port, tls):
            click.echo(line)
        click.echo("")
        sys.stdout.flush()

    try:
        run.run(
            app,
            host,
            port,
            snmp_port,
            announce,
            tls,
            trap_port=trap_port,
            syslog_port=syslog_port,
            aliases=aliases,
        )
    except (run.DemoError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo("demo stopped")


def _print_login(password: str | None) -> None:
    """The admin login: the new password, else where the unchanged first password is kept."""
    kept = users.initial_password_path()
    click.echo("")
    if password:
        click.echo("  login:    admin")
        click.echo(f"  password: {password}")
        click.echo(f"            (also in {kept} until you change it under My account)")
    elif (user := users.initial_password_user()) is not None:
        click.echo(f"  login:    {user}")
        click.echo(f"  password: in {kept}")
        click.echo("            (the file is deleted when you change it under My account)")
    else:
        click.echo("  login:    admin, with the password you gave it")
        click.echo("            (forgotten? `opskit user passwd admin` prints a new one)")
    click.echo("")
