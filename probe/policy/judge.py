"""Judgement of endpoints: findings after waivers, compliance, worst severity, fail-on checks. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from probe.models import EndpointResult, Observation, ResourceResult, Severity, Waiver
from probe.policy.compliance import compliant
from probe.policy.evaluate import evaluate
from probe.policy.profile import Profile
from probe.policy.waivers import apply_waivers

__all__ = ["exceeds", "judge", "worst_severity"]


def judge(
    observation: Observation, profile: Profile, waivers: Sequence[Waiver] = (), *, today: date
) -> EndpointResult:
    """EndpointResult with waived-or-not findings; compliant is None for an errored endpoint."""
    if observation.status == "error":
        return EndpointResult(observation=observation, findings=(), compliant=None)
    findings = apply_waivers(evaluate(observation, profile, today=today), observation.target, waivers, today=today)
    return EndpointResult(
        observation=observation, findings=findings, compliant=compliant(findings, profile.compliance_threshold)
    )


def worst_severity(results: Iterable[EndpointResult | ResourceResult]) -> Severity | None:
    """Highest severity among unwaived findings of all results (endpoints or resources); None when none."""
    worst: Severity | None = None
    for result in results:
        for finding in result.findings:
            if not finding.waived and (worst is None or finding.severity > worst):
                worst = finding.severity
    return worst


def exceeds(results: Iterable[EndpointResult | ResourceResult], fail_on: Severity) -> bool:
    """True when an unwaived finding is at or above `fail_on` (errored endpoints are the caller's call)."""
    worst = worst_severity(results)
    return worst is not None and worst >= fail_on
