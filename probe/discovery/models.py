"""Typed values of discovery: options, posture items, declared policies and the collected result."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from probe.models import DiscoveryError, Frozen, Resource, Target

__all__ = [
    "AcmCertificate",
    "AwsOptions",
    "DeclaredPolicy",
    "DiscoveryResult",
    "KmsKey",
    "PostureItem",
    "ScopeStatus",
]

ALL_SERVICES: tuple[str, ...] = ("elbv2", "elb", "apigateway", "apigatewayv2", "cloudfront", "acm", "kms")


class AwsOptions(Frozen):
    """How to reach AWS: which credentials, accounts, regions and services, and how hard to push."""

    profile: str | None = Field(default=None, description="boto3 profile (--aws-profile)")
    role_arns: tuple[str, ...] = Field(default=(), description="roles to assume, one account each (--role-arn)")
    external_id: str | None = None
    org_role: str | None = Field(default=None, description="role name assumed in every organisation account")
    regions: tuple[str, ...] = Field(default=(), description='region names, ("all",) for every enabled region, '
                                     "() for the session's default region")
    endpoint_url: str | None = Field(default=None, description="every client talks to this URL (an emulator)")
    services: tuple[str, ...] = ALL_SERVICES
    max_workers: int = Field(default=32, ge=1, le=256)
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    session_name: str = "tlsprobe-discovery"


class AcmCertificate(Frozen):
    """An ACM certificate as inventoried (posture item)."""

    item: Literal["acm-certificate"] = "acm-certificate"
    account: str
    region: str
    arn: str
    domain_name: str | None = None
    key_algorithm: str | None = Field(default=None, description="ACM's name, e.g. RSA_2048, EC_prime256v1")
    type: str | None = Field(default=None, description="AMAZON_ISSUED, IMPORTED or PRIVATE")
    status: str | None = None
    not_after: datetime | None = None
    renewal_eligibility: str | None = None
    in_use_by: tuple[str, ...] = ()

    def resource(self) -> Resource:
        """This certificate as a report's resource: its ARN, its domain as the name, the rest as attributes."""
        return Resource(provider="aws", kind=self.item, id=self.arn, name=self.domain_name, account=self.account,
                        region=self.region, attributes=self.model_dump(
                            mode="json", exclude={"item", "account", "region", "arn", "domain_name"}))


class KmsKey(Frozen):
    """A customer-managed KMS key as inventoried (posture item)."""

    item: Literal["kms-key"] = "kms-key"
    account: str
    region: str
    arn: str
    key_id: str
    key_spec: str | None = None
    key_usage: str | None = None
    key_state: str | None = None
    origin: str | None = None
    rotation_enabled: bool | None = Field(default=None, description="None when rotation does not apply or is unknown")
    multi_region: bool = False
    multi_region_type: str | None = Field(default=None, description="PRIMARY or REPLICA")
    replica_regions: tuple[str, ...] = ()

    def resource(self) -> Resource:
        """This key as a report's resource: its ARN, its key id as the name, the rest as attributes."""
        return Resource(provider="aws", kind=self.item, id=self.arn, name=self.key_id, account=self.account,
                        region=self.region, attributes=self.model_dump(
                            mode="json", exclude={"item", "account", "region", "arn", "key_id"}))


PostureItem = AcmCertificate | KmsKey


class DeclaredPolicy(Frozen):
    """A declared TLS policy expanded to the scanner's vocabulary (TLSv1.0 …, IANA suite names)."""

    family: str = Field(description="elbv2, elb, apigateway or cloudfront")
    name: str
    protocols: tuple[str, ...]
    ciphers: tuple[str, ...]
    source: str = Field(description="documentation URL of the bundled table, or the API call it came from")
    unknown_ciphers: tuple[str, ...] = Field(default=(), description="declared names with no IANA mapping")


class ScopeStatus(Frozen):
    """One account/region/service unit of discovery and how it ended: an empty 'ok' is really empty."""

    provider: str = "aws"
    account: str | None
    region: str | None
    service: str
    status: Literal["ok", "error"]
    targets: int = 0
    posture: int = 0
    errors: int = 0


class DiscoveryResult(Frozen):
    """Everything a discovery run found, and everything it could not look at."""

    targets: tuple[Target, ...] = ()
    posture: tuple[AcmCertificate | KmsKey, ...] = ()
    errors: tuple[DiscoveryError, ...] = ()
    scopes: tuple[ScopeStatus, ...] = ()
    policies: dict[str, DeclaredPolicy] = Field(
        default_factory=dict, description="declared policies expanded from provider APIs, by policy key"
    )
