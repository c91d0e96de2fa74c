"""tls.protocol.* rules, including SSLv2/SSLv3, which the lab cannot serve."""

from __future__ import annotations

import pytest

from probe.models import Severity
from tests.policy.factories import observation, only, rules, versions


def test_compliant_endpoint_has_no_findings() -> None:
    assert rules(observation()) == []


@pytest.mark.parametrize(
    ("version", "severity"),
    [("SSLv2", Severity.CRITICAL), ("SSLv3", Severity.CRITICAL), ("TLSv1.0", Severity.HIGH),
     ("TLSv1.1", Severity.HIGH)],
)
def test_each_deprecated_version_is_one_finding(version: str, severity: Severity) -> None:
    found = only(observation(tls_versions=versions(version, "TLSv1.2")), "tls.protocol.deprecated")
    assert len(found) == 1
    assert found[0].severity == severity
    assert found[0].clause == "OP-POL-001 3.1.2.3"
    assert version in found[0].message
    assert found[0].evidence["version"] == version


def test_one_finding_per_deprecated_version() -> None:
    obs = observation(tls_versions=versions("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2"))
    found = only(obs, "tls.protocol.deprecated")
    assert [f.evidence["version"] for f in found] == ["SSLv3", "TLSv1.0", "TLSv1.1"]


@pytest.mark.parametrize("modern", ["TLSv1.2", "TLSv1.3"])
def test_either_modern_version_satisfies_311(modern: str) -> None:
    assert only(observation(tls_versions=versions(modern)), "tls.protocol.no_modern") == []


def test_no_modern_version_is_high_under_3111() -> None:
    found = only(observation(tls_versions=versions("TLSv1.0", "TLSv1.1")), "tls.protocol.no_modern")
    assert len(found) == 1
    assert found[0].severity == Severity.HIGH
    assert found[0].clause == "OP-POL-001 3.1.1.1"
    assert found[0].evidence["enabled_versions"] == ["TLSv1.0", "TLSv1.1"]


def test_disabled_versions_are_not_findings() -> None:
    # tls_versions False entries must not count as enabled
    obs = observation(tls_versions={"SSLv3": False, "TLSv1.0": False, "TLSv1.2": True})
    assert rules(obs) == []
