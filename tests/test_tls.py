"""opskit.tls: local CA + server certificate, checked with real TLS handshakes (stdlib ssl)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opskit.tls import TlsFiles, describe, init_tls, server_ssl_paths

TIMEOUT = 5.0
HOSTS = ["opskit.lan", "192.168.10.5", "fe80::1"]


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tls"
    init_tls(directory, HOSTS)
    return directory


# --------------------------------------------------------------------------- certificates


def test_files_have_standard_names(tmp_path: Path) -> None:
    files = TlsFiles.in_dir(tmp_path)
    assert [p.name for p in (files.ca_cert, files.ca_key, files.cert, files.key)] == [
        "ca.crt",
        "ca.key",
        "server.crt",
        "server.key",
    ]


def test_server_cert_has_given_hosts_plus_localhost(tls_dir: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    cert = _cert(files.cert)
    dns, ips = _sans(cert)
    assert dns == ["opskit.lan", "localhost"]
    assert ips == ["192.168.10.5", "fe80::1", "127.0.0.1"]

    ext = cert.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ext.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    assert ext.get_extension_for_class(x509.KeyUsage).value.digital_signature is True
    ca = _cert(files.ca_cert)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


@pytest.mark.parametrize("host", ["opskit.lan", "localhost", "192.168.10.5", "fe80::1"])
def test_chain_passes_strict_webpki_verification(tls_dir: Path, host: str) -> None:
    # cryptography's verifier applies RFC 5280 / CA-Browser-Forum profile checks that
    # browsers also make (extensions, key usage, SAN-only host matching).
    files = TlsFiles.in_dir(tls_dir)
    try:
        subject: verification.Subject = verification.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = verification.DNSName(host)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([_cert(files.ca_cert)]))
        .time(dt.datetime.now(dt.UTC))
        .build_server_verifier(subject)
    )
    chain = verifier.verify(_cert(files.cert), [])
    assert chain == [_cert(files.cert), _cert(files.ca_cert)]


def test_ca_is_a_pathlen0_root_named_after_this_machine(tls_dir: Path) -> None:
    ca = _cert(TlsFiles.in_dir(tls_dir).ca_cert)
    assert ca.subject == ca.issuer
    ca.verify_directly_issued_by(ca)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    (cn,) = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value.startswith("opskit local CA (")
    assert socket.gethostname()[:40] in cn.value
    (org,) = ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert org.value == "opskit"


def test_validity_follows_days_and_now(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    files = init_tls(tmp_path / "t", ["opskit.lan"], days=30, now=now)
    cert = _cert(files.cert)
    assert cert.not_valid_before_utc <= now
    assert now + dt.timedelta(days=29) < cert.not_valid_after_utc <= now + dt.timedelta(days=30)
    info = describe(files)
    assert info["not_valid_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    default = _cert(init_tls(tmp_path / "d", ["opskit.lan"]).cert)
    assert default.not_valid_after_utc - default.not_valid_before_utc == dt.timedelta(days=825)


def test_more_than_825_days_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="825"):
        init_tls(tmp_path / "t", ["opskit.lan"], days=826)
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize(
    "host",
    [
        *("", "   ", "opskit lan", "ops_kit.lan", "a..b", "-x.lan", "x-.lan", "x" * 64 + ".lan"),
        *("192.168.10", "10.0.0.1/24", "https://opskit.lan", "fe80::1%eth0"),
    ],
)
def test_invalid_host_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        init_tls(tmp_path / "t", ["opskit.lan", host])
    assert not (tmp_path / "t").exists()


def test_no_hosts_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        init_tls(tmp_path / "t", [])


def test_host_normalisation(tmp_path: Path) -> None:
    files = init_tls(tmp_path / "t", ["OpsKit.LAN.", "[::1]", "*.dc1.lan", "opskit.lan"])
    dns, ips = _sans(_cert(files.cert))
    assert dns == ["opskit.lan", "*.dc1.lan", "localhost"]
    assert ips == ["::1", "127.0.0.1"]


def test_key_files_are_0600_and_dir_0700(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    files = init_tls(directory, ["opskit.lan"])
    assert _mode(directory) == 0o700
    assert _mode(files.ca_key) == 0o600
    assert _mode(files.key) == 0o600
    assert _mode(files.cert) == 0o644
    assert b"ENCRYPTED" not in files.key.read_bytes()
    assert files.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")

    # A re-issued key is a new file created 0600, whatever mode the old one had.
    files.key.chmod(0o644)
    init_tls(directory, ["opskit.lan"])
    assert _mode(files.key) == 0o600
    assert not [p.name for p in directory.iterdir() if p.name.startswith(".")]


def test_second_init_keeps_ca_and_reissues_server_cert(tls_dir: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    before = describe(files)
    ca_key = files.ca_key.read_bytes()
    server_key = files.key.read_bytes()

    again = init_tls(tls_dir, ["opskit2.lan", "10.1.2.3"])
    after = describe(again)

    assert again == files
    assert after["ca_fingerprint_sha256"] == before["ca_fingerprint_sha256"]
    assert files.ca_key.read_bytes() == ca_key
    assert files.key.read_bytes() != server_key
    assert after["server_sans"] == ["opskit2.lan", "10.1.2.3", "localhost", "127.0.0.1"]
    _cert(files.cert).verify_directly_issued_by(_cert(files.ca_cert))


def test_half_a_ca_is_not_silently_replaced(tls_dir: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    files.ca_key.unlink()
    with pytest.raises(ValueError, match=r"ca\.key"):
        init_tls(tls_dir, ["opskit.lan"])


def test_describe(tls_dir: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    info = describe(files)
    ca = _cert(files.ca_cert)
    fingerprint = info["ca_fingerprint_sha256"]
    assert isinstance(fingerprint, str)
    assert fingerprint == ":".join(f"{b:02X}" for b in ca.fingerprint(hashes.SHA256()))
    assert len(fingerprint.split(":")) == 32
    assert info["ca_subject"] == ca.subject.rfc4514_string()
    assert "opskit local CA" in str(info["ca_subject"])
    assert info["server_sans"] == [*HOSTS, "localhost", "127.0.0.1"]
    parsed = dt.datetime.fromisoformat(str(info["not_valid_after"]))
    assert parsed.utcoffset() == dt.timedelta(0)
    assert parsed > dt.datetime.now(dt.UTC) + dt.timedelta(days=800)


# --------------------------------------------------------------------------- real handshakes


class _OneShotTlsServer:
    """Accepts one connection on 127.0.0.1 and does a TLS handshake with server.crt/key."""

    def __init__(self, files: TlsFiles) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(files.cert, files.key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.error: BaseException | None = None
        self.handshake_ok = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            conn.settimeout(TIMEOUT)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshake_ok = True
                tls.sendall(b"opskit")
                tls.recv(16)  # wait for the client to close
        except (OSError, ssl.SSLError) as exc:  # expected when the client rejects us
            self.error = exc

    def __enter__(self) -> _OneShotTlsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(TIMEOUT * 2)
        self.listener.close()
        assert not self.thread.is_alive()


@pytest.mark.real_clock  # OpenSSL checks the certificate against the machine's clock
@pytest.mark.parametrize("server_hostname", ["opskit.lan", "192.168.10.5", "localhost"])
def test_real_handshake_with_trusted_ca(tls_dir: Path, server_hostname: str) -> None:
    files = TlsFiles.in_dir(tls_dir)
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    with (
        _OneShotTlsServer(files) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
        client.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        peer_der = tls.getpeercert(binary_form=True)
        peer = tls.getpeercert()
        greeting = tls.recv(16)
    assert server.handshake_ok and server.error is None
    assert greeting == b"opskit"
    assert peer_der is not None
    assert x509.load_der_x509_certificate(peer_der) == _cert(files.cert)
    assert ("DNS", "opskit.lan") in peer["subjectAltName"]
    assert ("IP Address", "192.168.10.5") in peer["subjectAltName"]


def _expect_rejected(files: TlsFiles, client: ssl.SSLContext, server_hostname: str) -> str:
    with (
        _OneShotTlsServer(files) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        client.wrap_socket(raw, server_hostname=server_hostname)
    assert not server.handshake_ok
    assert server.error is not None
    return str(info.value)


@pytest.mark.real_clock  # OpenSSL checks the certificate against the machine's clock
def test_handshake_fails_for_a_host_not_in_the_cert(tls_dir: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    message = _expect_rejected(files, client, "other.example")
    assert "other.example" in message or "mismatch" in message.lower()


@pytest.mark.real_clock  # OpenSSL checks the certificate against the machine's clock
def test_handshake_fails_when_client_does_not_trust_the_ca(tls_dir: Path, tmp_path: Path) -> None:
    files = TlsFiles.in_dir(tls_dir)
    # Only the system store (which cannot contain our fresh CA).
    _expect_rejected(files, ssl.create_default_context(), "opskit.lan")
    # Another opskit CA: same subject name (same machine), different key.
    other = init_tls(tmp_path / "other", HOSTS)
    message = _expect_rejected(
        files, ssl.create_default_context(cafile=str(other.ca_cert)), "opskit.lan"
    )
    assert "certificate" in message.lower()


# --------------------------------------------------------------------------- server_ssl_paths


def test_server_ssl_paths_ok(tls_dir: Path) -> None:
    assert server_ssl_paths(tls_dir) == TlsFiles.in_dir(tls_dir)


def test_server_ssl_paths_does_not_need_the_ca_key(tls_dir: Path) -> None:
    TlsFiles.in_dir(tls_dir).ca_key.unlink()
    assert server_ssl_paths(tls_dir).cert.is_file()


def test_server_ssl_paths_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"does not exist.*opskit tls init HOST"):
        server_ssl_paths(tmp_path / "nope")


def test_server_ssl_paths_missing_file(tls_dir: Path) -> None:
    TlsFiles.in_dir(tls_dir).key.unlink()
    with pytest.raises(ValueError, match=r"server\.key.*opskit tls init HOST"):
        server_ssl_paths(tls_dir)


def test_server_ssl_paths_cert_from_another_ca(tls_dir: Path, tmp_path: Path) -> None:
    other = init_tls(tmp_path / "other", HOSTS)
    mine = TlsFiles.in_dir(tls_dir)
    # Put the other CA's server certificate and key in our directory: consistent pair,
    # but not signed by our ca.crt (whose subject name is the same: same machine).
    shutil.copyfile(other.cert, mine.cert)
    shutil.copyfile(other.key, mine.key)
    with pytest.raises(ValueError, match=r"server\.crt is not signed by the CA.*opskit tls init"):
        server_ssl_paths(tls_dir)


def test_server_ssl_paths_key_does_not_match(tls_dir: Path, tmp_path: Path) -> None:
    other = init_tls(tmp_path / "other", HOSTS)
    shutil.copyfile(other.key, TlsFiles.in_dir(tls_dir).key)
    with pytest.raises(ValueError, match=r"server\.key does not belong"):
        server_ssl_paths(tls_dir)


def test_server_ssl_paths_expired(tmp_path: Path) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    directory = tmp_path / "t"
    init_tls(directory, ["opskit.lan"], days=10, now=now)
    assert server_ssl_paths(directory, now=now + dt.timedelta(days=9)).cert.is_file()
    with pytest.raises(ValueError, match=r"server\.crt expired on 2026-01-1.*opskit tls init"):
        server_ssl_paths(directory, now=now + dt.timedelta(days=11))
