"""`opskit poll --processes N`: several poller processes share one pass through the leases."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from monitors.cli import poll_cmd
from monitors.models import Monitor, PollerHeartbeat, Reading
from opskit import db
from tests import factories
from tests.monitors.test_poller import add_monitor


def test_processes_share_the_due_monitors_each_polled_once(
    db_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers are fresh interpreters: they find the database through the environment.
    monkeypatch.setenv("OPSKIT_DATABASE_URL", db_app.config["DATABASE_URL"])
    monkeypatch.setenv("OPSKIT_INSTANCE_PATH", db_app.instance_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    try:
        with db_app.app_context():
            # one device per asset, as in a machine room
            assets = [factories.asset(f"APP-W{i}") for i in range(8)]
            db.session().commit()
            ids = [
                add_monitor(a.id, "tcp", {"host": "127.0.0.1", "port": port}, due=db.utcnow())
                for a in assets
            ]
        with db_app.app_context():
            result = CliRunner().invoke(
                poll_cmd,
                ["--once", "--processes", "2", "--concurrency", "2"],
                obj=_script_info(db_app),
            )
        assert result.exit_code == 0, result.output
        assert "polled 8 with 2 processes: up 8, down 0" in result.output
        with db_app.app_context():
            session = db.session()
            per_monitor = dict(
                session.execute(
                    select(Reading.monitor_id, func.count())
                    .where(Reading.metric == "tcp.connect_ms")
                    .group_by(Reading.monitor_id)
                ).all()
            )
            assert per_monitor == {i: 1 for i in ids}  # every monitor exactly once
            states = set(session.scalars(select(Monitor.state).where(Monitor.id.in_(ids))))
            assert states == {"up"}
            assert session.scalar(select(func.count()).select_from(PollerHeartbeat)) == 2
    finally:
        listener.close()


def _script_info(app: Flask) -> object:
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
