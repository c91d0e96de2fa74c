"""cert.untrusted names its reason, cert.chain_incomplete and cert.chain_order stand apart, and DH groups with a
composite modulus or a small-subgroup generator are findings (tls.kex.dh_composite, tls.kex.dh_small_subgroup)."""

from __future__ import annotations

import pytest

from probe.models import DhGroup, Severity, TrustVerdict
from probe.policy import load_profile
from probe.policy.rules import RULES
from tests.policy.factories import cert, observation, only, rules

SUBJECT = "CN=api.example.com"


def untrusted(**trust: object) -> list:
    verdict = TrustVerdict(verdict="untrusted", **trust)  # type: ignore[arg-type]
    return [cert(chain_trusted=False, trust_error="validation failed: raw text", trust=verdict)]


def test_untrusted_names_the_reason_and_keeps_the_validator_text_in_evidence() -> None:
    obs = observation(certificates=tuple(untrusted(reason="self_signed", detail="self-signed certificate",
                                                   ca=SUBJECT)))
    [finding] = only(obs, "cert.untrusted")
    assert finding.message == f"certificate {SUBJECT} is not trusted: self-signed certificate"
    assert (finding.severity, finding.clause) == (Severity.HIGH, "OP-POL-001 3.3.1.2")
    assert finding.evidence["trust_error"] == "validation failed: raw text"
    assert finding.evidence["reason"] == "self_signed" and finding.evidence["ca"] == SUBJECT


def test_an_incomplete_chain_is_its_own_rule_not_untrusted() -> None:
    detail = ("the server does not send the intermediate certificate CN=Issuing CA; clients that do not fetch it "
              "fail (found in the --intermediates file)")
    obs = observation(certificates=tuple(untrusted(
        reason="incomplete_chain", detail=detail, ca="CN=Issuing CA", aia_ca_issuers=("http://ca.example/i.der",),
        completed_from="intermediates_file", served_in_order=True)))
    assert rules(obs) == ["cert.chain_incomplete"]
    [finding] = only(obs, "cert.chain_incomplete")
    assert finding.message == f"certificate {SUBJECT}: {detail}"
    assert (finding.severity, finding.clause) == (Severity.HIGH, "OP-POL-001 3.3.1.2")
    assert finding.evidence["aia_ca_issuers"] == ["http://ca.example/i.der"]
    assert finding.evidence["completed_from"] == "intermediates_file"


def test_a_trusted_chain_sent_out_of_order_is_a_low_chain_order_finding() -> None:
    chain = (SUBJECT, "CN=Policy CA", "CN=Issuing CA")
    verdict = TrustVerdict(verdict="trusted", detail="the chain validates to root CA CN=Root", served_in_order=False)
    obs = observation(certificates=(cert(chain=chain, chain_signature_hashes=("sha256",) * 3, trust=verdict),))
    [finding] = only(obs, "cert.chain_order")
    assert rules(obs) == ["cert.chain_order"]
    assert finding.severity == Severity.LOW
    assert finding.message.startswith(
        f"certificate {SUBJECT}: the server sends its chain out of order ({SUBJECT}; CN=Policy CA; CN=Issuing CA)")
    assert finding.evidence["served"] == list(chain)


def test_a_leaf_sent_after_its_issuer_is_untrusted_and_not_also_out_of_order() -> None:
    obs = observation(certificates=tuple(untrusted(reason="wrong_order", detail="the server sends the CA first",
                                                   served_in_order=False)))
    assert rules(obs) == ["cert.untrusted"]


def test_a_certificate_without_a_verdict_is_judged_as_before() -> None:
    obs = observation(certificates=(cert(chain_trusted=False, trust_error="chain construction exceeds max depth"),))
    [finding] = only(obs, "cert.untrusted")
    assert finding.message == f"certificate {SUBJECT} is not trusted: chain construction exceeds max depth"


def group(**values: object) -> DhGroup:
    fields: dict[str, object] = {"bits": 2048, "prime_sha256": "ab" * 32, "generator": "2", "prime": True,
                                 "safe_prime": True, "subgroup": "large"}
    fields.update(values)
    return DhGroup(**fields)  # type: ignore[arg-type]


def test_a_composite_dh_modulus_is_critical() -> None:
    obs = observation(dh_bits=2048, dh_groups=(group(prime=False, safe_prime=None, subgroup="unknown"),))
    [finding] = only(obs, "tls.kex.dh_composite")
    assert rules(obs) == ["tls.kex.dh_composite"]
    assert (finding.severity, finding.clause) == (Severity.CRITICAL, "OP-POL-001 3.1.2.2")
    assert "custom 2048-bit group sha256:abababababababab" in finding.message
    assert finding.evidence["prime_sha256"] == "ab" * 32 and finding.evidence["generator"] == "2"


def test_a_small_subgroup_generator_is_high_and_names_its_order() -> None:
    obs = observation(dh_bits=2048, dh_groups=(group(safe_prime=False, subgroup="small", generator_order=65521,
                                                     generator="4c" * 256),))
    [finding] = only(obs, "tls.kex.dh_small_subgroup")
    assert rules(obs) == ["tls.kex.dh_small_subgroup"]
    assert finding.severity == Severity.HIGH
    assert "lies in a small subgroup of order 65521" in finding.message
    assert finding.evidence["generator"] == "4c4c4c4c4c4c4c4c... (2048 bits)"
    assert finding.evidence["generator_order"] == 65521


@pytest.mark.parametrize("safe", [group(name="ffdhe2048"), group(safe_prime=False, subgroup="unknown")])
def test_a_standard_or_unproven_group_is_no_finding(safe: DhGroup) -> None:
    assert rules(observation(dh_bits=2048, dh_groups=(safe,))) == []


@pytest.mark.parametrize("profile", ["op-pol-001", "mozilla-intermediate", "mozilla-modern"])
def test_every_profile_describes_the_new_rules(profile: str) -> None:
    loaded = load_profile(profile)
    for rule in ("cert.chain_incomplete", "cert.chain_order", "tls.kex.dh_composite", "tls.kex.dh_small_subgroup"):
        assert rule in loaded.active_rules()
        assert loaded.remediation(rule) and loaded.clause(rule)


def test_the_rule_table_has_the_new_rules_without_declared_twins_for_dh_groups() -> None:
    assert (RULES["cert.chain_incomplete"].severity, RULES["cert.chain_order"].severity) == (Severity.HIGH,
                                                                                              Severity.LOW)
    assert RULES["tls.kex.dh_composite"].severity == Severity.CRITICAL
    assert RULES["tls.kex.dh_small_subgroup"].clause == "OP-POL-001 3.1.2.2"
    assert "declared.tls.kex.dh_composite" not in RULES and "declared.tls.kex.weak_dh" in RULES
