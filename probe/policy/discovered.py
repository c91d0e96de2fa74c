"""Judging discovered endpoints: scan findings plus what their declaration says (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from probe.models import EndpointResult, Observation, Waiver
from probe.policy.compliance import compliant
from probe.policy.declared import discovery_findings
from probe.policy.judge import judge
from probe.policy.profile import Profile
from probe.policy.waivers import apply_waivers


def judge_discovered(
    observation: Observation,
    profile: Profile,
    waivers: Sequence[Waiver] = (),
    *,
    today: date,
    policies: Mapping[str, Any] | None = None,
) -> EndpointResult:
    """The endpoint's scan judgement with its declared and drift findings added.

    An endpoint the scan could not reach (an internal load balancer, say) is still judged on its
    declared configuration: compliant is then true or false, and null only when nothing is declared.
    """
    base = judge(observation, profile, waivers, today=today)
    target = observation.target
    if target.source.provider == "static":
        return base
    extra = discovery_findings(
        target, observation if observation.status == "ok" else None, profile, today=today, policies=policies
    )
    if not extra:
        return base
    findings = base.findings + apply_waivers(extra, target, waivers, today=today)
    return EndpointResult(
        observation=observation, findings=findings, compliant=compliant(findings, profile.compliance_threshold)
    )
