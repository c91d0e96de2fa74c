"""DH group safety of a DHE key exchange: the server's prime p and generator g, named or tested. Pure computation.

A standard group (probe/scan/dh_groups.py) is named and known safe. Any other prime is tested: p must be a probable
prime (trial division, Miller-Rabin with random bases in the number of rounds FIPS 186-4 Table C.1 asks for next to a
Lucas test, Miller-Rabin to base 2 and a strong Lucas test: Baillie-PSW, with no known pseudoprime) and a safe prime
when q = (p - 1) / 2 passes the same test. The generator must generate a large subgroup: for a safe prime any g other
than 1 and p - 1 does (order q or 2q); for a standard RFC 5114 group g^q = 1; otherwise g must not lie in the subgroup
of the 2^16-smooth part of p - 1, which Pohlig-Hellman would solve. Results are cached per (p, g).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from functools import cache, lru_cache
from typing import Literal

from probe.models import DhGroup
from probe.scan.dh_groups import standard_groups

__all__ = ["SMOOTH_BOUND", "analyze", "probable_prime"]

SMOOTH_BOUND = 2**16  # a generator whose order has no prime factor above this lies in a small subgroup
_TRIAL_BOUND = 2000


@cache
def small_primes(limit: int = SMOOTH_BOUND) -> tuple[int, ...]:
    """The primes below `limit` (sieve of Eratosthenes)."""
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(limit - 1) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, limit, i)))
    return tuple(i for i in range(limit) if sieve[i])


@cache
def _primorial() -> int:
    return math.prod(p for p in small_primes() if p < _TRIAL_BOUND)


def _miller_rabin(n: int, base: int) -> bool:
    """One strong-probable-prime test of odd n > 3 to `base`."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    x = pow(base, d, n)
    if x in (1, n - 1):
        return True
    for _ in range(s - 1):
        x = x * x % n
        if x == n - 1:
            return True
    return False


def _jacobi(a: int, n: int) -> int:
    a %= n
    result = 1
    while a:
        while a % 2 == 0:
            a //= 2
            if n % 8 in (3, 5):
                result = -result
        a, n = n, a
        if a % 4 == 3 and n % 4 == 3:
            result = -result
        a %= n
    return result if n == 1 else 0


def _strong_lucas(n: int) -> bool:
    """Strong Lucas probable-prime test of odd n > 3 (Selfridge's parameters, as in Baillie-PSW)."""
    if math.isqrt(n) ** 2 == n:
        return False
    d_param = 5
    while True:
        jacobi = _jacobi(d_param, n)
        if jacobi == -1:
            break
        if jacobi == 0 and abs(d_param) != n:
            return False
        d_param = -d_param - 2 if d_param > 0 else -d_param + 2
    p_param, q_param = 1, (1 - d_param) // 4
    d, s = n + 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1

    def half(x: int) -> int:
        x %= n
        return (x + n if x & 1 else x) >> 1

    u, v, qk = 1, p_param, q_param % n  # U_1, V_1, Q^1
    for bit in bin(d)[3:]:
        u, v, qk = u * v % n, (v * v - 2 * qk) % n, qk * qk % n  # doubling: k -> 2k
        if bit == "1":  # k -> k + 1
            u, v, qk = half(p_param * u + v), half(d_param * u + p_param * v), qk * q_param % n
    if u == 0 or v == 0:
        return True
    for _ in range(s - 1):
        v, qk = (v * v - 2 * qk) % n, qk * qk % n
        if v == 0:
            return True
    return False


def _rounds(bits: int) -> int:
    """Random-base Miller-Rabin rounds beside a Lucas test (FIPS 186-4 Table C.1: p of 1024/2048 bits 3, 3072: 2)."""
    if bits < 1024:
        return 5
    return 3 if bits < 3072 else 2


@lru_cache(maxsize=512)
def probable_prime(n: int) -> bool:
    """Whether n is a probable prime: trial division, Miller-Rabin (base 2 and random bases) and strong Lucas."""
    if n < 2:
        return False
    for p in small_primes(_TRIAL_BOUND):
        if n == p:
            return True
        if n % p == 0:
            return False
    if math.gcd(n, _primorial()) != 1:
        return False
    if not _miller_rabin(n, 2):
        return False
    for _ in range(_rounds(n.bit_length())):
        if not _miller_rabin(n, 2 + secrets.randbelow(n - 3)):
            return False
    return _strong_lucas(n)


def _smooth_part(n: int) -> tuple[int, list[int]]:
    """(the SMOOTH_BOUND-smooth part of n, its distinct prime factors)."""
    part, factors = 1, []
    for p in small_primes():
        if n % p == 0:
            factors.append(p)
            while n % p == 0:
                n //= p
                part *= p
    return part, factors


def _order_within(g: int, p: int, multiple: int, factors: list[int]) -> int:
    """The order of g mod p, given that it divides `multiple` whose prime factors are `factors`."""
    order = multiple
    for r in factors:
        while order % r == 0 and pow(g, order // r, p) == 1:
            order //= r
    return order


def fingerprint(prime: int) -> str:
    """SHA-256 of the prime's big-endian bytes: how a custom group is named."""
    return hashlib.sha256(prime.to_bytes((prime.bit_length() + 7) // 8 or 1, "big")).hexdigest()


@lru_cache(maxsize=256)
def analyze(prime: int, generator: int) -> DhGroup:
    """What is known of the group (p, g) a server sent in its ServerKeyExchange."""
    p, g = prime, generator
    known = standard_groups().get(p)
    safe: bool | None
    if known is not None:
        is_prime, safe = True, known.subgroup_order == (p - 1) // 2
    else:
        is_prime = probable_prime(p)
        safe = probable_prime((p - 1) // 2) if is_prime else None
    order: int | None = None
    subgroup: Literal["large", "small", "unknown"]
    if g <= 1 or g >= p - 1:
        subgroup = "small"
        order = 1 if g == 1 else 2 if g == p - 1 else None
    elif not is_prime:
        subgroup = "unknown"
    elif safe or (known is not None and pow(g, known.subgroup_order, p) == 1):
        subgroup = "large"
    else:
        smooth, factors = _smooth_part(p - 1)
        if pow(g, smooth, p) == 1:
            subgroup, order = "small", _order_within(g, p, smooth, factors)
        else:
            subgroup = "unknown"
    return DhGroup(
        name=known.name if known is not None else None,
        bits=p.bit_length(),
        prime_sha256=fingerprint(p),
        generator=format(g, "x"),
        prime=is_prime,
        safe_prime=safe,
        subgroup=subgroup,
        generator_order=order,
    )


def from_bytes(prime: bytes | bytearray, generator: bytes | bytearray) -> DhGroup:
    """`analyze` of big-endian byte strings (what nassl's DhEphemeralKeyInfo holds)."""
    return analyze(int.from_bytes(prime, "big"), int.from_bytes(generator, "big"))
