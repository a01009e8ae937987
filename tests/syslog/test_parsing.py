"""Parsing real-looking lines of every format the receiver meets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitors.syslog.parsing import Malformed, Message, decode, parse, structured_data

# parsing reads no clock: the time is handed in
pytestmark = pytest.mark.dateless

AT = datetime.now(UTC)


def p(line: bytes) -> Message:
    return parse(line, "192.0.2.7", AT)


def test_rfc3164() -> None:
    m = p(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert (m.facility, m.severity) == (4, 2)  # auth.critical
    assert (m.hostname, m.program) == ("mymachine", "su")
    assert m.text == "'su root' failed for lonvick on /dev/pts/8"
    assert m.received_at == AT and m.source == "192.0.2.7"


def test_rfc3164_pid_and_single_digit_day() -> None:
    m = p(b"<86>Dec  1 10:00:00 web01 sshd[1234]: Failed password for root from 10.0.0.9")
    assert (m.facility, m.severity, m.hostname, m.program) == (10, 6, "web01", "sshd")
    assert m.text == "Failed password for root from 10.0.0.9"


def test_rfc5424_with_structured_data() -> None:
    m = p(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
        b'[examplePriority@32473 class="high"] \xef\xbb\xbfAn application event log entry'
    )
    assert (m.facility, m.severity) == (20, 5)  # local4.notice
    assert (m.hostname, m.program) == ("mymachine.example.com", "evntslog")
    assert m.text == "An application event log entry"
    assert structured_data(m.structured_data) == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
        "examplePriority@32473": {"class": "high"},
    }


def test_rfc5424_nil_fields_and_escapes() -> None:
    m = p(b'<13>1 - - - - - [x@1 a="q\\"b\\]c"] hello')
    assert (m.hostname, m.program, m.text) == ("", "", "hello")
    assert structured_data(m.structured_data) == {"x@1": {"a": 'q"b]c'}}
    m = p(b"<13>1 2026-01-01T00:00:00+08:00 host app 12 - - no data")
    assert (m.hostname, m.program, m.structured_data, m.text) == ("host", "app", "", "no data")


def test_huawei() -> None:
    m = p(
        b"<187>Dec 10 2025 10:12:33+08:00 HW-CORE-01 %%01IFNET/4/LINK_STATE(l)[12]:The line "
        b"protocol IP on the interface GigabitEthernet0/0/1 has entered the DOWN state."
    )
    assert (m.facility, m.severity) == (23, 3)  # local7.error
    assert (m.hostname, m.program) == ("HW-CORE-01", "IFNET/4/LINK_STATE")
    assert m.text.startswith("The line protocol IP on the interface GigabitEthernet0/0/1")


def test_h3c() -> None:
    m = p(
        b"<188>Jan 20 16:53:40:226 2025 H3C-SW-02 %%10IFNET/3/PHY_UPDOWN: Physical state on "
        b"the interface GigabitEthernet1/0/1 changed to down."
    )
    assert (m.severity, m.hostname, m.program) == (4, "H3C-SW-02", "IFNET/3/PHY_UPDOWN")
    assert m.text == "Physical state on the interface GigabitEthernet1/0/1 changed to down."


@pytest.mark.parametrize(
    ("line", "host", "program", "text"),
    [
        (
            b"<187>123: *Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, "
            b"changed state to down",
            "",
            "LINK-3-UPDOWN",
            "Interface GigabitEthernet0/1, changed state to down",
        ),
        (
            b"<189>45: SW-ACC-01: Dec 10 10:12:33.456 CST: %SYS-5-CONFIG_I: Configured from "
            b"console by admin on vty0",
            "SW-ACC-01",
            "SYS-5-CONFIG_I",
            "Configured from console by admin on vty0",
        ),
        (
            b"<189>Dec 10 10:12:33 SW-ACC-01 881: %LINEPROTO-5-UPDOWN: Line protocol on "
            b"Interface Gi0/1, changed state to up",
            "SW-ACC-01",
            "LINEPROTO-5-UPDOWN",
            "Line protocol on Interface Gi0/1, changed state to up",
        ),
        (
            b"<187>2025 Dec 10 10:12:33 CST: %ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface "
            b"Ethernet1/1 is down (Link failure)",
            "",
            "ETHPORT-5-IF_DOWN_LINK_FAILURE",
            "Interface Ethernet1/1 is down (Link failure)",
        ),
    ],
)
def test_cisco(line: bytes, host: str, program: str, text: str) -> None:
    m = p(line)
    assert (m.hostname, m.program, m.text) == (host, program, text)


def test_python_sysloghandler_and_iso_time() -> None:
    m = p(b"<14>myapp: hello from python\x00")
    assert (m.facility, m.severity, m.hostname, m.program, m.text) == (
        1,
        6,
        "",
        "myapp",
        "hello from python",
    )
    m = p(b"<13>2025-12-10T10:12:33.123+08:00 web01 nginx: upstream timed out")
    assert (m.hostname, m.program, m.text) == ("web01", "nginx", "upstream timed out")


def test_gbk_bytes_are_read_as_chinese() -> None:
    text = "接口 GigabitEthernet0/1 状态变为 down"
    m = p(b"<13>Dec 10 10:12:33 sw1 " + text.encode("gbk"))
    assert m.hostname == "sw1"
    assert m.text == text
    assert decode("机房温度过高".encode("gb18030")) == "机房温度过高"
    assert decode("机房".encode()) == "机房"


def test_undecodable_bytes_become_replacement_characters() -> None:
    m = p(b"<13>Dec 10 10:12:33 sw1 bad \xff\xfe\xff end")
    assert m.text.startswith("bad ") and m.text.endswith(" end")
    assert "\ufffd" in m.text


def test_no_pri_text_is_user_notice_but_junk_and_empty_are_malformed() -> None:
    m = p(b"link flapped on port 3")
    assert (m.facility, m.severity, m.text) == (1, 5, "link flapped on port 3")
    for junk in (b"", b"\x00\r\n", bytes(range(256)) * 4):
        with pytest.raises(Malformed):
            p(junk)


def test_long_text_is_cut() -> None:
    m = p(b"<13>" + b"x" * 10_000)
    assert m.truncated and len(m.text) == 4096
