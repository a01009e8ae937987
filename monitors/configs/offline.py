"""Offline copies (离线备份): device configurations written out as plain files with a manifest,
into a folder or a zip file (AES-256 with a passphrase), and checked against that manifest.

The copy is the backup, so each file holds the full configuration (secrets included, decrypted):
a folder or zip without a passphrase is written owner-only (0700 folders, 0600 files). Its layout:

- ``<asset tag>_<YYYYMMDD-HHMMSS>.cfg``: one file per configuration version, named by the asset
  tag (characters unsafe in a file name replaced by ``_``) and the site's local time it was
  fetched, UTF-8;
- ``manifest.json``: ``{"format", "created_at", "files": [{"file", "asset", "ip", "platform",
  "fetched_at" (UTC, ISO 8601), "sha256", "bytes"}]}``, what :func:`verify` checks;
- ``SHA256SUMS``: the same hashes in ``sha256sum`` form, so ``sha256sum -c SHA256SUMS`` checks a
  folder where opskit is not installed.

With a passphrase the zip is WinZip AES-256 (pyzipper), which 7-Zip and WinRAR open (Windows'
own Explorer may not). A zip is written beside its destination and moved into place, so a failed
export leaves no half file; a folder must be new or empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opskit import clock
from opskit.outputs import OutputPathError, check_output_path

FORMAT = "opskit-configs-offline/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
_UNSAFE = re.compile(r"[^\w.\-]+")


class OfflineError(Exception):
    """The copy cannot be written or read (the message says why)."""


@dataclass(frozen=True)
class Copy:
    """One configuration version to write: the full text (secrets included)."""

    asset: str
    ip: str
    platform: str
    fetched_at: datetime
    text: str


@dataclass
class Problem:
    kind: str  # missing | changed | extra
    file: str


@dataclass
class Verified:
    """What :func:`verify` found: the files that match, and each one that does not."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def file_name(copy: Copy, taken: set[str]) -> str:
    """``<tag>_<local time>.cfg``, unique among ``taken`` (then ``-2``, ``-3``)."""
    tag = _UNSAFE.sub("_", copy.asset).strip("._") or "asset"
    local = copy.fetched_at.astimezone(clock.site_tz()).strftime("%Y%m%d-%H%M%S")
    stem = f"{tag}_{local}"
    name, n = f"{stem}.cfg", 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}.cfg"
    taken.add(name.lower())
    return name


