"""A scripted network device's CLI, the login shell sshd gives the test user (ForceCommand).

Usage: ``python3 fake_device.py SCENARIO.json [--login]``, read at every login::

    {"style": "cisco" | "huawei", "hostname": "CORE-SW1", "enable": "secret or null",
     "config": "/path/of/the/configuration/text", "paging": "honour" | "ignore",
     "page_lines": 20, "hang_after": null | N, "encoding": "utf-8" | "gbk",
     "pager": null | "TEXT", "echo": "once" | "twice" | "none", "super": "password or null"}

- cisco: user mode ``HOST>``, ``enable`` asks ``Password:`` (privileged ``HOST#``; without an
  enable password it starts privileged), ``terminal width``/``terminal length 0``,
  ``show running-config``; pages with `` --More-- `` erased by backspaces.
- huawei: ``<HOST>``, ``screen-length 0 temporary``, ``display current-configuration``; pages
  with ``  ---- More ----`` erased by ``ESC[42D``.
- ``paging: ignore``: the paging-off command is accepted but output is paged all the same.
- ``hang_after``: the configuration stops after N lines and the device says nothing more.
- ``--login`` (under telnetd): asks ``Username:`` and ``Password:`` first and checks them against
  the scenario's ``"login": [user, password]``, three tries as Cisco's lines do.
- ``encoding``: how the configuration's text is sent (firmware in Chinese writes GBK).
- ``pager``: the text a page ends with instead of the style's own (a pager no platform lists,
  e.g. ``-- Press any key to continue --``), left on the line when a key pages on.
- ``echo``: ``twice`` echoes each typed line and then writes it again on a line of its own (as
  some Telnet devices redisplay the command), ``none`` echoes nothing, ``crnul`` ends every line
  (echoes and output) with CR NUL LF.
- ``super`` (huawei): ``super`` asks ``Password:`` and raises the level to 3 with this password
  (``display current-configuration`` needs level 3 when it is set; wrong: ``Error: ...``).
- A configuration that is not paged is written in large blocks (a 10 MB one takes no time).

Standard library only: it runs as the test user under /usr/bin/python3, outside the venv.
"""

from __future__ import annotations

import json
import os
import sys
import termios
import time
import tty


def out(text: str, encoding: str = "utf-8") -> None:
    data = memoryview(text.encode(encoding))
    while data:
        data = data[os.write(1, data) :]


_ended_by_cr = [False]


ECHO = ["once"]
NEWLINE = {False: "\r\n", True: "\r\x00\n"}  # crnul: Telnet's bare CR (CR NUL), then LF


def read_line(echo: bool = True) -> str | None:
    """A line typed at the prompt (ended by CR, LF or CR LF / CR NUL), echoed like a device."""
    chars: list[str] = []
    while True:
        data = os.read(0, 1)
        if not data:
            return None
        ch = data.decode("latin-1")
        after_cr, _ended_by_cr[0] = _ended_by_cr[0], False
        if after_cr and not chars and ch in "\n\x00":
            continue  # the rest of the CR LF that ended the line before
        if ch in "\r\n":
            _ended_by_cr[0] = ch == "\r"
            out(NEWLINE[ECHO[0] == "crnul"])
            if echo and ECHO[0] == "twice" and chars:
                out("".join(chars) + "\r\n")
            return "".join(chars)
        if ch in "\x7f\x08":
            if chars:
                chars.pop()
                if echo:
                    out("\x08 \x08")
            continue
        chars.append(ch)
        if echo and ECHO[0] != "none":
            out(ch)


def wait_key() -> str:
    data = os.read(0, 1)
    return data.decode("latin-1") if data else "q"


