"""`opskit sql probe --json` on a server with pg_stat_statements: the issue's JSON plus
``"statements"``, the statements with the most time between the two samples."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from opskit.cli import cli
from tests.dbmon.statements.conftest import PgCluster

pytestmark = [pytest.mark.xdist_group("dbstatements"), pytest.mark.dateless]


def test_the_probe_lists_the_statements_between_its_samples(
    app: Flask, pg_cluster: PgCluster
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/postgres"
    info = ScriptInfo(create_app=lambda: app)
    got = CliRunner().invoke(cli, ["sql", "probe", url, "--interval", "0.1", "--json"], obj=info)
    assert got.exit_code == 0, got.output
    out = json.loads(got.output)
    assert set(out) == {"engine", "version", "metrics", "missing", "statements"}
    assert out["missing"] == []
    metrics = {m["metric"] for m in out["metrics"]}
    assert "db.queries_per_s" in metrics
    # the first sample's own read of pg_stat_statements finished after it counted: it moved
    rows = out["statements"]
    assert rows and all(
        set(r) == {"database", "id", "text", "calls", "total_ms", "mean_ms", "rows"} for r in rows
    )
    read = [r for r in rows if "FROM pg_stat_statements s LEFT JOIN pg_database" in r["text"]]
    assert [(r["database"], r["calls"]) for r in read] == [("postgres", 1)]
    assert read[0]["mean_ms"] == read[0]["total_ms"] > 0
    totals = [r["total_ms"] for r in rows]
    assert totals == sorted(totals, reverse=True)

    text = CliRunner().invoke(cli, ["sql", "probe", url, "--interval", "0.1"], obj=info)
    assert text.exit_code == 0, text.output
    assert "calls: [postgres] SELECT coalesce(d.datname" in text.output