def _files(copies: Iterable[Copy]) -> list[tuple[str, bytes, dict[str, Any]]]:
    taken = {MANIFEST.lower(), SUMS.lower()}
    out = []
    for copy in sorted(copies, key=lambda c: (c.asset, c.fetched_at)):
        data = copy.text.encode("utf-8")
        name = file_name(copy, taken)
        entry = {
            "file": name,
            "asset": copy.asset,
            "ip": copy.ip,
            "platform": copy.platform,
            "fetched_at": copy.fetched_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
        out.append((name, data, entry))
    return out


def _manifest(files: list[tuple[str, bytes, dict[str, Any]]]) -> tuple[bytes, bytes]:
    created = clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    manifest = {"format": FORMAT, "created_at": created, "files": [e for _, _, e in files]}
    sums = "".join(f"{e['sha256']}  {name}\n" for name, _, e in files)
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return text.encode("utf-8"), sums.encode("utf-8")


def is_zip_name(path: str | Path) -> bool:
    return str(path).lower().endswith(".zip")


def check_folder(path: str | Path) -> Path:
    """``path`` as a folder an export may fill: new (its parent existing) or empty."""
    text = str(path).strip()
    if not text:
        raise OfflineError("no folder given: expected --out FOLDER or --out FILE.zip")
    folder = Path(text)
    try:
        mode = folder.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OfflineError(f"{folder}: cannot be read ({exc.strerror})") from None
    if mode is not None:
        if not stat.S_ISDIR(mode):
            raise OfflineError(
                f"{folder} exists and is not a folder: give a new or empty folder, "
                "or a name ending in .zip"
            )
        if any(folder.iterdir()):
            raise OfflineError(
                f"the folder {folder} is not empty: give a new or empty folder, so the copy "
                "holds only what its manifest lists"
            )
    elif not folder.absolute().parent.is_dir():
        raise OfflineError(f"the folder {folder.absolute().parent} does not exist: create it first")
    return folder


def check_out(path: str | Path) -> Path:
    """The destination of an export, checked before anything is fetched or written."""
    if is_zip_name(path):
        try:
            return check_output_path(path, parents=False)
        except OutputPathError as exc:
            raise OfflineError(str(exc)) from None
    return check_folder(path)


def export(copies: Iterable[Copy], out: str | Path, passphrase: str | None = None) -> list[str]:
    """Write ``copies`` to ``out`` (a folder, or a file ending in .zip); the files' names."""
    target = check_out(out)
    files = _files(copies)
    manifest, sums = _manifest(files)
    if is_zip_name(target):
        _write_zip(target, files, manifest, sums, passphrase)
    else:
        if passphrase:
            raise OfflineError("a passphrase encrypts a zip file: give --out FILE.zip")
        _write_folder(target, files, manifest, sums)
    return [name for name, _, _ in files]


def _write_folder(
    folder: Path, files: list[tuple[str, bytes, dict[str, Any]]], manifest: bytes, sums: bytes
) -> None:
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    for name, data in [*((n, d) for n, d, _ in files), (MANIFEST, manifest), (SUMS, sums)]:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def _write_zip(
    target: Path,
    files: list[tuple[str, bytes, dict[str, Any]]],
    manifest: bytes,
    sums: bytes,
    passphrase: str | None,
) -> None:
    import pyzipper  # lazy: only an export or verify of a zip needs it

    fd, temp = tempfile.mkstemp(prefix=".opskit-", suffix=".zip", dir=target.absolute().parent)
    os.close(fd)  # mkstemp made it 0600
    try:
        if passphrase:
            archive = pyzipper.AESZipFile(
                temp, "w", compression=zipfile.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
            )
            archive.setpassword(passphrase.encode("utf-8"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
        else:
            archive = pyzipper.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED)
        created = clock.site_now()
        with archive:
            for name, data, entry in [*files, (MANIFEST, manifest, {}), (SUMS, sums, {})]:
                when = created
                if entry:
                    when = datetime.fromisoformat(entry["fetched_at"]).astimezone(clock.site_tz())
                info = archive.zipinfo_cls(name, date_time=when.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                archive.writestr(info, data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read_zip(path: Path, passphrase: str | None) -> dict[str, bytes]:
    import pyzipper  # lazy: only an export or verify of a zip needs it

    try:
        archive = pyzipper.AESZipFile(path)
    except (pyzipper.BadZipFile, zipfile.BadZipFile, OSError) as exc:
        raise OfflineError(f"{path} is not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        encrypted = any(info.flag_bits & 0x1 for info in infos)
        if encrypted and not passphrase:
            raise OfflineError(f"{path} is encrypted: give its passphrase (--passphrase-stdin)")
        if passphrase:
            archive.setpassword(passphrase.encode("utf-8"))
        out: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            try:
                out[info.filename] = archive.read(info)
            except RuntimeError as exc:
                if "password" in str(exc).lower():
                    raise OfflineError(f"wrong passphrase for {path}") from None
                raise OfflineError(f"{path}: {info.filename} cannot be read ({exc})") from None
            except (pyzipper.BadZipFile, zipfile.BadZipFile, zlib.error) as exc:
                # a damaged entry (its CRC or data): reported as changed, like a tampered one
                out[info.filename] = b"\0unreadable: " + str(exc).encode()
        return out


def _read_folder(folder: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


def verify(path: str | Path, passphrase: str | None = None) -> Verified:
    """Check the copy at ``path`` (a folder or a zip) against its manifest: every listed file
    present with its SHA-256, ``SHA256SUMS`` agreeing, no file the manifest does not list."""
    source = Path(path)
    if source.is_dir():
        contents = _read_folder(source)
    elif source.is_file():
        contents = _read_zip(source, passphrase)
    else:
        raise OfflineError(f"{source} does not exist: expected a folder or a zip an export wrote")
    raw = contents.pop(MANIFEST, None)
    if raw is None:
        raise OfflineError(f"{source} has no {MANIFEST}: not an offline copy opskit wrote")
    try:
        manifest = json.loads(raw.decode("utf-8"))
        entries = manifest["files"]
        expected = {str(e["file"]): str(e["sha256"]) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise OfflineError(f"{source}: {MANIFEST} cannot be read ({exc})") from None
    result = Verified()
    sums = contents.pop(SUMS, None)
    wanted_sums = "".join(f"{digest}  {name}\n" for name, digest in expected.items())
    if sums is None:
        result.problems.append(Problem("missing", SUMS))
    elif sums.decode("utf-8", "replace") != wanted_sums:
        result.problems.append(Problem("changed", SUMS))
    for name, digest in expected.items():
        data = contents.pop(name, None)
        if data is None:
            result.problems.append(Problem("missing", name))
        elif hashlib.sha256(data).hexdigest() != digest:
            result.problems.append(Problem("changed", name))
        else:
            result.checked += 1
    result.problems += [Problem("extra", name) for name in sorted(contents)]
    return result
