"""vuln.* rules: flags the lab cannot produce (no vulnerable server on this OpenSSL)."""

from __future__ import annotations

import pytest

from probe.models import Severity, Vulnerabilities
from tests.policy.factories import observation, only, rules, versions

SAFE = {"heartbleed": False, "robot": False, "ccs_injection": False, "insecure_renegotiation": False,
        "compression": False, "fallback_scsv": True}


@pytest.mark.parametrize(
    ("flag", "rule", "severity"),
    [("heartbleed", "vuln.heartbleed", Severity.CRITICAL), ("ccs_injection", "vuln.ccs_injection", Severity.CRITICAL),
     ("robot", "vuln.robot", Severity.HIGH), ("insecure_renegotiation", "vuln.insecure_renegotiation", Severity.HIGH),
     ("compression", "vuln.compression", Severity.MEDIUM)],
)
def test_vulnerability_flag_true_is_a_finding(flag: str, rule: str, severity: Severity) -> None:
    vulnerable = observation(vulnerabilities=Vulnerabilities(**{**SAFE, flag: True}))
    found = only(vulnerable, rule)
    assert len(found) == 1
    assert found[0].severity == severity
    assert found[0].clause == "OP-POL-001 3.1.2.3"
    assert rules(vulnerable) == [rule]


@pytest.mark.parametrize("flag", ["heartbleed", "robot", "ccs_injection", "insecure_renegotiation", "compression"])
def test_false_or_unknown_flags_are_silent(flag: str) -> None:
    assert rules(observation(vulnerabilities=Vulnerabilities(**{**SAFE, flag: False}))) == []
    assert rules(observation(vulnerabilities=Vulnerabilities(**{**SAFE, flag: None}))) == []


def test_no_fallback_scsv_matters_only_with_several_versions() -> None:
    no_scsv = Vulnerabilities(**{**SAFE, "fallback_scsv": False})
    several = only(observation(vulnerabilities=no_scsv), "vuln.no_fallback_scsv")
    assert [f.severity for f in several] == [Severity.LOW]
    assert several[0].evidence["enabled_versions"] == ["TLSv1.2", "TLSv1.3"]
    single = observation(vulnerabilities=no_scsv, tls_versions=versions("TLSv1.3"),
                         cipher_suites={"TLSv1.3": ("TLS_AES_256_GCM_SHA384",)})
    assert rules(single) == []


def test_unknown_fallback_scsv_is_silent() -> None:
    assert rules(observation(vulnerabilities=Vulnerabilities(**{**SAFE, "fallback_scsv": None}))) == []
