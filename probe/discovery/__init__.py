"""Discovery: providers yield Targets (with their source and declared policy), posture items and errors.

Public API (the sweep builds on these):
    discover(options | provider) -> DiscoveryResult          run a provider to completion
    AwsProvider(AwsOptions), StaticProvider(targets)          providers (probe.discovery.base.Provider)
    judge_declared(target, profile, today=, policies=)        declared.* findings without a connection
    drift_findings(target, observation, policies=)            drift.protocol / drift.cipher
    posture_findings(item, profile, today=) / posture_result(item, profile)   acm.* / kms.* findings
"""

from __future__ import annotations

from probe.discovery.base import DiscoveryItem, Provider, StaticProvider, collect
from probe.discovery.declared import (
    declared_observation,
    declared_policy_for,
    discovery_findings,
    drift_findings,
    judge_declared,
)
from probe.discovery.models import (
    ALL_SERVICES,
    AcmCertificate,
    AwsOptions,
    DeclaredPolicy,
    DiscoveryResult,
    KmsKey,
    PostureItem,
    ScopeStatus,
)
from probe.discovery.posture import posture_findings, posture_observation, posture_result, posture_target

__all__ = [
    "ALL_SERVICES",
    "AcmCertificate",
    "AwsOptions",
    "DeclaredPolicy",
    "DiscoveryItem",
    "DiscoveryResult",
    "KmsKey",
    "PostureItem",
    "Provider",
    "ScopeStatus",
    "StaticProvider",
    "collect",
    "declared_observation",
    "declared_policy_for",
    "discover",
    "discovery_findings",
    "drift_findings",
    "judge_declared",
    "posture_findings",
    "posture_observation",
    "posture_result",
    "posture_target",
]


def discover(source: AwsOptions | Provider) -> DiscoveryResult:
    """Run discovery to completion: AWS for AwsOptions, or any Provider. InputError on unusable input."""
    if isinstance(source, AwsOptions):
        from probe.discovery.aws import AwsProvider  # boto3 is loaded only when AWS is asked for

        return collect(AwsProvider(source))
    return collect(source)
