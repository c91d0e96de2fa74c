"""Declared policies: bundled tables, judgement without a connection, drift against an observation."""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources

import pytest

from probe.discovery.declared import expand_policy, policy_key, table_policy
from probe.models import CertificateInfo, Observation, Severity, Target, TargetSource
from probe.policy import load_profile
from probe.policy.declared import declared_observation, drift_findings, judge_declared

TODAY = date(2026, 1, 15)
PROFILE = load_profile("op-pol-001")


def _target(kind: str, policy: str | None, host: str = "lb.example.test", arn: str | None = None) -> Target:
    return Target(host=host, port=443, source=TargetSource(provider="aws", kind=kind, region="eu-west-1",
                                                           declared_policy=policy, arn=arn))


@pytest.mark.parametrize("table", ["elbv2.csv", "classic-elb.csv", "apigateway.csv", "cloudfront.csv"])
def test_every_table_row_names_its_aws_page_and_maps_every_cipher(table: str) -> None:
    text = resources.files("probe.discovery").joinpath("tables", table).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows
    family = table.removesuffix(".csv").replace("classic-elb", "elb")
    for row in rows:
        assert row["source"].startswith("https://docs.aws.amazon.com/"), row["policy"]
        policy = table_policy(family, row["policy"])
        assert policy is not None and policy.protocols and policy.ciphers
        assert policy.unknown_ciphers == (), f"{row['policy']}: unmapped {policy.unknown_ciphers}"


def test_cloudfront_minimum_versions_table() -> None:
    assert table_policy("cloudfront", "SSLv3").protocols[0] == "SSLv3"  # type: ignore[union-attr]
    assert table_policy("cloudfront", "TLSv1").protocols == ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")  # type: ignore[union-attr]
    assert table_policy("cloudfront", "TLSv1.2_2021").protocols == ("TLSv1.2", "TLSv1.3")  # type: ignore[union-attr]
    assert table_policy("cloudfront", "TLSv1.3_2025").protocols == ("TLSv1.3",)  # type: ignore[union-attr]
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in table_policy("cloudfront", "TLSv1").ciphers  # type: ignore[union-attr]
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" not in table_policy("cloudfront", "TLSv1_2016").ciphers  # type: ignore[union-attr]


def test_declared_observation_places_suites_in_their_versions() -> None:
    obs = declared_observation(_target("elbv2-listener", "ELBSecurityPolicy-2016-08"))
    assert obs is not None and obs.status == "ok" and obs.engine == "declared" and obs.certificates == ()
    assert obs.accepted_versions() == ["TLSv1.0", "TLSv1.1", "TLSv1.2"]
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in obs.cipher_suites["TLSv1.2"]
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" not in obs.cipher_suites["TLSv1.0"]
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in obs.cipher_suites["TLSv1.0"]


def test_elb_2016_08_is_a_finding_by_itself() -> None:
    findings = judge_declared(_target("elbv2-listener", "ELBSecurityPolicy-2016-08"), PROFILE, today=TODAY)
    deprecated = [f for f in findings if f.rule == "declared.tls.protocol.deprecated"]
    assert sorted(f.evidence["version"] for f in deprecated) == ["TLSv1.0", "TLSv1.1"]
    assert all(f.severity == Severity.HIGH and f.clause == "OP-POL-001 3.1.2.3" for f in deprecated)
    assert all(f.evidence["declared_policy"] == "ELBSecurityPolicy-2016-08" for f in findings)
    assert "declared.tls.cipher.sha1_mac" in {f.rule for f in findings}
    assert all(f.rule.startswith("declared.") for f in findings)
    assert not any(f.rule.startswith(("declared.cert.", "declared.vuln.")) for f in findings)


