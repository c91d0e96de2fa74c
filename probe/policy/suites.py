"""Classify cipher suites and key-exchange groups by their IANA / OpenSSL names. Pure string work."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "PROHIBITED_FAMILIES",
    "SuiteTraits",
    "group_bits",
    "suite_traits",
]

# Families a profile may prohibit, in the order findings are reported.
PROHIBITED_FAMILIES: tuple[str, ...] = ("NULL", "EXPORT", "anon", "DES", "RC4", "3DES", "MD5")

# Effective symmetric strength in bits, first match wins (more specific patterns first).
_CIPHER_BITS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), bits)
    for pattern, bits in (
        (r"_WITH_NULL_|^TLS_NULL_|^TLS_SHA(256|384)_SHA(256|384)$", 0),
        (r"3DES_EDE|DES_EDE3", 112),
        (r"_DES40_|_DES_40_", 40),
        (r"_DES_CBC|_DES_64_|_DES_CBC_40", 56),
        (r"_RC4_40_|_RC2_CBC_40_|_RC2_40_", 40),
        (r"_RC4_56_|_RC2_CBC_56_", 56),
        (r"_RC4_128_|_RC4_", 128),
        (r"_RC2_", 128),
        (r"_CHACHA20", 256),
        (r"_(AES|CAMELLIA|ARIA)_128_", 128),
        (r"_(AES|CAMELLIA|ARIA)_256_", 256),
        (r"_SEED_|_IDEA_|_SM4_", 128),
        (r"_GOSTR341112_256_WITH_(KUZNYECHIK|MAGMA)|_WITH_28147_", 256),
    )
)


@dataclass(frozen=True)
class SuiteTraits:
    """What a suite name says about its key exchange, cipher and MAC."""

    name: str
    families: frozenset[str]  # subset of PROHIBITED_FAMILIES
    sha1_mac: bool
    cipher_bits: int | None  # None when the cipher is not recognised; 0 for NULL encryption
    forward_secret: bool


def _key_exchange(name: str) -> str | None:
    """The key-exchange part of a TLS 1.2-style name, None for TLS 1.3 suites (no `_WITH_`)."""
    if "_WITH_" not in name:
        return None
    head = name.split("_WITH_", 1)[0]
    return head[4:] if head.startswith("TLS_") else head


def _families(name: str) -> frozenset[str]:
    found: set[str] = set()
    if _cipher_bits(name) == 0:
        found.add("NULL")
    if "_EXPORT" in name:
        found.add("EXPORT")
    kex = _key_exchange(name)
    if "_ANON_" in name or kex == "NULL":
        found.add("anon")
    if re.search(r"_DES(40)?_(CBC|40|64)|_DES_CBC_40", name):
        found.add("DES")
    if "_RC4_" in name:
        found.add("RC4")
    if "3DES" in name or "DES_EDE3" in name:
        found.add("3DES")
    if name.endswith("_MD5"):
        found.add("MD5")
    return frozenset(found)


def _cipher_bits(name: str) -> int | None:
    for pattern, bits in _CIPHER_BITS:
        if pattern.search(name):
            return bits
    return None


def suite_traits(raw_name: str) -> SuiteTraits:
    """Classify one suite by name; unknown parts classify as 'not recognised', never as an error."""
    name = raw_name.strip().upper()
    kex = _key_exchange(name)
    forward_secret = kex is None or kex.startswith(("DHE_", "ECDHE_")) or kex in ("DHE", "ECDHE")
    return SuiteTraits(
        name=raw_name,
        families=_families(name),
        sha1_mac=kex is not None and name.endswith("_SHA"),
        cipher_bits=_cipher_bits(name),
        forward_secret=forward_secret,
    )


_GROUP_BITS: tuple[tuple[re.Pattern[str], int | None], ...] = (
    (re.compile(r"^X25519", re.I), 256),
    (re.compile(r"^X448", re.I), 448),
    (re.compile(r"^ED25519", re.I), 256),
    (re.compile(r"^ED448", re.I), 448),
    (re.compile(r"^(?:SEC[PT]|PRIME|BRAINPOOLP|P-?|FFDHE)(\d+)", re.I), None),
)


def group_bits(group: str) -> tuple[str, int] | None:
    """(kind, bits) of a key-exchange group: kind 'ecdh' or 'dh'; None when the name is not recognised."""
    name = group.strip()
    for pattern, bits in _GROUP_BITS:
        match = pattern.match(name)
        if not match:
            continue
        if bits is not None:
            return ("ecdh", bits)
        kind = "dh" if name.lower().startswith("ffdhe") else "ecdh"
        return (kind, int(match.group(1)))
    return None
