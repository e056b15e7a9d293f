"""A throwaway certificate authority for the drill services, made fresh at every start.

azure-core sends bearer tokens over https only, so the drill Azure service must speak TLS for the live code
path to reach it unchanged. This module makes a CA and a server certificate for 127.0.0.1 and localhost
(valid for two days), and a CA bundle that holds the drill's CA after certifi's roots, so a client told to
trust the bundle (`REQUESTS_CA_BUNDLE` for requests, `SSL_CERT_FILE` for aiohttp and httpx) trusts the
drill and every public site as before. Keys never leave the folder, which the caller deletes afterwards.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DrillCertificate", "make_certificate"]


@dataclass(frozen=True)
class DrillCertificate:
    certfile: Path  # the server certificate, then the CA that signed it
    keyfile: Path
    ca_bundle: Path  # certifi's roots plus the drill's CA: what clients are told to trust


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labs drill"), x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificate(folder: Path) -> DrillCertificate:
    """Write a fresh CA, a server certificate for 127.0.0.1 and localhost, its key and the CA bundle into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    since, until = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("labs drill CA")
    ca = (
        x509.CertificateBuilder(ca_name, ca_name, ca_key.public_key(), x509.random_serial_number(), since, until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    hosts = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    server = (
        x509.CertificateBuilder(ca_name, _name("127.0.0.1"), server_key.public_key(), x509.random_serial_number(), since, until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(hosts, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    certificate = DrillCertificate(folder / "server.pem", folder / "server-key.pem", folder / "ca-bundle.pem")
    certificate.certfile.write_bytes(server.public_bytes(pem) + ca_pem)
    key = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    certificate.keyfile.touch(mode=0o600)
    certificate.keyfile.write_bytes(key)
    certificate.ca_bundle.write_bytes(Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + ca_pem)
    return certificate
