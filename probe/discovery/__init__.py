"""Discovery: providers yield Targets (with their source and declared policy), posture items and errors.

Public API (the sweep builds on these):
    discover(options | provider) -> DiscoveryResult          run a provider to completion
    AwsProvider(AwsOptions), StaticProvider(targets)          providers (probe.discovery.base.Provider)
    declared_policy_for(target, policies)                     a listener's declared policy, expanded
Judging what discovery finds (declared, drift, ACM/KMS posture) is probe.policy's.
"""

from __future__ import annotations

from probe.discovery.base import DiscoveryItem, Provider, StaticProvider, collect
from probe.discovery.declared import declared_policy_for
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
    "declared_policy_for",
    "discover",
]


def discover(source: AwsOptions | Provider) -> DiscoveryResult:
    """Run discovery to completion: AWS for AwsOptions, or any Provider. InputError on unusable input."""
    if isinstance(source, AwsOptions):
        from probe.discovery.aws import AwsProvider  # boto3 is loaded only when AWS is asked for

        return collect(AwsProvider(source))
    return collect(source)
