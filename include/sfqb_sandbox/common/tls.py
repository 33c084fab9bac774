"""A local certificate authority and a server certificate for 127.0.0.1 / localhost.

Clients trust the sandbox through a CA bundle (system CAs + this CA), never by turning
verification off. Files are created once per data directory and reused after a restart.
The server certificate also names any extra host (``extra_names``): in docker-compose the
Airflow containers reach the sandbox as ``https://sandbox:PORT``. When the wanted names change,
only the server certificate is re-issued; the CA (what clients trust) stays the same.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian/Ubuntu
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL/Fedora
    "/etc/ssl/cert.pem",  # macOS/Alpine
)
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
# Listening on every interface is not a name a client can check a certificate against.
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    bundle: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _system_cas() -> bytes:
    try:
        import certifi

        candidates = (*SYSTEM_CA_FILES, certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        candidates = SYSTEM_CA_FILES
    for name in candidates:
        path = Path(name)
        if path.is_file():
            return path.read_bytes()
    return b""


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def wanted_names(extra_names: Iterable[str] = ()) -> list[x509.GeneralName]:
    """The server certificate's SANs: localhost, 127.0.0.1, ::1 and the extra names, once each."""
    names: list[x509.GeneralName] = []
    for name in (*DEFAULT_NAMES, *extra_names):
        name = name.strip().strip("[]")
        if name in WILDCARD_ADDRESSES:
            continue
        general = _general_name(name)
        if general not in names:
            names.append(general)
    return names


def certificate_names(cert_path: Path) -> list[x509.GeneralName]:
    """The SANs of a PEM certificate (empty when it has none)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _new_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfqb sandbox local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca_key, ca_cert


def _new_server_cert(
    now: dt.datetime,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: list[x509.GeneralName],
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return server_key, server_cert


def ensure_tls(directory: Path, extra_names: Iterable[str] = ()) -> TlsFiles:
    """Create (once) the CA, the server certificate and the client bundle in ``directory``.

    ``extra_names`` (host names or IP addresses) are added to the server certificate's SANs;
    a certificate whose SANs differ from the wanted ones is re-issued by the same CA.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        bundle=directory / "ca-bundle.pem",
    )
    ca_key_path = directory / "ca-key.pem"
    names = wanted_names(extra_names)
    now = dt.datetime.now(dt.UTC)
    if not (files.ca_cert.exists() and ca_key_path.exists()):
        ca_key, ca_cert = _new_ca(now)
        _write_key(ca_key, ca_key_path)
        files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files.server_cert.unlink(missing_ok=True)  # issued by a CA that is gone
    if not (
        files.server_cert.exists()
        and files.server_key.exists()
        and set(certificate_names(files.server_cert)) == set(names)
    ):
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        server_key, server_cert = _new_server_cert(now, ca_key, ca_cert, names)
        _write_key(server_key, files.server_key)
        files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    ca_pem = files.ca_cert.read_bytes()
    files.bundle.write_bytes(_system_cas().rstrip(b"\n") + b"\n" + ca_pem)
    return files
