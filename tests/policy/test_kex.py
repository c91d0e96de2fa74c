"""tls.kex.weak_dh: DH parameters and key-exchange groups."""

from __future__ import annotations

import pytest

from probe.models import Severity
from tests.policy.factories import observation, only


@pytest.mark.parametrize(("bits", "weak"), [(1024, True), (2047, True), (2048, False), (4096, False)])
def test_dh_threshold_2048(bits: int, weak: bool) -> None:
    found = only(observation(dh_bits=bits), "tls.kex.weak_dh")
    assert bool(found) is weak
    if weak:
        assert found[0].severity == Severity.MEDIUM
        assert found[0].clause == "OP-POL-001 3.1.2.2"
        assert found[0].evidence["dh_bits"] == bits
        assert str(bits) in found[0].message


def test_x25519_and_p256_count_as_ecc_256() -> None:
    assert only(observation(key_exchange_groups=("X25519", "secp256r1", "prime256v1")), "tls.kex.weak_dh") == []


def test_small_curve_and_small_ffdhe_group_are_weak() -> None:
    found = only(observation(key_exchange_groups=("X25519", "secp224r1", "ffdhe1536")), "tls.kex.weak_dh")
    assert len(found) == 1
    assert [w["group"] for w in found[0].evidence["weak"]] == ["secp224r1", "ffdhe1536"]
