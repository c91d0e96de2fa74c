"""Declared TLS configuration: expand policy names, judge them without a connection, compare with the wire.

A target's `source.declared_policy` names a policy of a *family* (elbv2, elb, apigateway, cloudfront),
found from its `source.kind`. Expansions come from the discovery run (`DiscoveryResult.policies`, e.g.
ELBv2's describe_ssl_policies) or from the bundled tables in tables/*.csv, each row naming its source page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from probe.discovery.ciphers import normalise_protocol, suite_versions, to_iana
from probe.discovery.models import DeclaredPolicy
from probe.models import TLS_VERSIONS, Finding, Observation, Severity, Target

__all__ = [
    "DRIFT_CLAUSE",
    "declared_observation",
    "declared_policy_for",
    "discovery_findings",
    "drift_findings",
    "expand_policy",
    "judge_declared",
    "policy_family",
    "policy_key",
    "table_policy",
]

DRIFT_CLAUSE = "OP-POL-001 3.1.2.3"
_TABLES = {
    "elbv2": "elbv2.csv", "elb": "classic-elb.csv", "apigateway": "apigateway.csv", "cloudfront": "cloudfront.csv",
}
_FAMILY_BY_KIND_PREFIX = (
    ("elbv2", "elbv2"), ("elb", "elb"), ("apigateway", "apigateway"), ("cloudfront", "cloudfront"),
)
# Scanner rules that say nothing about a declaration: no certificate, no vulnerability is declared.
_NOT_DECLARED_PREFIXES = ("cert.", "vuln.")


def policy_family(kind: str) -> str | None:
    """Policy family of a target kind ('elbv2-listener' -> 'elbv2'); None for kinds without a policy."""
    for prefix, family in _FAMILY_BY_KIND_PREFIX:
        if kind.startswith(prefix):
            return family
    return None


def policy_key(family: str, name: str, scope: str | None = None) -> str:
    """Key of an expanded policy in DiscoveryResult.policies: `family:name`, or `family@scope:name`
    for a policy that exists only on one resource (a classic ELB custom policy; scope = its ARN)."""
    return f"{family}@{scope}:{name}" if scope else f"{family}:{name}"


def expand_policy(family: str, name: str, protocols: Iterable[str], ciphers: Iterable[str],
                  source: str) -> DeclaredPolicy:
    """A DeclaredPolicy in the scanner's vocabulary from AWS's names (unknown names kept aside)."""
    versions = {v for p in protocols if (v := normalise_protocol(p))}
    suites: list[str] = []
    unknown: list[str] = []
    for raw in ciphers:
        iana = to_iana(raw)
        if iana is None:
            unknown.append(raw)
        elif iana not in suites:
            suites.append(iana)
    ordered = tuple(v for v in TLS_VERSIONS if v in versions)
    return DeclaredPolicy(family=family, name=name, protocols=ordered, ciphers=tuple(suites), source=source,
                          unknown_ciphers=tuple(unknown))


@cache
def _table(family: str) -> dict[str, DeclaredPolicy]:
    text = resources.files("probe.discovery").joinpath("tables", _TABLES[family]).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {
        row["policy"]: expand_policy(family, row["policy"], row["protocols"].split(";"),
                                     row["ciphers"].split(";"), row["source"])
        for row in rows
    }


def table_policy(family: str, name: str) -> DeclaredPolicy | None:
    """A bundled-table expansion; ELBv2 falls back to the classic table (same predefined names)."""
    for table in (family, "elb") if family == "elbv2" else (family,):
        found = _table(table).get(name) if table in _TABLES else None
        if found:
            return found.model_copy(update={"family": family})
    return None


def declared_policy_for(target: Target, policies: Mapping[str, DeclaredPolicy] | None = None) -> DeclaredPolicy | None:
    """The expanded declared policy of a target: resource-specific, then discovered, then bundled."""
    source = target.source
    family = policy_family(source.kind)
    if family is None or not source.declared_policy:
        return None
    known = policies or {}
    for key in (policy_key(family, source.declared_policy, source.arn), policy_key(family, source.declared_policy)):
        if key in known:
            return known[key]
    return table_policy(family, source.declared_policy)


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
        notes=(f"declared policy {policy.name} ({policy.source})",),
    )


def judge_declared(target: Target, profile: Any, *, today: date,
                   policies: Mapping[str, DeclaredPolicy] | None = None) -> list[Finding]:
    """Judge the declared configuration against a profile, without a connection.

    Runs probe.policy.evaluate on the synthetic observation and relabels each finding's rule as
    `declared.<rule>` with evidence {"declared_policy": name, "source": …}. A declared policy name that
    cannot be expanded yields one info finding `declared.unknown_policy`.
    """
    from probe.policy import evaluate  # the policy core; imported here to keep discovery importable alone

    if not target.source.declared_policy or policy_family(target.source.kind) is None:
        return []
    policy = declared_policy_for(target, policies)
    observation = declared_observation(target, policies)
    if policy is None or observation is None:
        return [Finding(rule="declared.unknown_policy", severity=Severity.INFO, clause=DRIFT_CLAUSE,
                        message=f"declared policy {target.source.declared_policy} is not known to tlsprobe",
                        evidence={"declared_policy": target.source.declared_policy})]
    findings = []
    for finding in evaluate(observation, profile, today=today):
        if finding.rule.startswith(_NOT_DECLARED_PREFIXES):
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


def _drift(rule: str, severity: Severity, message: str, items: list[str], policy: DeclaredPolicy) -> Finding:
    return Finding(rule=rule, severity=severity, clause=DRIFT_CLAUSE, message=message,
                   evidence={"declared_policy": policy.name, "items": items})


def drift_findings(target: Target, observed: Observation,
                   policies: Mapping[str, DeclaredPolicy] | None = None) -> list[Finding]:
    """Declared versus observed: `drift.protocol` / `drift.cipher`, medium for an extra on the wire,
    low for something declared but absent. Only what the scan tested is compared: versions present in
    `observed.tls_versions`; suites only when the scan listed suites, and declared suites only when the
    served certificates could negotiate them (no ECDSA suites without an EC certificate)."""
    policy = declared_policy_for(target, policies)
    if policy is None or observed.status != "ok":
        return []
    findings: list[Finding] = []
    tested = [v for v in TLS_VERSIONS if v in observed.tls_versions]
    on_wire = {v for v in tested if observed.tls_versions[v]}
    extra_versions = [v for v in tested if v in on_wire and v not in policy.protocols]
    missing_versions = [v for v in tested if v not in on_wire and v in policy.protocols]
    if extra_versions:
        findings.append(_drift("drift.protocol", Severity.MEDIUM,
                               f"{', '.join(extra_versions)} accepted but not in declared {policy.name}",
                               extra_versions, policy))
    if missing_versions:
        findings.append(_drift("drift.protocol", Severity.LOW,
                               f"{', '.join(missing_versions)} declared by {policy.name} but not accepted",
                               missing_versions, policy))
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
        findings.append(_drift("drift.cipher", Severity.MEDIUM,
                               f"{len(extra)} suite(s) accepted but not in declared {policy.name}", extra, policy))
    if missing:
        findings.append(_drift("drift.cipher", Severity.LOW,
                               f"{len(missing)} suite(s) declared by {policy.name} but not accepted", missing, policy))
    return findings


def discovery_findings(target: Target, observation: Observation | None, profile: Any, *, today: date,
                       policies: Mapping[str, DeclaredPolicy] | None = None) -> list[Finding]:
    """What a sweep adds to an endpoint's scan findings: its declared findings (always, so an internal or
    unreachable endpoint is still judged) and, when the scan succeeded, drift between declaration and wire."""
    findings = judge_declared(target, profile, today=today, policies=policies)
    if observation is not None and observation.status == "ok":
        findings += drift_findings(target, observation, policies)
    return findings
