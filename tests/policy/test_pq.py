"""Post-quantum rules: info "beyond OP-POL-001" in op-pol-001, required in pq-ready; drift against the declared
groups of AWS policies (tables/pq-groups.csv); the pq-ready profile is op-pol-001 plus the PQ settings."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from probe.discovery.declared import table_policy
from probe.discovery.models import DeclaredPolicy
from probe.discovery.pq_groups import declared_groups, declared_groups_source
from probe.models import PostQuantum, Severity, Target, TargetSource
from probe.policy import judge, load_profile
from probe.policy import rule_ids as R
from probe.policy.declared import drift_findings
from probe.policy.pq import HYBRID_GROUPS
from probe.policy.rules import RULES
from tests.policy.factories import TODAY, observation, versions

OP = load_profile("op-pol-001")
PQ_READY = load_profile("pq-ready")

DEFAULT = PostQuantum(supported=("X25519MLKEM768",), negotiated="X25519MLKEM768", hrr_upgrade=True)
NONE = PostQuantum(supported=(), negotiated="X25519")
P256_ONLY = PostQuantum(supported=("SecP256r1MLKEM768", "SecP384r1MLKEM1024"), negotiated="X25519")
KYBER = PostQuantum(supported=("X25519Kyber768Draft00",), negotiated="X25519")


def pq_rules(pq: PostQuantum | None, profile=OP, **overrides: object) -> list[tuple[str, Severity, str]]:  # type: ignore[no-untyped-def]
    result = judge(observation(pq=pq, **overrides), profile, today=TODAY)
    return sorted((f.rule, f.severity, f.clause) for f in result.findings if f.rule.startswith("tls.kex.pq"))


BEYOND = "beyond OP-POL-001"


def test_op_pol_001_reports_pq_as_info_beyond_the_policy() -> None:
    assert pq_rules(DEFAULT) == []
    assert pq_rules(NONE) == [(R.KEX_PQ_ABSENT, Severity.INFO, BEYOND)]
    assert pq_rules(P256_ONLY) == [(R.KEX_PQ_NOT_PREFERRED, Severity.INFO, BEYOND)]
    assert pq_rules(KYBER) == [(R.KEX_PQ_ABSENT, Severity.INFO, BEYOND), (R.KEX_PQ_OBSOLETE, Severity.INFO, BEYOND)]
    result = judge(observation(pq=NONE), OP, today=TODAY)
    assert result.compliant is True  # info never decides compliance


def test_pq_ready_requires_a_hybrid_group() -> None:
    clause = "pq-ready: hybrid post-quantum key exchange required"
    assert pq_rules(NONE, PQ_READY) == [(R.KEX_PQ_ABSENT, Severity.HIGH, clause)]
    assert judge(observation(pq=NONE), PQ_READY, today=TODAY).compliant is False
    assert judge(observation(pq=DEFAULT), PQ_READY, today=TODAY).compliant is True
    assert [r[:2] for r in pq_rules(P256_ONLY, PQ_READY)] == [(R.KEX_PQ_NOT_PREFERRED, Severity.MEDIUM)]
    assert [r[:2] for r in pq_rules(KYBER, PQ_READY)] == [(R.KEX_PQ_ABSENT, Severity.HIGH),
                                                         (R.KEX_PQ_OBSOLETE, Severity.MEDIUM)]


def test_a_tls12_only_endpoint_fails_pq_ready_and_an_unprobed_one_is_not_judged() -> None:
    tls12 = {"tls_versions": versions("TLSv1.2"),
             "cipher_suites": {"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",)}}
    [(rule, severity, _)] = pq_rules(None, PQ_READY, **tls12)
    assert (rule, severity) == (R.KEX_PQ_ABSENT, Severity.HIGH)
    assert pq_rules(None, PQ_READY) == []  # TLS 1.3 accepted but not probed (the sslyze engine): no verdict
    undecided = PostQuantum(undecided=("X25519MLKEM768",), negotiated=None)
    assert pq_rules(undecided, PQ_READY) == []  # an undecided hybrid is no proof of absence


def test_pq_ready_is_op_pol_001_plus_the_pq_settings() -> None:
    assert PQ_READY.slug == "pq-ready" and PQ_READY.id == "PQ-READY"
    keep = {"id", "slug", "name", "description", "pq", "rules"}
    assert PQ_READY.model_dump(exclude=keep) == OP.model_dump(exclude=keep)
    for rule, text in OP.rules.items():
        if rule not in PQ_READY.rules or not rule.startswith(("tls.kex.pq", "drift.pq")):
            assert PQ_READY.rules[rule] == text
    assert set(R.PQ_RULES) <= set(PQ_READY.active_rules()) and set(R.PQ_RULES) <= set(OP.active_rules())
    assert not set(R.PQ_RULES) & set(load_profile("mozilla-modern").active_rules())


def test_the_rule_table_has_the_pq_rules_but_no_declared_twins() -> None:
    for rule in (*R.PQ_RULES, R.DRIFT_PQ):
        assert rule in RULES
        assert f"declared.{rule}" not in RULES
        assert OP.clause(rule) == BEYOND


def _target(kind: str, policy: str) -> Target:
    return Target(host="alb.example.test", port=443, ip="127.0.0.1",
                  source=TargetSource(provider="aws", kind=kind, declared_policy=policy))


def test_the_pq_table_cites_a_source_per_row_and_names_only_known_groups() -> None:
    text = resources.files("probe.discovery").joinpath("tables", "pq-groups.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows and all(row["source"].startswith("https://docs.aws.amazon.com/") for row in rows)
    assert all(set(row["groups"].split(";")) <= set(HYBRID_GROUPS) for row in rows)
    families = {row["family"] for row in rows}
    assert families == {"elbv2", "apigateway", "cloudfront"}  # API Gateway v2 has no PQ policy
    elb_pq = {row["policy"] for row in rows if row["family"] == "elbv2"}
    assert all("-PQ-" in name for name in elb_pq)
    assert "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09" in elb_pq  # a PQ policy that still allows TLS 1.0


def test_declared_groups() -> None:
    pq = table_policy("elbv2", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")
    classical = table_policy("elbv2", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    cdn = table_policy("cloudfront", "TLSv1.2_2021")
    assert pq is not None and classical is not None and cdn is not None
    assert declared_groups(pq) == ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
    assert declared_groups(classical) == ()
    assert declared_groups(cdn) == ("X25519MLKEM768", "SecP256r1MLKEM768")
    assert declared_groups_source(cdn) == cdn.source
    apigw = DeclaredPolicy(family="apigateway", name="SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", protocols=("TLSv1.3",),
                           ciphers=(), source="x")
    assert "X25519MLKEM768" in declared_groups(apigw)


@pytest.mark.parametrize("profile,severity", [(OP, Severity.LOW), (PQ_READY, Severity.MEDIUM)])
def test_drift_pq_declared_but_not_observed_and_observed_but_not_declared(profile, severity) -> None:  # type: ignore[no-untyped-def]
    declared_pq = _target("elbv2-listener", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")
    observed = observation(target=declared_pq, pq=NONE)
    drift = [f for f in drift_findings(declared_pq, observed, profile=profile) if f.rule == R.DRIFT_PQ]
    assert [(f.severity, f.evidence["items"]) for f in drift] == [
        (severity, ["X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"])]
    assert drift[0].clause == profile.clause(R.DRIFT_PQ)
    matching = observation(target=declared_pq, pq=PostQuantum(
        supported=("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"), negotiated="X25519MLKEM768"))
    assert not [f for f in drift_findings(declared_pq, matching, profile=profile) if f.rule == R.DRIFT_PQ]
    classical = _target("elbv2-listener", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    extra = [f for f in drift_findings(classical, observation(target=classical, pq=DEFAULT), profile=profile)
             if f.rule == R.DRIFT_PQ]
    assert [(f.severity, f.evidence["items"]) for f in extra] == [(Severity.INFO, ["X25519MLKEM768"])]
    unprobed = observation(target=declared_pq, pq=None)
    assert not [f for f in drift_findings(declared_pq, unprobed, profile=profile) if f.rule == R.DRIFT_PQ]
