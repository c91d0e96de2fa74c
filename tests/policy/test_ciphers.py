"""tls.cipher.* rules from IANA suite names, including families the lab cannot serve."""

from __future__ import annotations

import pytest

from probe.models import Severity
from probe.policy.suites import group_bits, suite_traits
from tests.policy.factories import GOOD_SUITES, observation, only, rules

PROHIBITED = [
    ("TLS_RSA_WITH_NULL_SHA256", "NULL", Severity.CRITICAL),
    ("TLS_ECDHE_RSA_WITH_NULL_SHA", "NULL", Severity.CRITICAL),
    ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXPORT", Severity.CRITICAL),
    ("TLS_RSA_EXPORT1024_WITH_RC4_56_SHA", "EXPORT", Severity.CRITICAL),
    ("TLS_DH_anon_WITH_AES_256_GCM_SHA384", "anon", Severity.CRITICAL),
    ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "anon", Severity.CRITICAL),
    ("TLS_RSA_WITH_DES_CBC_SHA", "DES", Severity.CRITICAL),
    ("TLS_RSA_WITH_RC4_128_SHA", "RC4", Severity.HIGH),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "RC4", Severity.HIGH),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES", Severity.HIGH),
    ("TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "3DES", Severity.HIGH),
    ("TLS_RSA_WITH_RC4_128_MD5", "MD5", Severity.HIGH),
]


def with_suite(*names: str, version: str = "TLSv1.2") -> dict[str, tuple[str, ...]]:
    return {**GOOD_SUITES, version: (*GOOD_SUITES.get(version, ()), *names)}


@pytest.mark.parametrize(("suite", "family", "severity"), PROHIBITED)
def test_prohibited_family(suite: str, family: str, severity: Severity) -> None:
    found = [f for f in only(observation(cipher_suites=with_suite(suite)), "tls.cipher.prohibited")
             if f.evidence["family"] == family]
    assert len(found) == 1
    assert found[0].severity == severity
    assert found[0].clause == "OP-POL-001 3.1.2.3"
    assert found[0].evidence["suites"] == [suite]
    assert found[0].evidence["versions"] == ["TLSv1.2"]


def test_messages_name_the_family() -> None:
    obs = observation(cipher_suites=with_suite("TLS_RSA_WITH_NULL_SHA256", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"))
    messages = {f.evidence["family"]: f.message for f in only(obs, "tls.cipher.prohibited")}
    assert "NULL" in messages["NULL"]
    assert "3DES" in messages["3DES"]


def test_one_finding_per_family_listing_every_suite_and_version() -> None:
    suites = {"TLSv1.0": ("TLS_RSA_WITH_3DES_EDE_CBC_SHA",),
              "TLSv1.2": ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA")}
    found = only(observation(cipher_suites=suites), "tls.cipher.prohibited")
    assert len(found) == 1
    assert found[0].evidence["suites"] == ["TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]
    assert found[0].evidence["versions"] == ["TLSv1.0", "TLSv1.2"]


def test_export_rc4_md5_suite_counts_in_each_family() -> None:
    found = only(observation(cipher_suites=with_suite("TLS_RSA_EXPORT_WITH_RC4_40_MD5")), "tls.cipher.prohibited")
    assert sorted(f.evidence["family"] for f in found) == ["EXPORT", "MD5", "RC4"]


def test_3des_is_not_des() -> None:
    assert suite_traits("TLS_RSA_WITH_3DES_EDE_CBC_SHA").families == frozenset({"3DES"})
    assert suite_traits("TLS_RSA_WITH_DES_CBC_SHA").families == frozenset({"DES"})


def test_sha1_mac_is_one_medium_finding_per_endpoint() -> None:
    suites = with_suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
                        version="TLSv1.2")
    found = only(observation(cipher_suites=suites), "tls.cipher.sha1_mac")
    assert len(found) == 1
    assert found[0].severity == Severity.MEDIUM
    assert found[0].clause == "OP-POL-001 3.1.2.3"
    assert found[0].evidence["suites"] == ["TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"]


@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_AES_256_GCM_SHA384",
                                   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_SHA256_SHA256"])
def test_sha2_suites_are_not_sha1_mac(suite: str) -> None:
    assert not suite_traits(suite).sha1_mac


@pytest.mark.parametrize(
    "suite",
    ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
     "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", "TLS_RSA_WITH_SEED_CBC_SHA", "TLS_RSA_WITH_IDEA_CBC_SHA",
     "TLS_AES_128_CCM_8_SHA256"],
)
def test_below_256_bit_is_low_under_3122(suite: str) -> None:
    found = only(observation(cipher_suites=with_suite(suite)), "tls.cipher.aes128")
    assert len(found) == 1
    assert found[0].severity == Severity.LOW
    assert found[0].clause == "OP-POL-001 3.1.2.2"
    assert found[0].evidence["suites"] == [suite]
    assert found[0].evidence["cipher_bits"][suite] == 128


@pytest.mark.parametrize("suite", ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                   "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"])
def test_256_bit_suites_pass(suite: str) -> None:
    assert rules(observation(cipher_suites={"TLSv1.3": (suite,)})) == []


def test_null_cipher_is_not_counted_as_below_256_bits() -> None:
    # NULL has no cipher: it is reported as prohibited, not as "AES-128 or weaker"
    found = only(observation(cipher_suites=with_suite("TLS_RSA_WITH_NULL_SHA256")), "tls.cipher.aes128")
    assert found == []


def test_forward_secrecy_not_judged_by_op_pol_001() -> None:
    obs = observation(cipher_suites=with_suite("TLS_RSA_WITH_AES_256_GCM_SHA384"))
    assert rules(obs) == []


@pytest.mark.parametrize(
    ("suite", "forward_secret"),
    [("TLS_RSA_WITH_AES_256_GCM_SHA384", False), ("TLS_DH_RSA_WITH_AES_256_GCM_SHA384", False),
     ("TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", False), ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", True),
     ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", True), ("TLS_AES_256_GCM_SHA384", True),
     ("TLS_CHACHA20_POLY1305_SHA256", True), ("TLS_PSK_WITH_AES_256_GCM_SHA384", False),
     ("TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", True)],
)
def test_forward_secrecy_classification(suite: str, forward_secret: bool) -> None:
    assert suite_traits(suite).forward_secret is forward_secret


@pytest.mark.parametrize(
    ("group", "expected"),
    [("X25519", ("ecdh", 256)), ("secp256r1", ("ecdh", 256)), ("prime256v1", ("ecdh", 256)),
     ("P-256", ("ecdh", 256)), ("secp384r1", ("ecdh", 384)), ("X448", ("ecdh", 448)),
     ("secp224r1", ("ecdh", 224)), ("ffdhe2048", ("dh", 2048)), ("brainpoolP256r1", ("ecdh", 256)),
     ("X25519MLKEM768", ("ecdh", 256)), ("MLKEM768", None)],
)
def test_group_bits(group: str, expected: tuple[str, int] | None) -> None:
    assert group_bits(group) == expected


def test_unknown_suite_names_do_not_raise_or_invent_findings() -> None:
    obs = observation(cipher_suites={"TLSv1.2": ("TLS_SOMETHING_NEW", "garbage", "")})
    assert rules(obs) == []
