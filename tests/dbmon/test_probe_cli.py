"""`opskit sql probe URL`: what one check would store, as the issue's JSON, from real servers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from monitors.kinds.database import parse_url
from monitors.metrics import METRICS
from opskit.cli import cli
from tests.dbmon.conftest import my_connect

# what the servers count does not depend on the date: left out of the shifted-clock runs
pytestmark = pytest.mark.dateless


def _run(app: Flask, *args: str, input: str | None = None) -> Result:
    info = ScriptInfo(create_app=lambda: app)
    return CliRunner().invoke(cli, ["sql", "probe", *args], obj=info, input=input)


def _shape(out: dict[str, Any]) -> None:
    assert set(out) == {"engine", "version", "metrics", "missing"}
    for row in out["metrics"]:
        assert set(row) == {"metric", "instance", "value", "unit"}
        assert row["unit"] == METRICS[row["metric"]]["unit"]
        assert METRICS[row["metric"]]["kind"] == "gauge"  # counters become rates, never shown
    for row in out["missing"]:
        assert set(row) == {"metric", "reason"}


def test_postgresql_probe_prints_the_metrics_and_what_is_missing(app: Flask, pg_name: str) -> None:
    result = _run(
        app, "postgresql://postgres@127.0.0.1:5432/postgres", "--interval", "0.3", "--json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    _shape(out)
    assert out["engine"] == "postgresql" and out["version"].startswith("PostgreSQL ")
    got = {(m["metric"], m["instance"]): m["value"] for m in out["metrics"]}
    assert got[("db.size_bytes", pg_name)] > 0
    assert got[("db.transactions_per_s", pg_name)] >= 0  # a rate from the two samples
    assert ("db.checkpoints_per_h", "") in got
    assert [m["metric"] for m in out["missing"]] == ["db.queries_per_s", "db.top_statements"]

    text = _run(app, "postgresql://postgres@127.0.0.1/postgres", "--interval", "0.1")
    assert text.exit_code == 0, text.output
    assert "postgresql://postgres@127.0.0.1:5432/postgres" in text.output.splitlines()[0]
    assert f"db.size_bytes[{pg_name}] = " in text.output
    assert "missing db.top_statements: pg_stat_statements is not installed" in text.output


@pytest.mark.xdist_group("mariadb")  # with tests/dbmon/test_mysql.py: it counts statements
def test_mysql_probe_reads_the_password_from_stdin(app: Flask, my_name: str) -> None:
    user = f"{my_name}_cli"
    with my_connect() as root, root.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'secret-1'")
        cur.execute(f"GRANT PROCESS ON *.* TO '{user}'@'127.0.0.1'")
    url = f"mysql://{user}@127.0.0.1:3306"
    result = _run(app, url, "--interval", "0.3", "--json", "--password-stdin", input="secret-1\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    _shape(out)
    assert out["engine"] == "mariadb"
    got = {m["metric"] for m in out["metrics"]}
    assert {"db.queries_per_s", "db.connections.used_percent", "db.longest_query_s"} <= got
    why = {m["metric"]: m["reason"] for m in out["missing"]}
    assert why["db.replication.lag_s"].startswith("needs SLAVE MONITOR")
    assert "secret-1" not in result.output

    wrong = _run(app, url, "--password-stdin", input="nope\n")
    assert wrong.exit_code == 1
    assert "wrong user name or password" in wrong.output


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("oracle://scott@db:1521/orcl", "unknown scheme 'oracle'"),
        ("postgresql:///test", "no host"),
        ("mysql://root@127.0.0.1:99999", "Port out of range"),
        ("postgresql://u@h/a/b", "is not one database name"),
        ("postgresql://u@h/db?sslmode=require", "options after ? or # are not read"),
    ],
)
def test_a_bad_url_is_a_usage_error_naming_what_was_expected(
    app: Flask, url: str, said: str
) -> None:
    result = _run(app, url)
    assert result.exit_code == 2
    assert said in result.output
    assert "expected postgresql://user@host:port/database or mysql://user@host:port" in (
        result.output
    )


def test_urls_in_sqlalchemy_style() -> None:
    assert parse_url("postgresql+psycopg://mon:p%40ss@db1:5433/sales") == (
        "postgresql",
        {"host": "db1", "port": 5433, "user": "mon", "database": "sales"},
        "p@ss",
    )
    assert parse_url("mariadb+pymysql://mon@db2") == ("mysql", {"host": "db2", "user": "mon"}, None)
