"""Who changed a configuration: the device's own syslog messages about logins and configuration
changes, received (``opskit syslog receive``) between the previous backup and the one that found
the change (``ConfigVersion.changed_by``).

Each pattern reads one vendor's message (its program tag and text, as ``monitors.syslog.parsing``
splits them) and names the ``user`` and, where the device says it, the address or line it came
from (``where``)::

    Cisco IOS/IOS-XE/NX-OS, Arista, Ruijie  SYS-5-CONFIG_I: Configured from console by admin on
                                            vty0 (10.1.1.5)
    Huawei VRP                              SHELL/5/CMDRECORD: Recorded command information.
                                            (Task=VT0, Ip=10.1.1.5, ..., User=admin, ...)
    H3C Comware                             SHELL/6/SHELL_CMD: -Line=vty0-IPAddr=10.1.1.5-
                                            User=admin; Command is interface ...
    Juniper Junos                           UI_COMMIT: User 'admin' requested 'commit' operation
    FortiGate                               ... user="admin" ui="GUI(10.1.1.5)" action="Edit" ...

Command records of commands that change nothing (``display``, ``screen-length``, ``quit`` ...)
and the backup's own account are left out. ``changed_by`` lists each user once with the places
they came from, in the order they first appear: ``admin (10.1.1.5), ops (console)``; nothing
found: ``None`` (unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_CHARS = 255


@dataclass(frozen=True)
class _Pattern:
    program: re.Pattern[str]
    text: re.Pattern[str]


PATTERNS = (
    _Pattern(
        re.compile(r"SYS-\d-CONFIG_I$"),
        re.compile(
            r"Configured from (?P<via>\S+) by (?P<user>\S+)"
            r"(?: on (?P<line>\S+(?: \d+)?))?(?: \((?P<where>[^)]+)\))?"
        ),
    ),
    _Pattern(
        re.compile(r"SHELL/\d/CMDRECORD$|CFG/\d/CFG_CHANGE$"),
        re.compile(r"(?:Ip=(?P<where>[^,)\s]+).*?)?User=(?P<user>[^,)\s]+)"),
    ),
    _Pattern(
        re.compile(r"SHELL/\d/SHELL_CMD$"),
        re.compile(
            r"(?:-Line=(?P<line>[^-\s]+))?(?:-IPAddr=(?P<where>[^-\s]+))?-User=(?P<user>[^;\s]+)"
        ),
    ),
    _Pattern(
        re.compile(r"^(?:mgd|UI_COMMIT)$"),
        re.compile(r"(?:UI_COMMIT: )?User '(?P<user>[^']+)' requested 'commit"),
    ),
    _Pattern(
        re.compile(r".*"),
        re.compile(
            r'user="(?P<user>[^"]+)".*?ui="(?P<where>[^"]+)".*?action="(?:Add|Edit|Delete)"'
        ),
    ),
)


#: commands a Huawei/H3C command record names that change nothing (the backup's own among them)
READ_ONLY = re.compile(
    r'Command(?:=| is )"?\s*(?:dis(?:play)?|screen-length|quit|return|ping|tracert|'
    r"system-view|sys|save|undo terminal monitor)\b",
    re.IGNORECASE,
)


def author(program: str, text: str) -> tuple[str, str] | None:
    """(user, where) of one message that records a configuration change, else None."""
    if READ_ONLY.search(text):
        return None
    for pattern in PATTERNS:
        if not pattern.program.search(program or ""):
            continue
        found = pattern.text.search(text)
        if found is None or not found.group("user"):
            continue
        groups = found.groupdict()
        where = groups.get("where") or groups.get("line") or groups.get("via") or ""
        return found.group("user"), where.strip()
    return None


def changed_by(messages: Iterable[tuple[str, str]], ignore_user: str = "") -> str | None:
    """The users (and where from) of the (program, text) messages, oldest first; None if none.
    ``ignore_user``: the backup's own account (its logins and commands are no change)."""
    users: dict[str, list[str]] = {}
    for program, text in messages:
        found = author(program, text)
        if found is None or found[0] == ignore_user:
            continue
        user, where = found
        places = users.setdefault(user, [])
        if where and where not in places:
            places.append(where)
    if not users:
        return None
    said = ", ".join(f"{u} ({', '.join(p)})" if p else u for u, p in users.items())
    return said if len(said) <= MAX_CHARS else said[: MAX_CHARS - 1] + "…"