def show(scenario: dict[str, object], paged: bool) -> None:
    with open(str(scenario["config"]), encoding="utf-8") as f:
        lines = f.read().splitlines()
    style = scenario["style"]
    page = int(scenario.get("page_lines") or 20)  # type: ignore[call-overload]
    hang_after = scenario.get("hang_after")
    encoding = str(scenario.get("encoding") or "utf-8")
    eol = NEWLINE[ECHO[0] == "crnul"]
    if not paged and hang_after is None:
        for start in range(0, len(lines), 4096):
            out("".join(line + eol for line in lines[start : start + 4096]), encoding)
        return
    pager = scenario.get("pager")
    for i, line in enumerate(lines):
        if hang_after is not None and i >= int(hang_after):  # type: ignore[call-overload]
            time.sleep(120)
            sys.exit(0)
        if paged and i and i % page == 0:
            if pager:
                out(str(pager))
                key = wait_key()
                out("\r\n")
            elif style == "cisco":
                out(" --More-- ")
                key = wait_key()
                out("\x08" * 10 + " " * 10 + "\x08" * 10)
            else:
                out("  ---- More ----")
                key = wait_key()
                out("\x1b[42D" + " " * 42 + "\x1b[42D")
            if key == "q":
                return
        out(line + eol, encoding)


def login(scenario: dict[str, object]) -> bool:
    expected = scenario["login"]
    assert isinstance(expected, list)
    user, password = str(expected[0]), str(expected[1])
    out("\r\nUser Access Verification\r\n\r\n")
    for _ in range(3):
        out("Username: ")
        typed_user = read_line()
        out("Password: ")
        typed_password = read_line(echo=False)
        if typed_user is None or typed_password is None:
            return False
        if (typed_user, typed_password) == (user, password):
            return True
        out("% Authentication failed\r\n\r\n")
    return False


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        scenario = json.load(f)
    if os.isatty(0):
        old = termios.tcgetattr(0)
        tty.setraw(0)
    style = scenario["style"]
    host = scenario["hostname"]
    privileged = not scenario.get("enable")
    level_3 = not scenario.get("super")
    ECHO[0] = str(scenario.get("echo") or "once")
    paged = True
    honour = scenario.get("paging", "honour") == "honour"
    try:
        if "--login" in sys.argv[2:] and not login(scenario):
            return
        out("\r\nInfo: The max number of VTY users is 5.\r\n" if style == "huawei" else "\r\n")
        while True:
            if style == "huawei":
                out(f"<{host}>")
            else:
                out(f"{host}{'#' if privileged else '>'}")
            line = read_line()
            if line is None:
                return
            cmd = line.strip()
            if not cmd:
                continue
            if cmd in ("exit", "quit", "logout"):
                return
            if style == "cisco" and cmd == "enable":
                out("Password: ")
                typed = read_line(echo=False)
                if typed == scenario.get("enable"):
                    privileged = True
                else:
                    out("% Access denied\r\n\r\n")
            elif style == "cisco" and cmd.startswith("terminal width"):
                pass
            elif style == "cisco" and cmd == "terminal length 0":
                paged = paged and not honour
            elif style == "cisco" and cmd in ("show running-config", "show run"):
                if not privileged:
                    out("                 ^\r\n% Invalid input detected at '^' marker.\r\n\r\n")
                else:
                    show(scenario, paged)
            elif style == "huawei" and cmd == "screen-length 0 temporary":
                out(
                    "Info: The configuration takes effect on the current user terminal "
                    "interface only.\r\n"
                )
                paged = paged and not honour
            elif style == "huawei" and cmd == "super":
                out("  Password:")
                typed = read_line(echo=False)
                if typed == scenario.get("super"):
                    level_3 = True
                    out(
                        "  Now user privilege is 3 level, and just the commands which level is "
                        "equal to or less than this level can be used.\r\n"
                    )
                else:
                    out("Error: Password is not correct.\r\n")
            elif style == "huawei" and cmd in ("display current-configuration", "dis cur"):
                if level_3:
                    show(scenario, paged)
                else:
                    out("  ^\r\nError: Unrecognized command found at '^' position.\r\n")
            elif style == "huawei":
                out("              ^\r\nError: Unrecognized command found at '^' position.\r\n")
            else:
                out("% Invalid input detected at '^' marker.\r\n\r\n")
    finally:
        if os.isatty(0):
            termios.tcsetattr(0, termios.TCSADRAIN, old)


if __name__ == "__main__":
    main()
