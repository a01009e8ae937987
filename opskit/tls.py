"""A small local certificate authority so that the machine-room tablets reach opskit over HTTPS.

Why: tablets only enable service workers (offline patrol rounds) and the camera (QR scanning)
in a *secure context*. ``http://<LAN IP>`` is not one, so opskit must be served over HTTPS
with a certificate the tablets trust. There is usually no public DNS name and no ACME access
in a data center, so opskit runs its own tiny CA:

* ``ca.crt`` / ``ca.key`` -- a self-signed root (ECDSA P-256, ``pathlen:0`` so it can only
  sign end-entity certificates). It is created once and then **kept**: re-running
  :func:`init_tls` with a new host list reuses it, so a tablet that already trusts the CA
  needs nothing new. The CA certificate is what gets installed on the tablets.
* ``server.crt`` / ``server.key`` -- the server certificate, re-issued on every run with a
  fresh key. Host names go into the SubjectAlternativeName (clients ignore the CN): every
  entry that parses as an IPv4/IPv6 address becomes an ``IPAddress`` SAN, everything else a
  ``DNSName`` SAN, and ``localhost`` plus ``127.0.0.1`` are always added. It carries
  ``serverAuth`` and is valid for at most 825 days, the longest iOS accepts for TLS server
  certificates (also for user-installed roots). It never outlives the CA.

Private keys are PEM, unencrypted (the server must start unattended), written through a
temporary file opened with ``os.open(..., 0o600)`` and renamed into place, so they are never
readable by others, not even for a moment, and a crash never leaves a half-written file.
The directory is created with mode 0700.

:func:`server_ssl_paths` is what the server calls at start-up: it checks that the files
exist, that ``server.crt`` is signed by ``ca.crt``, matches ``server.key`` and is currently
valid, and otherwise raises :class:`ValueError` with a message saying what to run.
The CA key is not needed to serve, so it may be moved offline after ``opskit tls init``.

Not done on purpose: name constraints on the CA (they would force a new CA, and a new round
of tablet installs, every time a host name is added) and revocation (CRL/OCSP; tablets in
the machine room cannot reach a distribution point anyway -- re-issue instead).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opskit import clock

__all__ = [
    "MAX_SERVER_DAYS",
    "TlsFiles",
    "describe",
    "init_tls",
    "server_ssl_paths",
]

#: Longest validity iOS/iPadOS accepts for a TLS server certificate (since iOS 13).
MAX_SERVER_DAYS = 825

#: Certificates are back-dated by this much so a tablet whose clock is slightly behind the
#: server's does not reject a freshly issued certificate as "not yet valid".
_BACKDATE = dt.timedelta(hours=1)

_INIT_HINT = "run `opskit tls init HOST...` (the host names / IP addresses the tablets use)"
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

_SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the four PEM files of an opskit TLS directory."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path

    @classmethod
    def in_dir(cls, directory: Path) -> TlsFiles:
        """The standard file names inside *directory*."""
        directory = Path(directory)
        return cls(
            ca_cert=directory / "ca.crt",
            ca_key=directory / "ca.key",
            cert=directory / "server.crt",
            key=directory / "server.key",
        )


# --------------------------------------------------------------------------- host names


def _parse_host(host: str) -> x509.GeneralName:
    """Turn one user-given host into a SAN entry, or raise ValueError explaining why not."""
    if not isinstance(host, str):
        raise TypeError(f"host must be a string, not {type(host).__name__}")
    text = host.strip()
    if not text:
        raise ValueError("empty host name: give a DNS name (opskit.lan) or an IP address")
    if text.startswith("[") and text.endswith("]"):  # "[fe80::1]" as written in URLs
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            raise ValueError(
                f"invalid host {host!r}: an IPv6 zone (%{ip.scope_id}) cannot be in a certificate"
            )
        return x509.IPAddress(ip)

    name = text.rstrip(".").lower()  # "opskit.lan." is the same name as "opskit.lan"
    if not name.isascii():
        try:  # internationalised names go into certificates as A-labels (xn--...)
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid host name {host!r}: {exc}") from exc
    if len(name) > 253:
        raise ValueError(f"invalid host name {host!r}: longer than 253 characters")
    labels = name.split(".")
    for index, label in enumerate(labels):
        if index == 0 and label == "*" and len(labels) > 2:
            continue  # a wildcard is allowed as the whole left-most label: *.dc1.lan
        if not _LABEL_RE.match(label):
            raise ValueError(
                f"invalid host name {host!r}: each dot-separated part must be 1-63 letters,"
                " digits or hyphens, not starting or ending with a hyphen"
                " (no spaces, underscores or empty parts)"
            )
    if labels[-1].isdigit():
        raise ValueError(
            f"invalid host {host!r}: neither an IP address nor a host name"
            " (a host name cannot end in a number; mistyped IP address?)"
        )
    return x509.DNSName(name)


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    if isinstance(hosts, str):
        raise TypeError("hosts must be a sequence of host names, not a single string")
    if not hosts:
        raise ValueError("give at least one host name or IP address that the tablets will use")
    entries: list[x509.GeneralName] = []
    for host in [*hosts, "localhost", "127.0.0.1"]:
        entry = _parse_host(host)
        if entry not in entries:
            entries.append(entry)
    return entries


# --------------------------------------------------------------------------- file helpers


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write *data* atomically: temporary file created with *mode*, then renamed over *path*.

    The mode is given to ``os.open`` (so the file never exists with wider permissions) and is
    not inherited from a previous file of the same name.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left over by a crashed run with the same pid
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _write_key(path: Path, key: _SigningKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(path, pem, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    _write_file(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found; {_INIT_HINT}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a PEM certificate ({exc}); {_INIT_HINT}") from exc


def _load_key(path: Path) -> _SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found; {_INIT_HINT}") from None
    except (ValueError, TypeError) as exc:  # TypeError: the key is password-protected
        raise ValueError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: unsupported key type {type(key).__name__} (need EC or RSA)")
    return key


def _same_public_key(cert: x509.Certificate, key: _SigningKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return clock.now()
    if now.tzinfo is None:  # naive: taken as UTC, like cryptography itself does
        return now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC)


# --------------------------------------------------------------------------- CA + server


def _ca_name(org: str) -> x509.Name:
    prefix, suffix = "opskit local CA (", ")"
    host = socket.gethostname() or "unknown host"
    host = host[: 64 - len(prefix) - len(suffix)]  # a CN is at most 64 characters
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix}{host}{suffix}"),
        ]
    )


def _create_ca(files: TlsFiles, org: str, ca_days: int, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _ca_name(org)
    not_before = now - _BACKDATE
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=ca_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    # Key first: a crash in between leaves "ca.key without ca.crt", which is reported,
    # never a CA certificate whose key is lost.
    _write_key(files.ca_key, key)
    _write_cert(files.ca_cert, cert)


def _load_ca(files: TlsFiles, now: dt.datetime) -> tuple[x509.Certificate, _SigningKey]:
    cert = _load_cert(files.ca_cert)
    key = _load_key(files.ca_key)
    if not _same_public_key(cert, key):
        raise ValueError(
            f"{files.ca_key} does not belong to {files.ca_cert}; restore the matching pair, or"
            " move both away to create a new CA (every tablet must then install the new one)"
        )
    if cert.not_valid_after_utc <= now:
        raise ValueError(
            f"{files.ca_cert}: the CA expired on {_iso(cert.not_valid_after_utc)}; move"
            " ca.crt and ca.key away and run `opskit tls init HOST...` again to create a new CA"
            " (every tablet must then install the new one)"
        )
    return cert, key


def _issue_server_cert(
    files: TlsFiles,
    ca_cert: x509.Certificate,
    ca_key: _SigningKey,
    sans: list[x509.GeneralName],
    org: str,
    days: int,
    now: dt.datetime,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first = sans[0]
    common_name = str(first.value)
    if len(common_name) > 64:
        common_name = "opskit server"
    not_before = now - _BACKDATE
    not_after = min(not_before + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(files.key, key)
    _write_cert(files.cert, cert)


def init_tls(
    directory: Path,
    hosts: Sequence[str],
    *,
    days: int = MAX_SERVER_DAYS,
    ca_days: int = 3650,
    org: str = "opskit",
    now: dt.datetime | None = None,
) -> TlsFiles:
    """Create (or keep) the local CA in *directory* and issue a server certificate for *hosts*.

    *hosts* are DNS names and/or IPv4/IPv6 addresses; ``localhost`` and ``127.0.0.1`` are
    always added. The CA is only created when neither ``ca.crt`` nor ``ca.key`` exists;
    otherwise it is reused. The server certificate and key are always replaced.
    *now* (default: the current time; naive values are taken as UTC) is for tests.
    Raises ValueError for an invalid host, ``days`` over 825, or a broken existing CA.
    """
    if not 1 <= days <= MAX_SERVER_DAYS:
        raise ValueError(
            f"days must be between 1 and {MAX_SERVER_DAYS}: iOS/iPadOS rejects TLS server"
            f" certificates valid for more than {MAX_SERVER_DAYS} days (got {days})"
        )
    if ca_days < days:
        raise ValueError(f"ca_days ({ca_days}) must be at least days ({days})")
    if not org.strip():
        raise ValueError("org must not be empty")
    sans = _san_entries(hosts)  # validate before touching the disk
    current = _utc(now)

    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = TlsFiles.in_dir(directory)

    have_cert, have_key = files.ca_cert.exists(), files.ca_key.exists()
    if have_cert != have_key:
        present, missing = (
            (files.ca_cert, files.ca_key) if have_cert else (files.ca_key, files.ca_cert)
        )
        raise ValueError(
            f"{present} exists but {missing} does not; restore {missing.name}, or move"
            f" {present.name} away to create a new CA (every tablet must then install it)"
        )
    if not have_cert:
        _create_ca(files, org, ca_days, current)
    ca_cert, ca_key = _load_ca(files, current)
    _issue_server_cert(files, ca_cert, ca_key, sans, org, days, current)
    return files


# --------------------------------------------------------------------------- inspection


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _san_strings(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name.value) for name in san]


class CertSummary(TypedDict):
    """What ``describe`` tells of the CA and the server certificate."""

    ca_subject: str  # RFC 4514
    #: ``AB:CD:...``, as iOS shows it under Settings > General > About > Certificate Trust
    #: Settings / the profile details
    ca_fingerprint_sha256: str
    ca_not_valid_after: str
    server_sans: list[str]  # DNS names and IP addresses
    not_valid_after: str  # the server certificate's, ISO 8601 UTC


def describe(files: TlsFiles) -> CertSummary:
    """Summarise the CA and server certificate, for ``opskit tls init`` to print."""
    ca_cert = _load_cert(files.ca_cert)
    cert = _load_cert(files.cert)
    return {
        "ca_subject": ca_cert.subject.rfc4514_string(),
        "ca_fingerprint_sha256": _fingerprint(ca_cert),
        "ca_not_valid_after": _iso(ca_cert.not_valid_after_utc),
        "server_sans": _san_strings(cert),
        "not_valid_after": _iso(cert.not_valid_after_utc),
    }


def server_ssl_paths(directory: Path, *, now: dt.datetime | None = None) -> TlsFiles:
    """Check the TLS files in *directory* before serving and return their paths.

    Verifies that ``ca.crt``, ``server.crt`` and ``server.key`` exist, that ``server.crt``
    is signed by ``ca.crt``, belongs to ``server.key`` and is valid at *now*. ``ca.key``
    is not needed to serve and not required. Raises ValueError naming the file and the fix.
    """
    directory = Path(directory)
    files = TlsFiles.in_dir(directory)
    if not directory.is_dir():
        raise ValueError(f"TLS directory {directory} does not exist; {_INIT_HINT}")
    for path in (files.ca_cert, files.cert, files.key):
        if not path.is_file():
            raise ValueError(f"{path}: file not found; {_INIT_HINT}")
    current = _utc(now)
    ca_cert = _load_cert(files.ca_cert)
    cert = _load_cert(files.cert)
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        reason = str(exc) or "signature does not verify"
        raise ValueError(
            f"{files.cert} is not signed by the CA in {files.ca_cert} ({reason}); {_INIT_HINT}"
        ) from exc
    if not _same_public_key(cert, _load_key(files.key)):
        raise ValueError(f"{files.key} does not belong to {files.cert}; {_INIT_HINT}")
    for path, checked in ((files.ca_cert, ca_cert), (files.cert, cert)):
        if checked.not_valid_before_utc > current:
            raise ValueError(
                f"{path} is not valid before {_iso(checked.not_valid_before_utc)}"
                " (is this machine's clock right?)"
            )
        if checked.not_valid_after_utc <= current:
            fix = "move ca.crt and ca.key away, then " if checked is ca_cert else ""
            raise ValueError(
                f"{path} expired on {_iso(checked.not_valid_after_utc)}; {fix}{_INIT_HINT}"
            )
    return files
