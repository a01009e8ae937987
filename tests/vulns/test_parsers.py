"""The scanner formats on public sample reports and on files written here for the edge cases:
what each parses to, and a clear message naming what is wrong with a bad file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspections.vulns import parsers, tracking
from inspections.vulns.parsers import base, table
from tests.vulns.scans import SAMPLES, Item, ScanHost, nessus

# the files carry their own times; nothing here reads the clock
pytestmark = pytest.mark.dateless


def _refused(path: Path, scanner: str = "auto") -> str:
    with pytest.raises(parsers.ParseError) as caught:
        parsers.parse(path, scanner)
    return str(caught.value)


def test_greenbone_sample_report() -> None:
    path = SAMPLES / "openvas_one_vuln.xml"
    assert parsers.detect(path) == "openvas"
    scan = parsers.parse(path)
    assert (scan.scanner, scan.version, scan.warnings) == ("openvas", "9.0", [])
    assert scan.started_at == datetime(2023, 9, 28, 14, 48, 2, tzinfo=UTC)
    assert scan.finished_at == datetime(2023, 9, 28, 16, 12, 15, tzinfo=UTC)
    assert list(scan.hosts) == ["10.0.101.2"]
    [finding] = scan.findings
    assert finding.plugin_id == "1.3.6.1.4.1.25623.1.0.832260"
    assert finding.name == "Mozilla Firefox Security Update (mfsa_2023-32_2023-36) - Windows"
    assert (finding.port, finding.protocol) == (0, "tcp")  # general/tcp
    assert (finding.cvss_score, finding.severity) == (10.0, "critical")
    assert len(finding.cves) == 12 and finding.cves[0] == "CVE-2023-4573"
    assert finding.solution.startswith("Upgrade to version 117 or later")


def test_nessus_sample_report() -> None:
    path = SAMPLES / "nessus_issue_6992_excerpt.nessus"
    assert parsers.detect(path) == "nessus"
    scan = parsers.parse(path)
    assert scan.started_at == datetime(2022, 3, 23, 13, 31, 51, tzinfo=UTC)  # the timestamp tag
    assert scan.finished_at == datetime(2022, 3, 23, 14, 7, 52, tzinfo=UTC)
    host = scan.hosts["44.228.249.3"]
    assert host.hostname == "testphp.vulnweb.com"
    [finding] = scan.findings
    assert (finding.plugin_id, finding.port, finding.protocol) == ("142591", 80, "tcp")
    assert finding.name == "PHP < 7.3.24 Multiple Vulnerabilities"
    assert finding.severity == "medium"  # Nessus's own rating; the score is CVSS v3's
    assert finding.cvss_score == 7.5
    assert finding.cvss_vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    assert finding.solution == "Upgrade to PHP version 7.3.24 or later."


def test_nessus_info_items_are_not_findings_but_their_host_was_scanned(tmp_path: Path) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    hosts = [
        ScanHost("10.0.0.1", mac="AA-BB-CC-00-00-01", items=[Item("1", severity=0)]),
        ScanHost("10.0.0.2", items=[Item("2", severity=3, cves=("CVE-2024-1",))]),
    ]
    scan = parsers.parse(nessus(tmp_path / "s.nessus", start, hosts))
    assert sorted(scan.hosts) == ["10.0.0.1", "10.0.0.2"]
    assert scan.hosts["10.0.0.1"].mac == "aa:bb:cc:00:00:01"
    assert [(f.ip, f.plugin_id, f.severity) for f in scan.findings] == [("10.0.0.2", "2", "high")]


def test_detection_names_what_it_found(tmp_path: Path) -> None:
    odd = tmp_path / "odd.xml"
    odd.write_text("<?xml version='1.0'?><catalog><x/></catalog>", encoding="utf-8")
    assert "the root element <catalog> is no scanner format" in _refused(odd)
    v1 = tmp_path / "old.nessus"
    v1.write_text("<NessusClientData><Report/></NessusClientData>", encoding="utf-8")
    assert "Nessus v1 file" in _refused(v1)
    v3 = tmp_path / "new.nessus"
    v3.write_text("<NessusClientData_v3><Report/></NessusClientData_v3>", encoding="utf-8")
    assert "version not seen before (<NessusClientData_v3>)" in _refused(v3)
    assert "--scanner nmap, but the file's root element is <report>" in _refused(
        SAMPLES / "openvas_one_vuln.xml", "nmap"
    )


def test_a_truncated_file_names_where_it_ends(tmp_path: Path) -> None:
    text = (SAMPLES / "openvas_one_vuln.xml").read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    message = _refused(cut)
    assert "ends before its XML does (line " in message and "truncated" in message


def test_versions_not_seen_before_are_named(tmp_path: Path) -> None:
    nmap = tmp_path / "n.xml"
    nmap.write_text(
        '<nmaprun scanner="nmap" start="1772416800" version="9.1" xmloutputversion="2.00">'
        '<host><status state="up"/><address addr="10.0.0.7" addrtype="ipv4"/></host>'
        "</nmaprun>",
        encoding="utf-8",
    )
    scan = parsers.parse(nmap)
    assert list(scan.hosts) == ["10.0.0.7"]
    assert scan.warnings == [
        "nmap XML output version 2.00 not seen before (known: 1.01, 1.02, 1.03, 1.04, 1.05); "
        "read as 1.05"
    ]
    broken = tmp_path / "b.xml"
    broken.write_text(
        '<nmaprun start="1772416800" xmloutputversion="2.00"><host><status state="up"/>'
        '<address addr="host-7" addrtype="name"/></host></nmaprun>',
        encoding="utf-8",
    )
    assert _refused(broken) == "<host> number 1 has no IPv4/IPv6 <address>"
    gmp = (SAMPLES / "openvas_one_vuln.xml").read_text(encoding="utf-8")
    newer = tmp_path / "g.xml"
    newer.write_text(gmp.replace("<version>9.0</version>", "<version>99.1</version>"), "utf-8")
    assert parsers.parse(newer).warnings[0].startswith("Greenbone GMP version 99.1 not seen")


def test_bad_values_name_the_element(tmp_path: Path) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    path = nessus(tmp_path / "s.nessus", start, [ScanHost("10.0.0.1", items=[Item("1")])])
    path.write_text(path.read_text().replace('severity="4"', 'severity="9"'), encoding="utf-8")
    assert _refused(path) == "<ReportItem> number 1 (10.0.0.1): severity '9' is not 0-4"


CSV_HEADER = "序号,IP地址,主机名,端口,协议,漏洞名称,风险等级,CVE编号,CVSS评分,解决办法,漏洞描述"


def test_a_chinese_csv_export_in_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "rsas.csv"
    rows = [
        CSV_HEADER,
        "1,10.1.1.5,db01,3306/tcp,,MySQL 弱口令,高,,7.5,修改口令,…",
        '2,10.1.1.5,db01,22,TCP,OpenSSH 漏洞,中危,"CVE-2023-38408, CVE-2023-51385",,升级,…',
        "3,10.1.1.6,,,,ICMP 时间戳,信息,,,,…",
    ]
    path.write_bytes("\r\n".join(rows).encode("gb18030"))
    assert parsers.detect(path) == "csv"
    scan = parsers.parse(path)
    assert sorted(scan.hosts) == ["10.1.1.5", "10.1.1.6"]
    got = [(f.name, f.severity, f.port, f.protocol, f.cves) for f in scan.findings]
    assert got == [
        ("MySQL 弱口令", "high", 3306, "tcp", ()),
        ("OpenSSH 漏洞", "medium", 22, "tcp", ("CVE-2023-38408", "CVE-2023-51385")),
    ]
    assert scan.findings[0].plugin_id == "name:MySQL 弱口令"  # no id column: the name is the id


def test_csv_problems_name_the_column_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(CSV_HEADER + ",资产负责人\n", encoding="utf-8")
    message = _refused(path)
    assert message.startswith("unknown column '资产负责人' (column L): add it to csv_columns.yaml")
    path.write_text("IP地址,漏洞名称\n10.0.0.1,x\n", encoding="utf-8")
    assert _refused(path).startswith("missing column(s): severity (one of ")
    path.write_text("IP地址,漏洞名称,风险等级\n10.0.0.1,x,高\n10.0.0.2,y,很高\n", encoding="utf-8")
    assert _refused(path).startswith("line 3, column '风险等级': '很高' is not a known level")
    path.write_text("IP地址,漏洞名称,风险等级,端口\n10.0.0.1,x,高,http\n", encoding="utf-8")
    assert _refused(path) == "line 2, column '端口': 'http' is not a port number"
    path.write_text("IP地址,漏洞名称,风险等级\n10.0.0.256,x,高\n", encoding="utf-8")
    assert _refused(path) == "line 2, column 'IP地址': '10.0.0.256' is not an IP address"


def test_hostile_xml_is_refused_in_process(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.xml"
    laughs.write_text(
        '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><nmaprun>&b;</nmaprun>',
        encoding="utf-8",
    )
    assert "declares the XML entity 'a'" in _refused(laughs)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(
        f'<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY s SYSTEM "file://{secret}">]>'
        "<nmaprun>&s;</nmaprun>",
        encoding="utf-8",
    )
    message = _refused(xxe)
    assert "TOP-SECRET-42" not in message and "entity 's'" in message


def test_the_gap_bound_stops_a_huge_text(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"<nmaprun><host>" + b"A" * 300_000 + b"</host></nmaprun>")
    with pytest.raises(parsers.ParseError) as caught:
        list(base.xml_events(path, max_gap=100_000))
    assert "without an element beginning or ending (inside <host>" in str(caught.value)


def test_the_shipped_data_files_are_valid() -> None:
    rules = tracking.rules()
    assert rules.due_days[("critical", "core")] == 7
    assert rules.alert_urgency("critical", "core") == "A"
    assert rules.alert_urgency("high", "general") is None
    headers, ignored, required, _words = table.mapping()
    assert set(required) <= set(headers.values())
    assert not set(headers) & ignored  # a header is a field or ignored, never both
    with pytest.raises(ValueError, match=r"due_days\.high: 'vip' is not an importance"):
        tracking.parse_rules({"due_days": {"high": {"vip": 3}}})