def test_discovered_expansion_wins_over_the_table() -> None:
    target = _target("elbv2-listener", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    policies = {policy_key("elbv2", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"): expand_policy(
        "elbv2", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", ["TLSv1.3", "TLSv1.2"],
        ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"], "test")}
    findings = judge_declared(target, PROFILE, today=TODAY, policies=policies)
    assert {f.rule for f in findings} <= {"declared.tls.cipher.aes128"}
    assert not any(f.severity >= Severity.MEDIUM for f in findings)


def test_resource_specific_policy_is_found_by_arn() -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/web"
    custom = expand_policy("elb", "my-ssl", ["Protocol-TLSv1.2"], ["ECDHE-RSA-AES256-GCM-SHA384"], "test")
    findings = judge_declared(_target("elb-listener", "my-ssl", arn=arn), PROFILE, today=TODAY,
                              policies={policy_key("elb", "my-ssl", arn): custom})
    assert findings == []


@pytest.mark.parametrize(("kind", "policy", "rule", "severity"), [
    ("cloudfront-alias", "TLSv1", "declared.tls.cipher.prohibited", Severity.HIGH),  # DES-CBC3-SHA
    ("cloudfront-alias", "SSLv3", "declared.tls.protocol.deprecated", Severity.CRITICAL),
    ("apigateway-domain", "TLS_1_0", "declared.tls.protocol.deprecated", Severity.HIGH),
    ("elb-listener", "ELBSecurityPolicy-2015-05", "declared.tls.cipher.prohibited", Severity.HIGH),
])
def test_declared_findings_per_family(kind: str, policy: str, rule: str, severity: Severity) -> None:
    findings = judge_declared(_target(kind, policy), PROFILE, today=TODAY)
    assert any(f.rule == rule and f.severity == severity for f in findings), [f.rule for f in findings]


def test_tls12_only_policies_have_no_protocol_findings() -> None:
    for kind, policy in (("apigateway-domain", "TLS_1_2"), ("cloudfront-alias", "TLSv1.2_2021"),
                         ("elb-listener", "ELBSecurityPolicy-TLS-1-2-2017-01")):
        rules = {f.rule for f in judge_declared(_target(kind, policy), PROFILE, today=TODAY)}
        assert not any("protocol" in r for r in rules), (policy, rules)


def test_unknown_policy_and_no_policy() -> None:
    unknown = judge_declared(_target("elbv2-listener", "Custom-Unknown-1"), PROFILE, today=TODAY)
    assert [(f.rule, f.severity) for f in unknown] == [("declared.unknown_policy", Severity.INFO)]
    assert judge_declared(_target("elbv2-listener", None), PROFILE, today=TODAY) == []
    assert judge_declared(Target(host="plain.example.test"), PROFILE, today=TODAY) == []


def _cert(key_type: str) -> CertificateInfo:
    from datetime import datetime
    return CertificateInfo(subject="CN=x", issuer="CN=ca", key_type=key_type, key_bits=2048, signature_hash="sha256",
                           not_before=datetime(2026, 1, 1), not_after=datetime(2027, 1, 1), days_to_expiry=300,
                           chain_trusted=True, hostname_match=True)


def test_drift_extra_on_the_wire_is_medium() -> None:
    target = _target("elbv2-listener", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    observed = Observation(
        target=target, status="ok",
        tls_versions={"SSLv3": False, "TLSv1.0": True, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True},
        cipher_suites={"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                   "TLS_RSA_WITH_AES_128_CBC_SHA"),
                       "TLSv1.0": ("TLS_RSA_WITH_AES_128_CBC_SHA",),
                       "TLSv1.3": ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")},
        certificates=(_cert("RSA"),),
    )
    findings = drift_findings(target, observed)
    got = {(f.rule, f.severity): f.evidence["items"] for f in findings}
    assert got[("drift.protocol", Severity.MEDIUM)] == ["TLSv1.0"]
    assert got[("drift.cipher", Severity.MEDIUM)] == ["TLS_RSA_WITH_AES_128_CBC_SHA"]
    assert ("drift.protocol", Severity.LOW) not in got
    assert ("drift.cipher", Severity.LOW) not in got  # ECDSA suites are not expected from an RSA certificate
    assert all(f.clause == "OP-POL-001 3.1.2.3" for f in findings)


def test_drift_declared_but_absent_is_low() -> None:
    target = _target("apigateway-domain", "TLS_1_2")
    observed = Observation(target=target, status="ok",
                           tls_versions={"TLSv1.0": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": False},
                           cipher_suites={"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",)},
                           certificates=(_cert("RSA"),))
    findings = drift_findings(target, observed)
    got = {(f.rule, f.severity): f.evidence["items"] for f in findings}
    assert got[("drift.protocol", Severity.LOW)] == ["TLSv1.3"]
    missing = got[("drift.cipher", Severity.LOW)]
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in missing
    assert not any("ECDSA" in s for s in missing) and not any(s.startswith("TLS_AES") for s in missing)
    assert ("drift.protocol", Severity.MEDIUM) not in got


def test_no_drift_for_errored_or_undeclared_or_untested() -> None:
    target = _target("apigateway-domain", "TLS_1_2")
    assert drift_findings(target, Observation(target=target, status="error")) == []
    assert drift_findings(_target("apigateway-domain", None),
                          Observation(target=target, status="ok", tls_versions={"TLSv1.0": True})) == []
    # SSLv3 declared (CloudFront SSLv3) but not tested by the scanner: not reported as absent
    cdn = _target("cloudfront-alias", "SSLv3")
    observed = Observation(target=cdn, status="ok",
                           tls_versions={"TLSv1.0": True, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True})
    assert drift_findings(cdn, observed) == []


def test_discovery_findings_combine_declared_and_drift() -> None:
    from probe.policy.declared import discovery_findings

    target = _target("elbv2-listener", "ELBSecurityPolicy-2016-08")
    unreachable = discovery_findings(target, Observation(target=target, status="error"), PROFILE, today=TODAY)
    assert unreachable and all(f.rule.startswith("declared.") for f in unreachable)
    observed = Observation(target=target, status="ok", tls_versions={"TLSv1.0": False, "TLSv1.1": False,
                                                                     "TLSv1.2": True, "TLSv1.3": True})
    rules = {f.rule for f in discovery_findings(target, observed, PROFILE, today=TODAY)}
    assert "drift.protocol" in rules and "declared.tls.protocol.deprecated" in rules
