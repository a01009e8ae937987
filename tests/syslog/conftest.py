"""A running syslog receiver on a free 127.0.0.1 port, and a writer draining it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from monitors.syslog import store
from monitors.syslog.models import SyslogMessage
from monitors.syslog.receiver import Receiver
from opskit import db


@pytest.fixture
def rx() -> Iterator[Receiver]:
    receiver = Receiver("127.0.0.1", 0)
    receiver.start()
    yield receiver
    receiver.stop()


def stored_count() -> int:
    return db.session().scalar(select(func.count()).select_from(SyslogMessage)) or 0


def drain_until(receiver: Receiver, writer: store.Writer, count: int, timeout: float = 10) -> int:
    """Store what the receiver queued until ``count`` rows are in the table (inside an app)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store.drain(receiver, writer, timeout=0.05)
        have = stored_count()
        if have >= count:
            return have
    raise AssertionError(f"{stored_count()} rows stored, {count} expected: {receiver.stats()}")


@pytest.fixture
def ctx(db_app: Flask) -> Iterator[Flask]:
    with db_app.app_context():
        yield db_app
