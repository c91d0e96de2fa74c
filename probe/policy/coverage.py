"""The coverage matrix: one row per clause of the policy, clause by clause what a run checked. Pure.

Generated from two lists and a run's results: the clauses the profile carries (`Profile.clauses`, for
op-pol-001 OP-POL-001's headings), the rule table (`probe.policy.rules.RULES`, each rule's clause as the profile
gives it) and the judged endpoints and resources. Each row says which rules enforce the clause, how many endpoints
and resources those rules were judged on, how many passed and failed (an unwaived finding at or above the
profile's compliance threshold fails), and what tlsprobe cannot check of the clause, and why.

What a rule was judged on: a resource judged by probe.policy.aws_posture lists its `checked_rules`; any other
resource counts for the rules of its family (`acm.*` for acm-certificate, `kms.*` for kms-key, `azure.*`,
`gcp.*`); an endpoint counts for the scanner's rules when it was scanned (`http.hsts.*` when its HTTP answer was
read), for `declared.*` when it has a declared policy and for `drift.*` when it has both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from probe.models import EndpointResult, Finding, ResourceResult, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import PolicyClause, Profile
from probe.policy.rules import RULES

__all__ = ["ClauseStatus", "Counts", "Coverage", "CoverageRow", "clause_rules", "compute_coverage"]

NO_RULE = "no rule of tlsprobe enforces this clause"
_NUMBERED = re.compile(r"^\d+(\.\d+)*$")


class ClauseStatus(StrEnum):
    PASSED = "passed"  # checked, nothing failed
    FAILED = "failed"  # at least one endpoint or resource failed it
    NOT_SEEN = "not seen"  # rules exist, nothing in this run they apply to
    NOT_CHECKED = "not checked by tlsprobe"  # no rule enforces it


@dataclass(frozen=True)
class Counts:
    checked: int = 0
    passed: int = 0
    failed: int = 0

    def label(self) -> str:
        return f"{self.checked}/{self.passed}/{self.failed}" if self.checked else "-"


@dataclass(frozen=True)
class CoverageRow:
    clause: str  # the clause's number, e.g. "3.2.1.2"
    title: str
    rules: tuple[str, ...]
    endpoints: Counts
    resources: Counts
    findings: int  # unwaived findings of these rules, any severity
    not_checked: str | None  # what tlsprobe cannot check of the clause, and why

    @property
    def status(self) -> ClauseStatus:
        if not self.rules:
            return ClauseStatus.NOT_CHECKED
        if self.endpoints.failed or self.resources.failed:
            return ClauseStatus.FAILED
        if self.endpoints.checked or self.resources.checked:
            return ClauseStatus.PASSED
        return ClauseStatus.NOT_SEEN


@dataclass(frozen=True)
class Coverage:
    policy: str  # the policy id, e.g. OP-POL-001
    profile: str
    rows: tuple[CoverageRow, ...]
    unlisted: tuple[str, ...] = ()  # rules naming a numbered clause the profile does not list (a gap to fix)
    beyond: dict[str, tuple[str, ...]] = field(default_factory=dict)  # clause text that is no clause -> rules

    def count(self, status: ClauseStatus) -> int:
        return sum(row.status == status for row in self.rows)


def _clause_id(profile: Profile, clause: str) -> str:
    prefix = f"{profile.id} "
    return clause[len(prefix):] if clause.startswith(prefix) else clause


def _active(profile: Profile) -> set[str]:
    """The rule table's rules this profile can emit: a scanner rule it turns off (and that rule's declared twin)
    is left out."""
    scanner_off = set(R.ALL_RULES) - set(profile.active_rules())
    return {rule for rule in RULES if rule not in scanner_off and rule.removeprefix("declared.") not in scanner_off}


def clause_rules(profile: Profile) -> dict[str, tuple[str, ...]]:
    """Clause number -> the rules (of the table, active in the profile) that enforce it, by the profile's clauses."""
    found: dict[str, list[str]] = {}
    for rule in sorted(_active(profile)):
        found.setdefault(_clause_id(profile, profile.clause(rule)), []).append(rule)
    return {clause: tuple(rules) for clause, rules in found.items()}


def _endpoint_checks(result: EndpointResult, rule: str) -> bool:
    observation = result.observation
    declared = bool(observation.target.source.declared_policy)
    if rule.startswith("declared."):
        return declared
    if rule.startswith("drift."):
        return declared and observation.status == "ok"
    if rule.startswith("http."):
        return observation.status == "ok" and getattr(observation, "http", None) is not None
    return rule in R.ALL_RULES and observation.status == "ok"


def _resource_checks(result: ResourceResult, rule: str) -> bool:
    listed = result.resource.attributes.get("checked_rules")
    if isinstance(listed, list):
        return rule in listed
    return rule.split(".", 1)[0] == result.resource.kind.split("-", 1)[0]


def _failing(findings: Iterable[Finding], rules: set[str], threshold: Severity) -> tuple[int, bool]:
    live = [f for f in findings if f.rule in rules and not f.waived]
    return len(live), any(f.severity >= threshold for f in live)


def _counts(results: Sequence[EndpointResult] | Sequence[ResourceResult], rules: set[str],
            threshold: Severity) -> tuple[Counts, int]:
    checked = passed = failed = findings = 0
    for result in results:
        number, fails = _failing(result.findings, rules, threshold)
        judged = number > 0 or any(
            _endpoint_checks(result, rule) if isinstance(result, EndpointResult) else _resource_checks(result, rule)
            for rule in rules)
        if not judged:
            continue
        checked += 1
        findings += number
        failed += fails
        passed += not fails
    return Counts(checked, passed, failed), findings


def _row(clause: PolicyClause, rules: tuple[str, ...], endpoints: Sequence[EndpointResult],
         resources: Sequence[ResourceResult], threshold: Severity) -> CoverageRow:
    wanted = set(rules)
    endpoint_counts, endpoint_findings = _counts(endpoints, wanted, threshold)
    resource_counts, resource_findings = _counts(resources, wanted, threshold)
    note = clause.not_checked or (None if rules else NO_RULE)
    return CoverageRow(clause=clause.id, title=clause.title, rules=rules, endpoints=endpoint_counts,
                       resources=resource_counts, findings=endpoint_findings + resource_findings, not_checked=note)


def compute_coverage(profile: Profile, endpoints: Iterable[EndpointResult] = (),
                     resources: Iterable[ResourceResult] = ()) -> Coverage:
    """The coverage matrix of a run judged against `profile`: a row for each of the profile's clauses, in its order."""
    by_clause = clause_rules(profile)
    endpoint_list, resource_list = list(endpoints), list(resources)
    rows = tuple(_row(clause, by_clause.get(clause.id, ()), endpoint_list, resource_list,
                      profile.compliance_threshold) for clause in profile.clauses)
    listed = {clause.id for clause in profile.clauses}
    other = {clause: rules for clause, rules in by_clause.items() if clause not in listed}
    unlisted = tuple(sorted(rule for clause, rules in other.items() if _NUMBERED.match(clause) for rule in rules))
    beyond = {clause: rules for clause, rules in sorted(other.items()) if not _NUMBERED.match(clause)}
    return Coverage(policy=profile.id, profile=profile.slug, rows=rows, unlisted=unlisted, beyond=beyond)
