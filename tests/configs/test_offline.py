"""Offline copies (monitors/configs/offline.py, opskit configs export / verify): the full texts
with a manifest, into a folder or an AES-256 zip, checked file by file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from monitors.configs.models import ConfigDevice
from opskit import db
from tests import factories
from tests.configs import stored

# the versions carry fixed instants; nothing is compared with "now"
pytestmark = pytest.mark.dateless

CORE_V1 = "hostname CORE-SW1\nenable secret 5 $1$abcd$SECRETHASH1\nntp server 10.1.1.1\n"
CORE_V2 = CORE_V1.replace("10.1.1.1", "10.1.1.2")
FW_V1 = 'config system admin\n    edit "admin"\n        set password ENC SH2FWSECRET\nend\n'


@pytest.fixture
def seeded(app: Flask) -> Flask:
    with app.app_context():
        core = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.0.0.1")
        fw = factories.asset("FW/01#B", kind="firewall", mgmt_ip="10.0.0.254")
        db.session().add_all(
            [
                ConfigDevice(asset_id=core.id, platform="cisco_ios", username="backup"),
                ConfigDevice(asset_id=fw.id, platform="fortigate", username="backup"),
            ]
        )
        # 2026-03-01 09:00 and 2026-03-05 10:30 in Shanghai
        stored.version(core.id, 1, datetime(2026, 3, 1, 1, 0, tzinfo=UTC), CORE_V1)
        stored.version(core.id, 2, datetime(2026, 3, 5, 2, 30, tzinfo=UTC), CORE_V2)
        stored.version(fw.id, 1, datetime(2026, 3, 2, 3, 0, 5, tzinfo=UTC), FW_V1)
        db.session().commit()
    return app


def _run(app: Flask, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["configs", *args], input=input)


def test_folder_round_trip_then_tampered_missing_and_extra_files_are_named(
    seeded: Flask, tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    result = _run(seeded, "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 configuration files" in result.output and "not encrypted" in result.output
    core, fw = "SW-CORE-01_20260305-103000.cfg", "FW_01_B_20260302-110005.cfg"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [core, fw, "manifest.json", "SHA256SUMS"]
    )
    # the backup holds the secrets: owner-only
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    assert (out / core).read_text(encoding="utf-8") == CORE_V2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "opskit-configs-offline/1"
    assert manifest["files"] == [
        {
            "file": fw,
            "asset": "FW/01#B",
            "ip": "10.0.0.254",
            "platform": "fortigate",
            "fetched_at": "2026-03-02T03:00:05Z",
            "sha256": hashlib.sha256(FW_V1.encode()).hexdigest(),
            "bytes": len(FW_V1.encode()),
        },
        {
            "file": core,
            "asset": "SW-CORE-01",
            "ip": "10.0.0.1",
            "platform": "cisco_ios",
            "fetched_at": "2026-03-05T02:30:00Z",
            "sha256": hashlib.sha256(CORE_V2.encode()).hexdigest(),
            "bytes": len(CORE_V2.encode()),
        },
    ]
    # sha256sum checks it where opskit is not installed
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 2

    result = _run(seeded, "verify", str(out))
    assert result.exit_code == 0 and "all 2 files match" in result.output

    (out / core).write_text(CORE_V2.replace("10.1.1.2", "10.6.6.6"), encoding="utf-8")
    (out / fw).unlink()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = _run(seeded, "verify", str(out))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"missing: {fw}", f"changed: {core}", "extra: notes.txt"]


def test_encrypted_zip_round_trip_and_a_wrong_passphrase(seeded: Flask, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"  # beside the test's database
    tmp_path.mkdir()
    out = tmp_path / "configs.zip"
    result = _run(seeded, "export", "--out", str(out), "--passphrase-stdin", input="开门 sesame\n")
    assert result.exit_code == 0, result.output
    assert "encrypted (AES-256)" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != "configs.zip"]  # no temporary left
    with zipfile.ZipFile(out) as plain:  # every entry encrypted, none readable without it
        assert all(info.flag_bits & 0x1 for info in plain.infolist())
        assert len(plain.infolist()) == 4

    ok = _run(seeded, "verify", str(out), "--passphrase-stdin", input="开门 sesame\n")
    assert ok.exit_code == 0 and "all 2 files match" in ok.output
    wrong = _run(seeded, "verify", str(out), "--passphrase-stdin", input="open sesame\n")
    assert wrong.exit_code == 2 and f"wrong passphrase for {out}" in wrong.output
    none = _run(seeded, "verify", str(out))
    assert none.exit_code == 2 and "is encrypted: give its passphrase" in none.output

    seven = shutil.which("7zz") or shutil.which("7z")
    if seven:  # an ordinary tool opens it (7-Zip, where installed)
        listed = subprocess.run(
            [seven, "x", "-p开门 sesame", f"-o{tmp_path / 'x'}", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert listed.returncode == 0, listed.stdout
        assert (tmp_path / "x" / "SW-CORE-01_20260305-103000.cfg").read_text() == CORE_V2


def test_a_tampered_zip_entry_is_named(seeded: Flask, tmp_path: Path) -> None:
    out = tmp_path / "plain.zip"
    assert _run(seeded, "export", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("SW-CORE-01"):
                data = data.replace(b"10.1.1.2", b"10.9.9.9")
            dst.writestr(info, data)
    result = _run(seeded, "verify", str(tampered))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["changed: SW-CORE-01_20260305-103000.cfg"]


def test_since_and_all_versions_choose_the_versions(seeded: Flask, tmp_path: Path) -> None:
    assert _run(seeded, "export", "--out", str(tmp_path / "all"), "--all-versions").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "all").glob("*.cfg")) == [
        "FW_01_B_20260302-110005.cfg",
        "SW-CORE-01_20260301-090000.cfg",
        "SW-CORE-01_20260305-103000.cfg",
    ]
    # since 3 March (Shanghai): the firewall's only version is older; the switch's newest is not
    result = _run(seeded, "export", "--out", str(tmp_path / "since"), "--since", "2026-03-03")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "since").glob("*.cfg")] == [
        "SW-CORE-01_20260305-103000.cfg"
    ]
    # 2 March 11:00:05 Shanghai is the firewall's version: at or after counts
    args = ["--since", "2026-03-02T11:00:05", "--all-versions"]
    assert _run(seeded, "export", "--out", str(tmp_path / "s2"), *args).exit_code == 0
    assert len(list((tmp_path / "s2").glob("*.cfg"))) == 2
    bad = _run(seeded, "export", "--out", str(tmp_path / "s3"), "--since", "3 March")
    assert bad.exit_code == 2 and "expected a date such as 2026-10-01" in bad.output


def test_unsafe_destinations_are_refused_and_nothing_is_written(
    seeded: Flask, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "out"  # beside the test's database
    tmp_path.mkdir()
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.cfg").write_text("x", encoding="utf-8")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    cases = {
        "/dev/null": "exists and is not a folder",
        str(fifo): "is not a regular file (a device, pipe or socket)",
        str(tmp_path / "full"): "is not empty",
        str(tmp_path / "file"): "exists and is not a folder",
        str(tmp_path / "no" / "such" / "copy.zip"): "does not exist",
        str(tmp_path / "no" / "such"): "does not exist",
        str(tmp_path / "copy"): "a passphrase encrypts a zip file",
    }
    for out, words in cases.items():
        extra = ["--passphrase-stdin"] if out.endswith("copy") else []
        result = _run(seeded, "export", "--out", out, *extra, input="pw\n")
        assert result.exit_code == 2, (out, result.output)
        assert words in result.output, (out, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full", "pipe.zip"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_verify_of_something_else_is_a_clear_error(seeded: Flask, tmp_path: Path) -> None:
    missing = _run(seeded, "verify", str(tmp_path / "nothing"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "folder").mkdir()
    bare = _run(seeded, "verify", str(tmp_path / "folder"))
    assert bare.exit_code == 2 and "has no manifest.json" in bare.output
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    junk = _run(seeded, "verify", str(tmp_path / "junk.zip"))
    assert junk.exit_code == 2 and "is not a readable zip file" in junk.output


def test_a_lost_encryption_key_is_a_clear_error_and_writes_nothing(
    seeded: Flask, tmp_path: Path
) -> None:
    seeded.extensions.pop("opskit.fernet", None)
    seeded.config["ENCRYPTION_KEY"] = "8n7Ra0yZ2eG9fWm3kQ1uXc5vB4tL6sHj0pD2oE8iA1c="  # another key
    out = tmp_path / "copy"
    result = _run(seeded, "export", "--out", str(out))
    assert result.exit_code == 2
    assert "cannot decrypt a stored secret: the encryption key differs" in result.output
    assert not out.exists()
