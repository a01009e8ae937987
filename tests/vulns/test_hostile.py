"""Hostile scanner files refused by ``opskit vulns import`` run as a process, with its memory
bounded: each import runs in a small wrapper process whose only child it is, and the wrapper
reports the child's peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``, the kernel's count, not
a timer). A baseline import of a good file gives the process's usual size; a hostile file may
add little to it, far less than its own size."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from inspections.vulns import parsers
from tests.vulns.scans import SAMPLES

# no dates: refusals and memory only
pytestmark = [pytest.mark.dateless, pytest.mark.xdist_group("vulns_hostile")]

WRAPPER = r"""
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
print(done.returncode, peak_kb)
sys.stdout.write(done.stdout + done.stderr)
"""
MB = 1024 * 1024


@pytest.fixture
def run_import(tmp_path: Path, sqlite_template: Path):
    database = tmp_path / "opskit.db"
    shutil.copyfile(sqlite_template, database)
    env = {
        **os.environ,
        "OPSKIT_DATABASE_URL": f"sqlite:///{database}",
        "OPSKIT_INSTANCE_PATH": str(tmp_path / "instance"),
        "OPSKIT_SECRET_KEY": "test",
    }
    opskit = Path(sys.executable).with_name("opskit")

    def run(path: Path) -> tuple[int, int, str]:
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER, str(opskit), "vulns", "import", str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        first, _, output = done.stdout.partition("\n")
        code, peak_kb = (int(x) for x in first.split())
        return code, peak_kb * 1024, output

    return run


def test_hostile_files_are_refused_with_memory_bounded(run_import, tmp_path: Path) -> None:
    code, baseline, output = run_import(SAMPLES / "openvas_one_vuln.xml")
    assert code == 0 and "imported as scan 1" in output

    laughs = tmp_path / "laughs.xml"  # expands to 10^9 "lol"s: 3 GB
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    laughs.write_text(
        f'<?xml version="1.0"?><!DOCTYPE report [{"".join(entities)}]><report>&lol9;</report>',
        encoding="utf-8",
    )
    code, peak, output = run_import(laughs)
    assert code == 1
    assert "declares the XML entity 'lol0': entity declarations are refused" in output
    assert "nothing was imported" in output
    assert peak < baseline + 20 * MB

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711", encoding="utf-8")
    xxe = tmp_path / "xxe.nessus"  # an external entity naming a local file
    xxe.write_text(
        '<?xml version="1.0"?>'
        f'<!DOCTYPE NessusClientData_v2 [<!ENTITY s SYSTEM "file://{secret}">]>'
        "<NessusClientData_v2><Report><ReportHost name='&s;'/></Report></NessusClientData_v2>",
        encoding="utf-8",
    )
    code, peak, output = run_import(xxe)
    assert code == 1 and "declares the XML entity 's'" in output
    assert "TOP-SECRET-4711" not in output and peak < baseline + 20 * MB

    # 200 MB, generated on the fly: one record whose text never ends
    big = tmp_path / "big.xml"
    with big.open("wb") as out:
        out.write(b'<?xml version="1.0"?>\n<nmaprun start="1772416800"><host>')
        block = b"A" * MB
        for _ in range(200):
            out.write(block)
        out.write(b"</host></nmaprun>\n")
    assert big.stat().st_size > 200 * MB
    code, peak, output = run_import(big)
    assert code == 1
    assert "more than 8 MB without an element beginning or ending (inside <host>" in output
    assert peak < baseline + 40 * MB  # the file is 200 MB; reading it whole would show
    big.unlink()


def test_elements_no_one_reads_do_not_pile_up(tmp_path: Path) -> None:
    """100,000 unknown elements (5 MB) inside a Nessus report: dropped as they end, so the
    parser's peak (tracemalloc) stays far below what keeping them would cost."""
    path = tmp_path / "junk.nessus"
    with path.open("w", encoding="utf-8") as out:
        out.write("<NessusClientData_v2><Report>")
        out.write("<ReportHost name='10.0.0.1'><HostProperties>")
        out.write("<tag name='host-ip'>10.0.0.1</tag></HostProperties></ReportHost>")
        for k in range(100_000):
            out.write(f"<junk n='{k}'>xxxxxxxxxxxxxxxxxxxxxxxx</junk>")
        out.write("</Report></NessusClientData_v2>")
    tracemalloc.start()
    try:
        scan = parsers.parse(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(scan.hosts) == ["10.0.0.1"]
    assert peak < 4 * MB, peak  # 100,000 kept elements would take ~20 MB
