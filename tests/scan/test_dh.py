"""DH group safety (probe/scan/dh.py): the standard groups are OpenSSL's, the primality test refuses the known
pseudoprimes, and custom groups are judged by what they are: composite, safe, small-subgroup generator."""

from __future__ import annotations

import os
import subprocess

import pytest

from probe.lab.hostile_certs import composite_dh_group, dh_params_pem, small_subgroup_dh_group
from probe.scan.dh import analyze, fingerprint, from_bytes, probable_prime
from probe.scan.dh_groups import standard_groups

OPENSSL_NAMES = ("ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192", "modp_1536", "modp_2048",
                 "modp_3072", "modp_4096", "modp_6144", "modp_8192", "dh_1024_160", "dh_2048_224", "dh_2048_256")


def openssl_integers(pem: bytes) -> list[int]:
    """The INTEGERs of a DER structure, through `openssl asn1parse`."""
    done = subprocess.run(["openssl", "asn1parse"], input=pem, capture_output=True, check=True,
                          env={**os.environ, "OPENSSL_CONF": os.devnull})
    return [int(line.rsplit(":", 1)[1], 16) for line in done.stdout.decode().splitlines() if "INTEGER" in line]


@pytest.mark.parametrize("name", OPENSSL_NAMES)
def test_each_standard_group_is_openssls(name: str) -> None:
    algorithm = "DHX" if name.startswith("dh_") else "DH"
    pem = subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", algorithm, "-pkeyopt", f"group:{name}"],
                         capture_output=True, check=True, env={**os.environ, "OPENSSL_CONF": os.devnull}).stdout
    p, g, *rest = openssl_integers(pem)
    [group] = [s for s in standard_groups().values() if s.name == name]
    assert (group.prime, group.generator) == (p, g)
    if rest:  # RFC 5114: q
        assert group.subgroup_order == rest[0]


def test_the_oakley_groups_are_the_rfc_2409_primes() -> None:
    by_name = {g.name: g for g in standard_groups().values()}
    assert format(by_name["modp_1024"].prime, "X").endswith("49286651ECE65381FFFFFFFFFFFFFFFF")
    assert format(by_name["modp_768"].prime, "X").endswith("A63A3620FFFFFFFFFFFFFFFF")
    for name in ("modp_768", "modp_1024"):
        group = by_name[name]
        assert probable_prime(group.prime) and probable_prime(group.subgroup_order)


@pytest.mark.parametrize("n", [2047, 3277, 4033, 4681, 8321,  # strong pseudoprimes to base 2
                               5459, 5777, 10877, 16109, 18971,  # strong Lucas pseudoprimes
                               561, 1105, 1729, 3215031751, 3825123056546413051,  # Carmichael, multi-base spsp
                               318665857834031151167461, 3317044064679887385961981, 9, 25, 1, 0])
def test_known_pseudoprimes_and_squares_are_composite(n: int) -> None:
    assert not probable_prime(n)


@pytest.mark.parametrize("n", [2, 3, 5, 65521, 2**61 - 1, 2**127 - 1, 2**521 - 1])
def test_primes_are_prime(n: int) -> None:
    assert probable_prime(n)


def test_a_standard_group_is_named_and_safe() -> None:
    ffdhe = next(g for g in standard_groups().values() if g.name == "ffdhe2048")
    group = analyze(ffdhe.prime, 2)
    assert (group.name, group.bits, group.prime, group.safe_prime, group.subgroup) == ("ffdhe2048", 2048, True,
                                                                                      True, "large")
    assert group.prime_sha256 == fingerprint(ffdhe.prime)


def test_rfc_5114_is_named_with_its_prime_order_subgroup() -> None:
    rfc = next(g for g in standard_groups().values() if g.name == "dh_2048_256")
    group = analyze(rfc.prime, rfc.generator)
    assert (group.name, group.safe_prime, group.subgroup) == ("dh_2048_256", False, "large")


def test_a_custom_safe_prime_is_tested_not_named() -> None:
    ffdhe = next(g for g in standard_groups().values() if g.name == "ffdhe2048").prime
    # the same number is safe whether or not it is recognised: test it through the custom path
    assert probable_prime(ffdhe) and probable_prime((ffdhe - 1) // 2)


def test_the_generator_of_order_two_is_a_small_subgroup() -> None:
    ffdhe = next(g for g in standard_groups().values() if g.name == "ffdhe2048").prime
    group = analyze(ffdhe, ffdhe - 1)
    assert (group.subgroup, group.generator_order) == ("small", 2)


def test_the_labs_composite_group_is_composite() -> None:
    p, g = composite_dh_group(1024)
    group = analyze(p, g)
    assert (group.prime, group.safe_prime, group.subgroup, group.bits) == (False, None, "unknown", 1024)


def test_the_labs_small_subgroup_generator_has_the_order_it_was_made_with() -> None:
    p, g = small_subgroup_dh_group(1024, order=257)
    assert pow(g, 257, p) == 1 and g != 1
    group = from_bytes(p.to_bytes(128, "big"), g.to_bytes(128, "big"))
    assert (group.prime, group.safe_prime, group.subgroup, group.generator_order) == (True, False, "small", 257)


def test_dh_parameters_pem_reads_back_through_openssl() -> None:
    p, g = composite_dh_group(512)
    assert openssl_integers(dh_params_pem(p, g)) == [p, g]
