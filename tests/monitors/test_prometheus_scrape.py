"""The demo's /metrics as Prometheus and Grafana meet it: Debian's real Prometheus scrapes the
running demo (a Bearer token in a credentials file) and its query API answers the UPS load the
demo stored; the shipped Grafana dashboard names only metrics the demo exposes."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import monitors
from assets import queries as registry
from monitors import queries
from opskit.server import build_server
from tests.conftest import demo_app
from tests.monitors.test_prometheus import token_for

pytestmark = pytest.mark.xdist_group("demo_prometheus")

DASHBOARD = Path(monitors.__file__).parent / "grafana" / "machine-room.json"
PROMETHEUS = shutil.which("prometheus")
#: the longest a scrape is waited for (a bound on the wait, not a speed goal)
WAIT_S = 90

#: PromQL's functions, aggregations and keywords the dashboard may use besides metric names
PROMQL_WORDS = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "topk",
    "bottomk",
    "rate",
    "irate",
    "increase",
    "delta",
    "abs",
    "round",
    "clamp_min",
    "clamp_max",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "last_over_time",
    "label_values",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
}
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana ``label_values`` query) reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    text = GROUPING.sub(" ", text)  # label lists of by (...), on (...)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana's variables
    # label_values(metric, label): the label is no metric
    text = re.sub(r"label_values\s*\(([^,()]*),\s*\w+\s*\)", r" \1 ", text)
    words = set(re.findall(r"(?<![0-9.])[a-zA-Z_:][a-zA-Z0-9_:]*", text))
    return words - PROMQL_WORDS


def test_metric_names_are_read_from_promql() -> None:
    assert metric_names('sum by (urgency, state) (opskit_sla_at_risk{kind="alert"})') == {
        "opskit_sla_at_risk"
    }
    assert metric_names('label_values(opskit_env_temperature_celsius{site=~"$site"}, room)') == {
        "opskit_env_temperature_celsius"
    }
    assert metric_names("rate(opskit_if_in_bytes_total[5m]) * 8 > 1e6") == {
        "opskit_if_in_bytes_total"
    }


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-prometheus")


def viewer_token(app: Flask) -> str:
    return token_for(app, "viewer")


@pytest.fixture(scope="session")
def demo_exposition(demo: Flask) -> str:
    response = demo.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {viewer_token(demo)}"}
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def exposed(text: str) -> set[str]:
    """The names of the families an exposition declares (``# TYPE``): a reading's family only
    with samples, the others always (the poller's age has none before a first cycle)."""
    return {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    found = [t["expr"] for p in panels for t in p["targets"]]
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        found.append(query["query"] if isinstance(query, dict) else query)
    return found


def test_the_grafana_dashboard_reads_only_what_the_demo_exposes(demo_exposition: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])
    names = exposed(demo_exposition)
    read: set[str] = set()
    for expr in dashboard_queries(dashboard):
        wanted = metric_names(expr)
        assert wanted, expr
        assert wanted <= names, (expr, wanted - names)
        read |= wanted
    # the machine room: temperature and humidity, UPS, PDU, alerts, SLA
    assert {
        "opskit_env_temperature_celsius",
        "opskit_env_humidity_ratio",
        "opskit_ups_output_load_ratio",
        "opskit_ups_battery_charge_ratio",
        "opskit_ups_input_voltage_volts",
        "opskit_ups_output_voltage_volts",
        "opskit_pdu_current_amperes",
        "opskit_alerts_open",
        "opskit_sla_at_risk",
    } <= read


def test_the_demo_exposition_passes_promtool(demo_exposition: str) -> None:
    if not shutil.which("promtool"):
        pytest.skip("promtool not installed: make prometheus-deps (Debian's prometheus)")
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=demo_exposition, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_demo(demo: Flask) -> Iterator[str]:
    """The demo served by opskit's production server on a free port: host:port."""
    server = build_server(demo, "127.0.0.1", 0, threads=4)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(timeout=10)


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # 127.0.0.1 only
        return json.loads(response.read())


def test_a_real_prometheus_scrapes_the_demo_and_answers_its_ups_load(
    demo: Flask, live_demo: str, tmp_path: Path
) -> None:
    if PROMETHEUS is None:
        pytest.skip("Debian's prometheus is not installed: make prometheus-deps")
    with demo.app_context():
        stored = queries.latest_values(metrics=["ups.output.load_percent"])
        tags = {a.id: a.asset_tag for a in registry.assets_by_ids(list(stored))}
        expected = {
            (tags[asset_id], instance): reading.value / 100
            for asset_id, readings in stored.items()
            for (_metric, instance), reading in readings.items()
            if reading.value is not None
        }
    assert expected, "the demo stored no UPS load"

    credentials = tmp_path / "opskit.token"
    credentials.write_text(viewer_token(demo), encoding="utf-8")
    credentials.chmod(0o600)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: opskit\n"
        "    metrics_path: /metrics\n"
        "    authorization:\n"
        "      type: Bearer\n"
        f"      credentials_file: {credentials}\n"
        "    static_configs:\n"
        f"      - targets: ['{live_demo}']\n",
        encoding="utf-8",
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    query = urllib.parse.quote('opskit_ups_output_load_ratio{job="opskit"}')
    result: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = _get_json(f"http://127.0.0.1:{port}/api/v1/query?query={query}")
            except OSError:  # not listening yet
                answer = {}
            result = answer.get("data", {}).get("result", [])
            if result:
                break
            time.sleep(0.5)
        if not result:
            targets = ""
            if proc.poll() is None:
                targets = json.dumps(_get_json(f"http://127.0.0.1:{port}/api/v1/targets"))
            log.flush()
            pytest.fail(
                "Prometheus returned no UPS load: "
                + targets
                + (tmp_path / "prometheus.log").read_text()[-3000:]
            )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

    got = {
        (r["metric"]["asset"], r["metric"].get("metric_instance", "")): float(r["value"][1])
        for r in result
    }
    assert got == pytest.approx(expected)
    labels = result[0]["metric"]
    assert labels["asset_kind"] == "ups"
    assert labels["metric"] == "ups.output.load_percent"
    assert labels["unit"] == "ratio"
    assert labels["site"] and labels["room"]
    assert labels["instance"] == live_demo  # Prometheus's own label: the target scraped
