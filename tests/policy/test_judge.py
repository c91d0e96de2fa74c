"""judge(), worst_severity() and exceeds(): compliance after waivers; errored endpoints never pass."""

from __future__ import annotations

from datetime import timedelta

from probe.models import Severity, Waiver
from probe.policy import evaluate, exceeds, judge, load_profile, worst_severity
from tests.policy.factories import GOOD_SUITES, TODAY, cert, errored, observation, versions

OP = load_profile("op-pol-001")


def test_errored_endpoint_has_no_findings_and_unknown_compliance() -> None:
    obs = errored()
    assert evaluate(obs, OP, today=TODAY) == []
    result = judge(obs, OP, today=TODAY)
    assert result.findings == ()
    assert result.compliant is None
    assert result.observation == obs


def test_compliant_endpoint() -> None:
    result = judge(observation(), OP, today=TODAY)
    assert (result.findings, result.compliant) == ((), True)


def test_low_finding_below_threshold_is_still_compliant() -> None:
    obs = observation(cipher_suites={**GOOD_SUITES, "TLSv1.3": ("TLS_AES_128_GCM_SHA256",)})
    result = judge(obs, OP, today=TODAY)
    assert [f.severity for f in result.findings] == [Severity.LOW]
    assert result.compliant is True


def test_medium_finding_at_threshold_is_not_compliant() -> None:
    result = judge(observation(certificates=(cert(key_bits=2048),)), OP, today=TODAY)
    assert [f.severity for f in result.findings] == [Severity.MEDIUM]
    assert result.compliant is False


def test_waived_finding_kept_and_compliance_restored() -> None:
    obs = observation(tls_versions=versions("TLSv1.0", "TLSv1.2", "TLSv1.3"))
    waiver = Waiver(rule="tls.protocol.deprecated", endpoint="api.example.com", reason="legacy POS terminals",
                    expires=TODAY + timedelta(days=30))
    result = judge(obs, OP, [waiver], today=TODAY)
    assert [(f.rule, f.waived) for f in result.findings] == [("tls.protocol.deprecated", True)]
    assert result.compliant is True
    assert worst_severity([result]) is None
    assert not exceeds([result], Severity.LOW)


def test_expired_waiver_leaves_endpoint_non_compliant() -> None:
    obs = observation(tls_versions=versions("TLSv1.0", "TLSv1.2", "TLSv1.3"))
    waiver = Waiver(rule="tls.protocol.deprecated", endpoint="api.example.com", reason="legacy POS terminals",
                    expires=TODAY - timedelta(days=1))
    result = judge(obs, OP, [waiver], today=TODAY)
    assert result.compliant is False
    assert "expired_waiver" in result.findings[0].evidence


def test_profile_threshold_changes_compliance() -> None:
    lenient = OP.model_copy(update={"compliance_threshold": Severity.HIGH})
    obs = observation(certificates=(cert(key_bits=2048),))
    assert judge(obs, lenient, today=TODAY).compliant is True
    assert judge(obs, OP, today=TODAY).compliant is False


def test_worst_severity_and_exceeds_over_many_results() -> None:
    results = [
        judge(observation(), OP, today=TODAY),
        judge(observation(certificates=(cert(days_to_expiry=5),)), OP, today=TODAY),
        judge(observation(tls_versions=versions("SSLv3", "TLSv1.2")), OP, today=TODAY),
        judge(errored(), OP, today=TODAY),
    ]
    assert worst_severity(results) == Severity.CRITICAL
    assert exceeds(results, Severity.CRITICAL)
    assert exceeds(results[:2], Severity.MEDIUM)
    assert not exceeds(results[:2], Severity.HIGH)
    assert worst_severity([]) is None
    assert not exceeds([results[0], results[3]], Severity.INFO)
