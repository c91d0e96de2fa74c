"""Structurally valid key shares for the post-quantum TLS groups, without an ML-KEM implementation.

A server checks a client's ML-KEM encapsulation key before it encapsulates (FIPS 203, 7.2: every coefficient
of ByteDecode12 below q = 3329), so random bytes draw `illegal_parameter` (a random 1184-byte value passes with
a probability of about 10^-69). A share built here passes that check: random coefficients below q packed with
ByteEncode12, then a 32-byte seed. Nobody ever decapsulates: the probe reads the server's first flight and
closes. The classical halves of the hybrids are real keys (X25519, P-256, P-384) from `cryptography`.

Layouts (draft-ietf-tls-ecdhe-mlkem, draft-tls-westerbaan-xyber768d00):
X25519MLKEM768 = encapsulation key (1184) || X25519 (32); SecP256r1MLKEM768 = P-256 point (65) ||
encapsulation key (1184); SecP384r1MLKEM1024 = P-384 point (97) || ML-KEM-1024 key (1568);
X25519Kyber768Draft00 = X25519 (32) || Kyber-768 key (1184, the same encoding); MLKEM512/768/1024 = the key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "MLKEM_K",
    "Q",
    "byte_decode12",
    "byte_encode12",
    "encapsulation_key",
    "encapsulation_key_valid",
    "key_share",
    "random_share",
    "share_length",
]

Q = 3329  # the ML-KEM modulus
N = 256  # coefficients per polynomial
MLKEM_K = {512: 2, 768: 3, 1024: 4}  # module rank per parameter set

X25519 = 0x001D
SECP256R1 = 0x0017
SECP384R1 = 0x0018
SECP521R1 = 0x0019
X448 = 0x001E
SECP256R1_MLKEM768 = 0x11EB
X25519_MLKEM768 = 0x11EC
SECP384R1_MLKEM1024 = 0x11ED
X25519_KYBER768_DRAFT00 = 0x6399
MLKEM512 = 0x0200
MLKEM768 = 0x0201
MLKEM1024 = 0x0202


def byte_encode12(coefficients: list[int]) -> bytes:
    """FIPS 203 ByteEncode_12: two 12-bit coefficients per three bytes, little-endian bit order."""
    if len(coefficients) % 2:
        raise ValueError("an even number of coefficients is needed")
    out = bytearray()
    for low, high in zip(coefficients[0::2], coefficients[1::2], strict=True):
        if not (0 <= low < 4096 and 0 <= high < 4096):
            raise ValueError("a coefficient does not fit in 12 bits")
        out += bytes((low & 0xFF, (low >> 8) | ((high & 0x0F) << 4), high >> 4))
    return bytes(out)


def byte_decode12(data: bytes) -> list[int]:
    """FIPS 203 ByteDecode_12 (without the reduction mod q, so that the modulus check can see the values)."""
    if len(data) % 3:
        raise ValueError("ByteDecode12 takes whole groups of three bytes")
    values: list[int] = []
    for i in range(0, len(data), 3):
        b0, b1, b2 = data[i], data[i + 1], data[i + 2]
        values += [b0 | ((b1 & 0x0F) << 8), (b1 >> 4) | (b2 << 4)]
    return values


def encapsulation_key(parameter_set: int) -> bytes:
    """A structurally valid ML-KEM encapsulation key: k*256 coefficients below q, ByteEncode12, 32-byte seed."""
    k = MLKEM_K[parameter_set]
    coefficients = [secrets.randbelow(Q) for _ in range(k * N)]
    return byte_encode12(coefficients) + secrets.token_bytes(32)


def encapsulation_key_valid(key: bytes, parameter_set: int) -> bool:
    """FIPS 203's encapsulation-key check: the right length and every coefficient below q."""
    k = MLKEM_K[parameter_set]
    if len(key) != 384 * k + 32:
        return False
    return all(value < Q for value in byte_decode12(key[: 384 * k]))


def _x25519() -> bytes:
    return x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _x448() -> bytes:
    return x448.X448PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _ec_point(curve: ec.EllipticCurve) -> bytes:
    key = ec.generate_private_key(curve).public_key()
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def key_share(group: int) -> bytes:
    """A structurally valid client key share for `group` (a TLS NamedGroup code point); ValueError if unknown."""
    builders: dict[int, Callable[[], bytes]] = {
        X25519: _x25519,
        X448: _x448,
        SECP256R1: lambda: _ec_point(ec.SECP256R1()),
        SECP384R1: lambda: _ec_point(ec.SECP384R1()),
        SECP521R1: lambda: _ec_point(ec.SECP521R1()),
        X25519_MLKEM768: lambda: encapsulation_key(768) + _x25519(),
        SECP256R1_MLKEM768: lambda: _ec_point(ec.SECP256R1()) + encapsulation_key(768),
        SECP384R1_MLKEM1024: lambda: _ec_point(ec.SECP384R1()) + encapsulation_key(1024),
        X25519_KYBER768_DRAFT00: lambda: _x25519() + encapsulation_key(768),
        MLKEM512: lambda: encapsulation_key(512),
        MLKEM768: lambda: encapsulation_key(768),
        MLKEM1024: lambda: encapsulation_key(1024),
    }
    try:
        return builders[group]()
    except KeyError:
        raise ValueError(f"no key share builder for group 0x{group:04x}") from None


_LENGTHS = {
    X25519: 32, X448: 56, SECP256R1: 65, SECP384R1: 97, SECP521R1: 133,
    X25519_MLKEM768: 1216, SECP256R1_MLKEM768: 1249, SECP384R1_MLKEM1024: 1665, X25519_KYBER768_DRAFT00: 1216,
    MLKEM512: 800, MLKEM768: 1184, MLKEM1024: 1568,
}


def share_length(group: int) -> int | None:
    """The length of a client key share for `group`, None when unknown."""
    return _LENGTHS.get(group)


def random_share(group: int) -> bytes:
    """Random bytes of the right length: a malformed share (the modulus check fails), for tests and the lab."""
    length = share_length(group)
    if length is None:
        raise ValueError(f"unknown share length for group 0x{group:04x}")
    return secrets.token_bytes(length)
