"""cert.* rules: per certificate deployment, leaf and intermediates, never the self-signed root."""

from __future__ import annotations

import pytest

from probe.models import Severity
from tests.policy.factories import cert, findings_for, observation, only, rules


@pytest.mark.parametrize(
    ("bits", "severity"),
    [(1024, Severity.HIGH), (2047, Severity.HIGH), (2048, Severity.MEDIUM), (3071, Severity.MEDIUM),
     (3072, None), (4096, None)],
)
def test_rsa_key_tiers(bits: int, severity: Severity | None) -> None:
    found = only(observation(certificates=(cert(key_bits=bits),)), "cert.key.weak")
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        assert found[0].clause == "OP-POL-001 3.1.2.2"
        assert found[0].evidence["key_bits"] == bits
        assert f"{bits}-bit RSA" in found[0].message


@pytest.mark.parametrize(("bits", "weak"), [(224, True), (255, True), (256, False), (384, False)])
def test_ec_key_threshold_256(bits: int, weak: bool) -> None:
    ec = cert(key_type="EC", key_bits=bits, curve=f"secp{bits}r1")
    found = only(observation(certificates=(ec,)), "cert.key.weak")
    assert [f.severity for f in found] == ([Severity.HIGH] if weak else [])


def test_p256_certificate_counts_as_ecc_256() -> None:
    ec = cert(key_type="EC", key_bits=256, curve="secp256r1", signature_hash="sha256")
    assert rules(observation(certificates=(ec,))) == []


def test_each_certificate_deployment_is_judged() -> None:
    rsa = cert(key_bits=2048)
    ecdsa = cert(key_type="EC", key_bits=256, curve="secp256r1")
    weak_ec = cert(key_type="EC", key_bits=192, curve="prime192v1")
    found = only(observation(certificates=(rsa, ecdsa, weak_ec)), "cert.key.weak")
    assert [(f.evidence["certificate"], f.severity) for f in found] == [(0, Severity.MEDIUM), (2, Severity.HIGH)]


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_sha2_signatures_pass(digest: str) -> None:
    c = cert(signature_hash=digest, chain_signature_hashes=(digest, digest))
    assert only(observation(certificates=(c,)), "cert.signature.weak") == []


@pytest.mark.parametrize("digest", ["sha1", "md5"])
def test_weak_leaf_signature_is_high(digest: str) -> None:
    c = cert(signature_hash=digest, chain_signature_hashes=(digest, "sha256"))
    found = only(observation(certificates=(c,)), "cert.signature.weak")
    assert len(found) == 1
    assert found[0].severity == Severity.HIGH
    assert found[0].clause == "OP-POL-001 3.1.2.3"
    assert found[0].evidence["weak"] == [{"position": 0, "subject": "CN=api.example.com", "hash": digest}]
    assert digest in found[0].message


def test_weak_intermediate_signature_is_found() -> None:
    c = cert(chain_signature_hashes=("sha256", "sha1"))
    found = only(observation(certificates=(c,)), "cert.signature.weak")
    assert found[0].evidence["weak"] == [{"position": 1, "subject": "CN=Example Issuing CA", "hash": "sha1"}]
    assert "intermediate" in found[0].message


def test_self_signed_root_is_not_judged() -> None:
    # the served chain includes a SHA-1 self-signed root; the scanner leaves it out of chain_signature_hashes
    c = cert(chain=("CN=api.example.com", "CN=Issuing CA", "CN=Old Root"), chain_signature_hashes=("sha256", "sha256"))
    assert only(observation(certificates=(c,)), "cert.signature.weak") == []


def test_leaf_hash_used_when_chain_hashes_absent() -> None:
    c = cert(signature_hash="sha1", chain_signature_hashes=())
    assert len(only(observation(certificates=(c,)), "cert.signature.weak")) == 1


def test_eddsa_without_hash_is_not_weak() -> None:
    c = cert(key_type="Ed25519", key_bits=256, signature_hash=None, chain_signature_hashes=(None,))
    assert rules(observation(certificates=(c,))) == []


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-30, ["cert.expired"]), (-1, ["cert.expired"]), (0, ["cert.expiring"]), (7, ["cert.expiring"]),
     (30, ["cert.expiring"]), (31, []), (365, [])],
)
def test_expiry_boundaries(days: int, expected: list[str]) -> None:
    found = [f for f in rules(observation(certificates=(cert(days_to_expiry=days),))) if f.startswith("cert.exp")]
    assert found == expected


def test_expired_is_high_and_expiring_medium_under_3312() -> None:
    expired = only(observation(certificates=(cert(days_to_expiry=-3),)), "cert.expired")[0]
    expiring = only(observation(certificates=(cert(days_to_expiry=7),)), "cert.expiring")[0]
    assert (expired.severity, expiring.severity) == (Severity.HIGH, Severity.MEDIUM)
    assert expired.clause == expiring.clause == "OP-POL-001 3.3.1.2"
    assert expired.evidence["days_to_expiry"] == -3
    assert "7 day" in expiring.message


def test_untrusted_and_mismatch() -> None:
    c = cert(chain_trusted=False, self_signed=True, hostname_match=False, sans=("other.example.com",))
    found = {f.rule: f for f in findings_for(observation(certificates=(c,)))}
    assert found["cert.untrusted"].severity == Severity.HIGH
    assert found["cert.untrusted"].evidence["self_signed"] is True
    assert "self-signed" in found["cert.untrusted"].message
    assert found["cert.hostname_mismatch"].severity == Severity.HIGH
    assert found["cert.hostname_mismatch"].evidence["sans"] == ["other.example.com"]
    assert "api.example.com" in found["cert.hostname_mismatch"].message


def test_trust_error_is_reported() -> None:
    c = cert(chain_trusted=False, trust_error="unable to get local issuer certificate")
    (untrusted,) = only(observation(certificates=(c,)), "cert.untrusted")
    assert untrusted.evidence["trust_error"] == "unable to get local issuer certificate"


def test_lifetime_not_judged_by_op_pol_001() -> None:
    assert rules(observation(certificates=(cert(lifetime_days=825),))) == []

