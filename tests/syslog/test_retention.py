"""Retention: messages older than the kept days are deleted, a batch at a time, newer ones stay;
the periodic job says how many went (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors.syslog import store
from monitors.syslog.models import SyslogMessage
from opskit import clock, db


def test_prune_deletes_what_is_older_than_the_retention_in_batches(db_app: Flask) -> None:
    now = clock.now()
    days = store.DEFAULT_RETENTION_DAYS
    ages = [days + 30, days + 1, days, days - 1, 1]  # days before now, plus 10 s for the edge
    with db_app.app_context():
        db.session().execute(
            insert(SyslogMessage),
            [
                {
                    "received_at": now - timedelta(days=age, seconds=10),
                    "source": "192.0.2.7",
                    "facility": 23,
                    "severity": 3,
                    "text": f"{age} days old",
                }
                for age in ages
                for _copy in range(3)
            ],
        )
        db.session().commit()
        assert store.retention_days() == days
        assert store.prune(now=now, batch=2) == 3 * 3  # older than `days` days, 2 per transaction
        kept = db.session().scalars(select(SyslogMessage.text).order_by(SyslogMessage.id))
        assert sorted(set(kept)) == sorted({f"{a} days old" for a in (days - 1, 1)})
        assert store.prune(now=now) == 0  # nothing left to delete
        assert store.prune_job() == []  # the job: nothing went, so nothing to say
        # a retention of one day: the rest (a day and 10 s old, and older) goes too
        assert store.prune(now=now, days=1) == 3 * 2
        assert db.session().scalars(select(SyslogMessage.id)).all() == []
