"""The recordings snmpsim serves: numeric OIDs, strictly increasing, known types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("fixtures")
TYPES = {"2", "4", "4x", "5", "6", "64", "64x", "65", "66", "67", "70"}
OID = re.compile(r"^[0-2](\.\d+)+$")
RECORDINGS = sorted(FIXTURES.glob("*.snmprec"))


def test_there_are_recordings() -> None:
    names = {p.stem for p in RECORDINGS}
    assert {"ups_rfc1628", "linux_host", "apc_ups", "switch_lldp", "precision_ac"} <= names


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.name for p in RECORDINGS])
def test_recording_is_numeric_and_strictly_increasing(path: Path) -> None:
    previous: tuple[int, ...] = ()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        oid, kind, _value = line.split("|", 2)
        assert OID.match(oid), f"{path.name}:{number}: OID {oid!r} is not numeric"
        assert kind in TYPES, f"{path.name}:{number}: unknown type {kind!r}"
        current = tuple(int(p) for p in oid.split("."))
        assert current > previous, f"{path.name}:{number}: {oid} does not follow the previous OID"
        previous = current
