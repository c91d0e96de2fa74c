"""The Mozilla profiles differ from op-pol-001 where Mozilla's guidelines differ; rule ids stay the same."""

from __future__ import annotations

from probe.models import Severity
from probe.policy import ALL_RULES
from tests.policy.factories import GOOD_SUITES, cert, findings_for, observation, only, rules, versions

TLS13_ONLY = {"TLSv1.3": ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")}


def test_every_emitted_rule_id_is_a_known_id() -> None:
    legacy = observation(tls_versions=versions("TLSv1.0", "TLSv1.2"),
                         cipher_suites={"TLSv1.0": ("TLS_RSA_WITH_3DES_EDE_CBC_SHA",),
                                        "TLSv1.2": ("TLS_RSA_WITH_AES_128_CBC_SHA256",)},
                         certificates=(cert(key_bits=1024, signature_hash="sha1", chain_signature_hashes=()),))
    for profile in ("op-pol-001", "mozilla-intermediate", "mozilla-modern"):
        assert set(rules(legacy, profile)) <= set(ALL_RULES)


def test_intermediate_requires_forward_secrecy_op_pol_001_does_not() -> None:
    obs = observation(cipher_suites={**GOOD_SUITES, "TLSv1.2": ("TLS_RSA_WITH_AES_256_GCM_SHA384",)})
    assert only(obs, "tls.cipher.no_forward_secrecy", "op-pol-001") == []
    (found,) = only(obs, "tls.cipher.no_forward_secrecy", "mozilla-intermediate")
    assert found.evidence["suites"] == ["TLS_RSA_WITH_AES_256_GCM_SHA384"]
    assert found.clause.startswith("Mozilla intermediate v5.7")


def test_tls12_allowed_in_intermediate_not_in_modern() -> None:
    obs = observation(cipher_suites={"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), **TLS13_ONLY},
                      certificates=(cert(key_type="EC", key_bits=256, curve="secp256r1"),))
    assert rules(obs, "mozilla-intermediate") == []
    modern = findings_for(obs, "mozilla-modern")
    deprecated = [f for f in modern if f.rule == "tls.protocol.deprecated"]
    assert [f.evidence["version"] for f in deprecated] == ["TLSv1.2"]
    assert deprecated[0].clause == "Mozilla modern v5.7: protocols"
    not_allowed = [f for f in modern if f.rule == "tls.cipher.not_allowed"]
    assert not_allowed[0].evidence["suites"] == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]


def test_modern_passes_tls13_only_endpoint() -> None:
    obs = observation(tls_versions=versions("TLSv1.3"), cipher_suites=TLS13_ONLY,
                      certificates=(cert(key_type="EC", key_bits=256, curve="secp256r1"),))
    assert rules(obs, "mozilla-modern") == []
    # op-pol-001 still notes the AES-128 suite, at low severity
    assert [(f.rule, f.severity) for f in findings_for(obs)] == [("tls.cipher.aes128", Severity.LOW)]


def test_modern_without_tls13_is_no_modern() -> None:
    obs = observation(tls_versions=versions("TLSv1.2"), cipher_suites={"TLSv1.2": GOOD_SUITES["TLSv1.2"]})
    assert "tls.protocol.no_modern" in rules(obs, "mozilla-modern")
    assert "tls.protocol.no_modern" not in rules(obs, "op-pol-001")


def test_rsa_2048_passes_mozilla_but_is_medium_under_op_pol_001() -> None:
    obs = observation(certificates=(cert(key_bits=2048),))
    assert rules(obs, "mozilla-intermediate") == []
    assert [f.severity for f in only(obs, "cert.key.weak")] == [Severity.MEDIUM]


def test_intermediate_rejects_cbc_suites_outside_its_list() -> None:
    obs = observation(cipher_suites={**GOOD_SUITES, "TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",)})
    assert rules(obs, "op-pol-001") == []
    assert rules(obs, "mozilla-intermediate") == ["tls.cipher.not_allowed"]


def test_certificate_lifetime_judged_by_mozilla_only() -> None:
    obs = observation(certificates=(cert(lifetime_days=398),))
    (found,) = only(obs, "cert.lifetime", "mozilla-intermediate")
    assert found.evidence == {"certificate": 0, "subject": "CN=api.example.com", "lifetime_days": 398,
                              "maximum_days": 366}
    assert only(observation(certificates=(cert(lifetime_days=366),)), "cert.lifetime", "mozilla-intermediate") == []
    assert only(obs, "cert.lifetime", "op-pol-001") == []


def test_aes128_is_fine_for_mozilla() -> None:
    obs = observation(cipher_suites={"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), **TLS13_ONLY})
    assert rules(obs, "mozilla-intermediate") == []
    assert rules(obs, "op-pol-001") == ["tls.cipher.aes128"]
