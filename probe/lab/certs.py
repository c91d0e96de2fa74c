"""Lab certificates: a lab CA, leaves it issues (cryptography), SHA-1 leaves (openssl CLI), self-signed leaves."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from probe.lab.definition import CertDef

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_HASHES: dict[str, hashes.SHA256 | hashes.SHA384] = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}
_CURVES: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}


@dataclass
class KeyCache:
    """One private key per (type, size) for one lab start: key generation is the slow part."""

    keys: dict[tuple[str, int | str], PrivateKey] = field(default_factory=dict)

    def get(self, spec: CertDef) -> PrivateKey:
        ident: tuple[str, int | str] = ("rsa", spec.bits) if spec.key == "rsa" else ("ec", spec.curve)
        if ident not in self.keys:
            self.keys[ident] = (
                rsa.generate_private_key(public_exponent=65537, key_size=spec.bits)
                if spec.key == "rsa"
                else ec.generate_private_key(_CURVES[spec.curve])
            )
        return self.keys[ident]


@dataclass(frozen=True)
class LabCA:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class IssuedCert:
    cert_path: Path
    key_path: Path
    not_before: dt.datetime
    not_after: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _write_key(key: PrivateKey, path: Path) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsprobe lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(directory: Path) -> LabCA:
    """Create the lab root CA (RSA-3072, SHA-256, self-signed) as ca.pem / ca.key in `directory`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = _now()
    name = _name("tlsprobe lab root CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return LabCA(cert, key, cert_path, key_path)


def load_ca(directory: Path) -> LabCA:
    """The lab CA `make_ca` wrote in `directory` (to issue more leaves for a running lab)."""
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{key_path} is not the lab CA's RSA key")
    return LabCA(cert, key, cert_path, key_path)


def _leaf_builder(
    subject: str,
    sans: tuple[str, ...],
    key: PrivateKey,
    issuer: x509.Name,
    not_before: dt.datetime,
    not_after: dt.datetime,
    client: bool = False,
) -> x509.CertificateBuilder:
    alt_names: list[x509.GeneralName] = []
    for san in sans:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            alt_names.append(x509.DNSName(san))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder


def issue_leaf(ca: LabCA, spec: CertDef, host: str, prefix: Path, keys: KeyCache) -> IssuedCert:
    """Write `<prefix>.pem` and `<prefix>.key` for one certificate of an endpoint, as `spec` says."""
    key = keys.get(spec)
    sans = spec.sans if spec.sans is not None else (host,)
    subject = sans[0] if sans else host
    cert_path, key_path = prefix.with_suffix(".pem"), prefix.with_suffix(".key")
    _write_key(key, key_path)
    if spec.signature_hash == "sha1":
        return _issue_sha1(ca, key, subject, sans, spec.valid_until_days, cert_path, key_path)
    now = _now()
    not_before = now + dt.timedelta(days=spec.valid_from_days)
    not_after = now + dt.timedelta(days=spec.valid_until_days)
    issuer = _name(subject) if spec.issuer == "self" else ca.cert.subject
    builder = _leaf_builder(subject, sans, key, issuer, not_before, not_after)
    if spec.issuer == "lab-ca":
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    signer: PrivateKey = key if spec.issuer == "self" else ca.key
    cert = builder.sign(signer, _HASHES[spec.signature_hash])
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return IssuedCert(cert_path, key_path, not_before, not_after)


def _issue_sha1(
    ca: LabCA, key: PrivateKey, subject: str, sans: tuple[str, ...], days: int, cert_path: Path, key_path: Path
) -> IssuedCert:
    """cryptography refuses SHA-1 signatures: sign a CSR with `openssl x509 -req -sha1` instead."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(subject)).sign(key, hashes.SHA256())
    san_text = ",".join(f"DNS:{s}" for s in sans)
    extensions = (
        "[v3]\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" + (f"subjectAltName={san_text}\n" if sans else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        csr_path, ext_path = Path(tmp) / "leaf.csr", Path(tmp) / "ext.cnf"
        csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        ext_path.write_text(extensions, encoding="ascii")
        done = subprocess.run(
            [
                "openssl",
                "x509",
                "-req",
                "-sha1",
                "-in",
                str(csr_path),
                "-CA",
                str(ca.cert_path),
                "-CAkey",
                str(ca.key_path),
                "-set_serial",
                str(x509.random_serial_number()),
                "-days",
                str(days),
                "-extfile",
                str(ext_path),
                "-extensions",
                "v3",
                "-out",
                str(cert_path),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    if done.returncode != 0:
        raise RuntimeError(f"openssl could not sign the SHA-1 certificate: {done.stderr.strip()}")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return IssuedCert(cert_path, key_path, cert.not_valid_before_utc, cert.not_valid_after_utc)


def issue_client_cert(ca: LabCA, directory: Path) -> IssuedCert:
    """A client certificate from the lab CA (P-256), for the endpoint that requires one."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = _leaf_builder(
        "tlsprobe lab client",
        (),
        key,
        ca.cert.subject,
        now - dt.timedelta(days=1),
        now + dt.timedelta(days=365),
        client=True,
    )
    cert = builder.sign(ca.key, hashes.SHA256())
    cert_path, key_path = directory / "client.pem", directory / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return IssuedCert(cert_path, key_path, now - dt.timedelta(days=1), now + dt.timedelta(days=365))


def write_dh_params(group: str, path: Path) -> None:
    """PEM DH parameters of an OpenSSL named group (ffdhe2048, dh_1024_160 ...): no slow generation."""
    done = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{group}", "-out", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl cannot write DH group {group}: {done.stderr.strip()}")
