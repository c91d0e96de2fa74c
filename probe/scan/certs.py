"""Certificate facts from `cryptography` objects (no sslyze here)."""

from __future__ import annotations

import hashlib
import threading
import warnings
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

# Public trust stores carry a few legacy roots with non-positive serial numbers; cryptography warns on every
# load of them, which a library caller cannot act on. Only that warning is silenced.
warnings.filterwarnings(
    "ignore", message="Parsed a serial number which wasn't positive", category=CryptographyDeprecationWarning
)

CURVE_NAMES = {"secp256r1": "secp256r1", "prime256v1": "secp256r1"}


def _safe_name(name_getter: object) -> str:
    """rfc4514 string of a Name, tolerant of undecodable attribute values."""
    try:
        return str(name_getter.rfc4514_string())  # type: ignore[attr-defined]
    except Exception:  # a hostile certificate can carry bytes that do not decode
        return "<undecodable name>"


def load_pem_chain(pems: list[str]) -> list[x509.Certificate]:
    """Certificates of a served chain given as PEM strings (leaf first)."""
    return [x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in pems]


def subject_of(cert: x509.Certificate) -> str:
    return _safe_name(cert.subject)


def issuer_of(cert: x509.Certificate) -> str:
    return _safe_name(cert.issuer)


def sans_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    names: list[str] = [str(n) for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def key_facts(cert: x509.Certificate) -> tuple[str, int, str | None]:
    """(key type, bits, curve) of the certificate's public key."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, CURVE_NAMES.get(key.curve.name, key.curve.name)
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, "Ed448"
    return type(key).__name__, 0, None


def signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm: report the OID instead of failing the scan
        return cert.signature_algorithm_oid.dotted_string
    return algorithm.name if algorithm is not None else None


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def validity(cert: x509.Certificate, now: datetime | None = None) -> tuple[datetime, datetime, int]:
    """(not_before, not_after, whole days to expiry; negative once expired)."""
    now = now or datetime.now(UTC)
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    days = (not_after - now).total_seconds() / 86400
    return not_before, not_after, int(days // 1)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def hostname_matches(cert: x509.Certificate, hostname: str) -> bool:
    """RFC 6125 check of `hostname` against the SANs (wildcard only as the whole left-most label)."""
    import ipaddress

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    try:
        address = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return address in ext.get_values_for_type(x509.IPAddress)
    wanted = hostname.lower().rstrip(".").split(".")
    for pattern in ext.get_values_for_type(x509.DNSName):
        labels = pattern.lower().rstrip(".").split(".")
        if len(labels) != len(wanted):
            continue
        if labels[0] == "*" and len(labels) > 2:
            if labels[1:] == wanted[1:]:
                return True
        elif labels == wanted:
            return True
    return False


_ANCHOR_CACHE: dict[str, dict[bytes, list[x509.Certificate]]] = {}
_ANCHOR_LOCK = threading.Lock()


def anchors_from(path: str) -> dict[bytes, list[x509.Certificate]]:
    """Trust anchors of a PEM bundle, indexed by subject (parsed once per path, whichever thread asks first)."""
    with _ANCHOR_LOCK:  # without it, every endpoint scanned at once parsed the public stores again
        cached = _ANCHOR_CACHE.get(path)
        if cached is None:
            cached = {}
            with open(path, "rb") as handle:
                for cert in x509.load_pem_x509_certificates(handle.read()):
                    cached.setdefault(cert.subject.public_bytes(), []).append(cert)
            _ANCHOR_CACHE[path] = cached
    return cached


def chain_reaches_anchor(chain: list[x509.Certificate], stores: list[dict[bytes, list[x509.Certificate]]]) -> bool:
    """True when signatures link the leaf, through served certificates, to an anchor of one of `stores`.

    Judges the chain alone: validity dates, the signature hash and the host name have rules of
    their own, so an expired or SHA-1-signed certificate from a trusted CA is still "trusted".
    """
    served = {c.subject.public_bytes(): c for c in chain[1:]}
    current = chain[0]
    for _ in range(10):
        issuer_name = current.issuer.public_bytes()
        for store in stores:
            for anchor in store.get(issuer_name, []):
                if issued_by(current, anchor):
                    return True
        parent = served.get(issuer_name)
        if parent is None or parent is current or not issued_by(current, parent):
            return False
        current = parent
    return False


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name matches and the issuer's key verifies the signature (any hash, SHA-1 included)."""
    try:
        if cert.issuer != issuer.subject:
            return False
        key = issuer.public_key()
        algorithm = cert.signature_hash_algorithm
        pss = cert.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSASSA_PSS
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None and not pss:
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            cert.verify_directly_issued_by(issuer)
    except Exception:  # invalid signature, unsupported algorithm
        return False
    return True


_SPLIT_CACHE: dict[str, tuple[list[x509.Certificate], list[x509.Certificate]]] = {}
_BUNDLE_CACHE: dict[str, list[x509.Certificate]] = {}


def load_bundle(path: str) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (or one DER certificate), read once per path; ValueError if there is none."""
    with _ANCHOR_LOCK:
        cached = _BUNDLE_CACHE.get(path)
        if cached is None:
            with open(path, "rb") as handle:
                data = handle.read()
            if b"-----BEGIN CERTIFICATE-----" in data:
                cached = x509.load_pem_x509_certificates(data)
            else:
                cached = [x509.load_der_x509_certificate(data)]
            _BUNDLE_CACHE[path] = cached
    return cached


def split_store(path: str) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """(roots, intermediates) of a trust store file: its self-issued certificates are the roots, the others are
    intermediates a server may have left out (read once per path)."""
    with _ANCHOR_LOCK:
        cached = _SPLIT_CACHE.get(path)
    if cached is None:
        certificates = [c for group in anchors_from(path).values() for c in group]
        roots = [c for c in certificates if c.issuer == c.subject]
        cached = (roots, [c for c in certificates if c.issuer != c.subject])
        with _ANCHOR_LOCK:
            _SPLIT_CACHE[path] = cached
    return cached
