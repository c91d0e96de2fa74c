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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain

from probe.models import EndpointResult, ResourceResult
from probe.policy import rule_ids as R
from probe.policy.profile import Profile
from probe.policy.rules import RULES

__all__ = ["ClauseStatus", "Counts", "Coverage", "CoverageCounter", "CoverageRow", "clause_rules", "compute_coverage"]

Result = EndpointResult | ResourceResult

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


def _judged_on(result: EndpointResult | ResourceResult, rule: str) -> bool:
    if isinstance(result, EndpointResult):
        return _endpoint_checks(result, rule)
    return _resource_checks(result, rule)


@dataclass
class _Tally:
    checked: int = 0
    passed: int = 0
    failed: int = 0

    def counts(self) -> Counts:
        return Counts(self.checked, self.passed, self.failed)


class CoverageCounter:
    """The coverage matrix counted one result at a time (a stream of any length, each result seen once)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        by_clause = clause_rules(profile)
        self._rules = [(clause, by_clause.get(clause.id, ())) for clause in profile.clauses]
        self._sets = [set(rules) for _, rules in self._rules]
        self._tallies = [(_Tally(), _Tally()) for _ in self._rules]  # (endpoints, resources) per clause
        self._findings = [0] * len(self._rules)
        listed = {clause.id for clause in profile.clauses}
        other = {clause: rules for clause, rules in by_clause.items() if clause not in listed}
        self._unlisted = tuple(sorted(rule for clause, rules in other.items() if _NUMBERED.match(clause)
                                      for rule in rules))
        self._beyond = {clause: rules for clause, rules in sorted(other.items()) if not _NUMBERED.match(clause)}

    def add(self, result: EndpointResult | ResourceResult) -> None:
        threshold = self.profile.compliance_threshold
        live = [f for f in result.findings if not f.waived]
        for index, rules in enumerate(self._sets):
            if not rules:
                continue
            mine = [f for f in live if f.rule in rules]
            if not mine and not any(_judged_on(result, rule) for rule in rules):
                continue
            tally = self._tallies[index][0 if isinstance(result, EndpointResult) else 1]
            tally.checked += 1
            self._findings[index] += len(mine)
            if any(f.severity >= threshold for f in mine):
                tally.failed += 1
            else:
                tally.passed += 1

    def watch(self, results: Iterable[Result]) -> Iterator[Result]:
        """The results, passed through and counted."""
        for result in results:
            self.add(result)
            yield result

    def coverage(self) -> Coverage:
        rows = tuple(
            CoverageRow(clause=clause.id, title=clause.title, rules=rules, endpoints=tallies[0].counts(),
                        resources=tallies[1].counts(), findings=findings,
                        not_checked=clause.not_checked or (None if rules else NO_RULE))
            for (clause, rules), tallies, findings in zip(self._rules, self._tallies, self._findings, strict=True))
        return Coverage(policy=self.profile.id, profile=self.profile.slug, rows=rows, unlisted=self._unlisted,
                        beyond=self._beyond)


def compute_coverage(profile: Profile, endpoints: Iterable[EndpointResult] = (),
                     resources: Iterable[ResourceResult] = ()) -> Coverage:
    """The coverage matrix of a run judged against `profile`: a row for each of the profile's clauses, in its order."""
    counter = CoverageCounter(profile)
    results: Iterable[Result] = chain(endpoints, resources)
    for result in results:
        counter.add(result)
    return counter.coverage()
