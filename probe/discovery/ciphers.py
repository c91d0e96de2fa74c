"""Translate AWS's declared vocabulary (OpenSSL cipher names, 'TLSv1', 'Protocol-TLSv1.1') to the scanner's.

The scanner reports IANA suite names (TLS_…) and versions SSLv2 … TLSv1.3 (probe.models.TLS_VERSIONS).
"""

from __future__ import annotations

from probe.models import TLS_VERSIONS

__all__ = ["OPENSSL_TO_IANA", "normalise_protocol", "suite_versions", "to_iana"]

# OpenSSL name -> IANA name, for every suite AWS lists in an ELB, API Gateway or CloudFront policy
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html#secure-connections-openssl-rfc-cipher-names
#  and https://www.openssl.org/docs/man3.0/man1/openssl-ciphers.html, "CIPHER SUITE NAMES").
OPENSSL_TO_IANA: dict[str, str] = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-AES256-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "ECDHE-RSA-AES256-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "AES256-SHA256": "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
    "DES-CBC3-SHA": "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "ECDHE-RSA-DES-CBC3-SHA": "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "EDH-RSA-DES-CBC3-SHA": "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "DHE-RSA-AES128-SHA": "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "DHE-DSS-AES128-SHA": "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "DHE-RSA-AES256-SHA": "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "DHE-RSA-AES128-GCM-SHA256": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "DHE-RSA-AES256-GCM-SHA384": "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "RC4-MD5": "TLS_RSA_WITH_RC4_128_MD5",
    "RC4-SHA": "TLS_RSA_WITH_RC4_128_SHA",
    "ECDHE-RSA-RC4-SHA": "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "ECDHE-ECDSA-RC4-SHA": "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "CAMELLIA128-SHA": "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
    "CAMELLIA256-SHA": "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    "DES-CBC-SHA": "TLS_RSA_WITH_DES_CBC_SHA",
    "EXP-RC4-MD5": "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    "NULL-SHA": "TLS_RSA_WITH_NULL_SHA",
    "NULL-MD5": "TLS_RSA_WITH_NULL_MD5",
    "ADH-AES128-SHA": "TLS_DH_anon_WITH_AES_128_CBC_SHA",
}

_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")

_PROTOCOL_ALIASES = {
    "SSLV2": "SSLv2", "SSLV3": "SSLv3", "TLSV1": "TLSv1.0", "TLSV1.0": "TLSv1.0", "TLSV1.1": "TLSv1.1",
    "TLSV1.2": "TLSv1.2", "TLSV1.3": "TLSv1.3", "TLS1.0": "TLSv1.0", "TLS1.1": "TLSv1.1", "TLS1.2": "TLSv1.2",
    "TLS1.3": "TLSv1.3",
}


def to_iana(name: str) -> str | None:
    """IANA name of a declared suite (OpenSSL or IANA spelling); None when unknown."""
    clean = name.strip()
    if clean.upper().startswith("TLS_") or clean.upper().startswith("SSL_"):
        return clean.upper().replace("SSL_", "TLS_", 1)
    return OPENSSL_TO_IANA.get(clean.upper())


def normalise_protocol(name: str) -> str | None:
    """'TLSv1' / 'Protocol-TLSv1.1' / 'TLSv1.2' -> 'TLSv1.0' / 'TLSv1.1' / 'TLSv1.2'; None when unknown."""
    clean = name.strip().removeprefix("Protocol-").upper()
    return _PROTOCOL_ALIASES.get(clean)


def suite_versions(iana: str, enabled: tuple[str, ...]) -> tuple[str, ...]:
    """The enabled versions in which a suite can be negotiated (TLS 1.3 suites only in TLS 1.3;
    GCM, ChaCha20 and SHA-2 MAC suites only in TLS 1.2; the rest in SSLv3 … TLS 1.2)."""
    if iana in _TLS13:
        return tuple(v for v in enabled if v == "TLSv1.3")
    if "_GCM_" in iana or "CHACHA20" in iana or iana.endswith(("_SHA256", "_SHA384")):
        return tuple(v for v in enabled if v == "TLSv1.2")
    legacy = TLS_VERSIONS[1:5]  # SSLv3 … TLSv1.2
    return tuple(v for v in enabled if v in legacy)
