"""The policy: bundled profiles, pure evaluation, waivers and the compliance judgement."""

from __future__ import annotations

from probe.policy.evaluate import evaluate
from probe.policy.judge import exceeds, judge, worst_severity
from probe.policy.profile import Profile, list_profiles, load_profile, parse_profile
from probe.policy.rule_ids import ALL_RULES
from probe.policy.suites import suite_traits
from probe.policy.waivers import apply_waivers, load_waivers

DEFAULT_PROFILE = "op-pol-001"

__all__ = [
    "ALL_RULES",
    "DEFAULT_PROFILE",
    "Profile",
    "apply_waivers",
    "evaluate",
    "exceeds",
    "judge",
    "list_profiles",
    "load_profile",
    "load_waivers",
    "parse_profile",
    "suite_traits",
    "worst_severity",
]
