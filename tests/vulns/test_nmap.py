"""Debian's nmap (``make scan-deps``) scanning services this test starts on 127.0.0.1 (a small
HTTP server) and this machine's PostgreSQL on 5432, its XML imported as the service inventory
of the registered asset 127.0.0.1: real scanner output, not a recorded file."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from inspections.vulns.models import VulnScanHost, VulnService
from opskit import db
from tests import factories

# nmap stamps the scan with the machine's real time; nothing here depends on the date
pytestmark = [pytest.mark.dateless, pytest.mark.real_clock, pytest.mark.xdist_group("vulns_nmap")]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # nmap's probes, unlogged
        pass


def _open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def nmap_xml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, bool]]:
    """nmap -sV of the test's HTTP server (and PostgreSQL when it listens): the XML file, the
    HTTP port, whether 5432 was scanned open."""
    if shutil.which("nmap") is None:
        pytest.skip("Debian's nmap is not installed (make scan-deps)")
    folder = tmp_path_factory.mktemp("nmap")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        postgres = _open(5432)
        ports = f"{port},5432" if postgres else str(port)
        done = subprocess.run(
            ["nmap", "-sV", "-oX", "-", "-p", ports, "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        path = folder / "nmap.xml"
        path.write_text(done.stdout, encoding="utf-8")
        yield path, port, postgres
    finally:
        server.shutdown()
        server.server_close()


def test_nmap_output_imported_as_the_assets_inventory(
    db_app: Flask, nmap_xml: tuple[Path, int, bool]
) -> None:
    path, http_port, postgres = nmap_xml
    with db_app.app_context():
        asset = factories.asset("SRV-LOCAL", name="opskit-host", mgmt_ip="127.0.0.1")
        db.session().commit()
    result = db_app.test_cli_runner().invoke(args=["vulns", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    expected = 2 if postgres else 1
    assert {k: summary[k] for k in ("scanner", "hosts", "hosts_matched", "services")} == {
        "scanner": "nmap",
        "hosts": 1,
        "hosts_matched": 1,
        "services": expected,
    }
    assert (summary["findings_new"], summary["findings_fixed"]) == (0, 0)  # an inventory
    assert summary["hosts_unmatched"] == 0 and summary["unmatched_hosts"] == []
    assert summary["warnings"] == []
    with db_app.app_context():
        host = db.session().scalars(select(VulnScanHost)).one()
        assert (host.ip, host.asset_id, host.matched_by) == ("127.0.0.1", asset.id, "ip")
        services = {
            s.port: (s.protocol, s.service, s.product)
            for s in db.session().scalars(select(VulnService))
        }
    assert services[http_port] == ("tcp", "http", "SimpleHTTPServer")
    if postgres:
        assert services[5432] == ("tcp", "postgresql", "PostgreSQL DB")
