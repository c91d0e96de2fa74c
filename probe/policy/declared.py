"""Declared TLS configuration judged: a listener's declared policy against the profile, without a connection,
and against what the scan saw on the wire (drift). Pure; the expansion of policy names is probe.discovery's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from probe.discovery.ciphers import suite_versions
from probe.discovery.declared import declared_policy_for, policy_family
from probe.discovery.models import DeclaredPolicy
from probe.discovery.pq_groups import declared_groups
from probe.models import TLS_VERSIONS, Finding, Observation, Severity, Target
from probe.policy import rule_ids as R
from probe.policy.evaluate import evaluate
from probe.policy.pq import pq_drift
from probe.policy.profile import Profile
from probe.policy.rules import RULES

__all__ = ["declared_observation", "discovery_findings", "drift_findings", "judge_declared"]


def declared_observation(target: Target, policies: Mapping[str, DeclaredPolicy] | None = None) -> Observation | None:
    """A synthetic Observation (engine "declared") of what the declaration allows; None if unknown."""
    policy = declared_policy_for(target, policies)
    if policy is None:
        return None
    suites: dict[str, list[str]] = {v: [] for v in policy.protocols}
    for suite in policy.ciphers:
        for version in suite_versions(suite, policy.protocols):
            suites[version].append(suite)
    return Observation(
        target=target, status="ok", engine="declared", connections=0,
        tls_versions={v: v in policy.protocols for v in TLS_VERSIONS},
        cipher_suites={v: tuple(s) for v, s in suites.items() if s},
        key_exchange_groups=policy.groups,
        notes=(f"declared policy {policy.name} ({policy.source})",),
    )


def judge_declared(target: Target, profile: Profile, *, today: date,
                   policies: Mapping[str, DeclaredPolicy] | None = None) -> list[Finding]:
    """Judge the declared configuration against a profile, without a connection.

    Runs probe.policy.evaluate on the synthetic observation and relabels each finding's rule as
    `declared.<rule>` with evidence {"declared_policy": name, "source": …}. A declared policy name that
    cannot be expanded yields one info finding `declared.unknown_policy`.
    """
    if not target.source.declared_policy or policy_family(target.source.kind) is None:
        return []
    policy = declared_policy_for(target, policies)
    observation = declared_observation(target, policies)
    if policy is None or observation is None:
        return [Finding(rule=R.DECLARED_UNKNOWN_POLICY, severity=profile.severity(R.DECLARED_UNKNOWN_POLICY),
                        clause=profile.clause(R.DECLARED_UNKNOWN_POLICY),
                        message=f"declared policy {target.source.declared_policy} is not known to tlsprobe",
                        evidence={"declared_policy": target.source.declared_policy})]
    findings = []
    for finding in evaluate(observation, profile, today=today):
        if f"declared.{finding.rule}" not in RULES:  # certificates and vulnerabilities are not declared
            continue
        evidence = {"declared_policy": policy.name, "source": policy.source, **finding.evidence}
        findings.append(finding.model_copy(update={
            "rule": f"declared.{finding.rule}", "message": f"declared {policy.name}: {finding.message}",
            "evidence": evidence}))
    return findings


def _auth_ok(suite: str, key_types: set[str]) -> bool:
    """Can a server with certificates of `key_types` negotiate this suite at all?"""
    if "_WITH_" not in suite:
        return True  # TLS 1.3: authentication is independent of the suite
    if "_ECDSA_" in suite:
        return "EC" in key_types
    if "_DSS_" in suite:
        return "DSA" in key_types
    if "_anon_" in suite.lower():
        return True
    return "RSA" in key_types


def _drift(rule: str, severity: Severity, message: str, items: list[str], policy: DeclaredPolicy,
           profile: Profile | None) -> Finding:
    clause = profile.clause(rule) if profile is not None else RULES[rule].clause
    return Finding(rule=rule, severity=severity, clause=clause, message=message,
                   evidence={"declared_policy": policy.name, "items": items})


def drift_findings(target: Target, observed: Observation, policies: Mapping[str, DeclaredPolicy] | None = None,
                   profile: Profile | None = None) -> list[Finding]:
    """Declared versus observed: `drift.protocol` / `drift.cipher`, medium for an extra on the wire,
    low for something declared but absent. Only what the scan tested is compared: versions present in
    `observed.tls_versions`; suites only when the scan listed suites, and declared suites only when the
    served certificates could negotiate them (no ECDSA suites without an EC certificate)."""
    policy = declared_policy_for(target, policies)
    if policy is None or observed.status != "ok":
        return []
    findings: list[Finding] = []
    extra_severity = profile.severity(R.DRIFT_PROTOCOL) if profile is not None else RULES[R.DRIFT_PROTOCOL].severity
    cipher_severity = profile.severity(R.DRIFT_CIPHER) if profile is not None else RULES[R.DRIFT_CIPHER].severity
    tested = [v for v in TLS_VERSIONS if v in observed.tls_versions]
    on_wire = {v for v in tested if observed.tls_versions[v]}
    extra_versions = [v for v in tested if v in on_wire and v not in policy.protocols]
    missing_versions = [v for v in tested if v not in on_wire and v in policy.protocols]
    if extra_versions:
        findings.append(_drift(R.DRIFT_PROTOCOL, extra_severity,
                               f"{', '.join(extra_versions)} accepted but not in declared {policy.name}",
                               extra_versions, policy, profile))
    if missing_versions:
        findings.append(_drift(R.DRIFT_PROTOCOL, Severity.LOW,
                               f"{', '.join(missing_versions)} declared by {policy.name} but not accepted",
                               missing_versions, policy, profile))
    findings += pq_drift(  # post-quantum groups: declared for TLS 1.3 (tables/pq-groups.csv) versus accepted
        declared_groups(policy), "TLSv1.3" in policy.protocols, observed, policy_name=policy.name,
        severity=profile.severity(R.DRIFT_PQ) if profile is not None else RULES[R.DRIFT_PQ].severity,
        clause=profile.clause(R.DRIFT_PQ) if profile is not None else RULES[R.DRIFT_PQ].clause)
    seen = {s for suites in observed.cipher_suites.values() for s in suites}
    if not seen:
        return findings
    declared = set(policy.ciphers)
    extra = sorted(seen - declared)
    key_types = {c.key_type.upper().replace("ECDSA", "EC") for c in observed.certificates}
    versions_seen = on_wire & set(policy.protocols)
    missing = sorted(s for s in declared - seen
                     if key_types and _auth_ok(s, key_types) and suite_versions(s, tuple(versions_seen)))
    if extra:
        findings.append(_drift(R.DRIFT_CIPHER, cipher_severity,
                               f"{len(extra)} suite(s) accepted but not in declared {policy.name}", extra, policy,
                               profile))
    if missing:
        findings.append(_drift(R.DRIFT_CIPHER, Severity.LOW,
                               f"{len(missing)} suite(s) declared by {policy.name} but not accepted", missing, policy,
                               profile))
    return findings


def discovery_findings(target: Target, observation: Observation | None, profile: Profile, *, today: date,
                       policies: Mapping[str, DeclaredPolicy] | None = None) -> list[Finding]:
    """What a sweep adds to an endpoint's scan findings: its declared findings (always, so an internal or
    unreachable endpoint is still judged) and, when the scan succeeded, drift between declaration and wire."""
    findings = judge_declared(target, profile, today=today, policies=policies)
    if observation is not None and observation.status == "ok":
        findings += drift_findings(target, observation, policies, profile)
    return findings
