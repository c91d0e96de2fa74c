"""Typed values of discovery: options, posture items, declared policies and the collected result."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from probe.discovery.posture_models import AWS_POSTURE_TYPES, AwsResourceItem, KmsKeyIndex
from probe.models import DiscoveryError, Frozen, Resource, Target

__all__ = [
    "AZURE_SERVICES",
    "GCP_SERVICES",
    "POSTURE_TYPES",
    "AcmCertificate",
    "AwsOptions",
    "AzureOptions",
    "CloudKmsKey",
    "DeclaredPolicy",
    "DiscoveryResult",
    "GcpOptions",
    "GcpSslCertificate",
    "KeyVault",
    "KeyVaultKey",
    "KmsKey",
    "PostureItem",
    "ResourceItem",
    "ScopeStatus",
]

ALL_SERVICES: tuple[str, ...] = ("elbv2", "elb", "apigateway", "apigatewayv2", "cloudfront", "acm", "kms",
                                 # the encryption posture of the estate (probe/discovery/aws/posture.py)
                                 "s3", "ebs", "rds", "efs", "backup", "secretsmanager", "ssm", "cloudtrail")
AZURE_SERVICES: tuple[str, ...] = ("applicationgateway", "frontdoor", "frontdoor-classic", "apimanagement", "keyvault")
GCP_SERVICES: tuple[str, ...] = ("compute", "kms")


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
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    deletion_date: datetime | None = None
    policy: str | None = Field(default=None, description="the key policy document (JSON text), read for the judge")
    unread: tuple[str, ...] = Field(default=(), description="facts that could not be read (see discovery errors)")

    def resource(self) -> Resource:
        """This key as a report's resource: its ARN, its key id as the name, the rest as attributes."""
        return Resource(provider="aws", kind=self.item, id=self.arn, name=self.key_id, account=self.account,
                        region=self.region, attributes=self.model_dump(
                            mode="json", exclude={"item", "account", "region", "arn", "key_id", "policy"}))


class _CloudOptions(Frozen):
    """What Azure and GCP discovery share: where the API is (an emulator, trusted with `ca_file`), how hard to push."""

    endpoint: str | None = Field(default=None, description="API base URL instead of the cloud's (--azure-endpoint, "
                                 "--gcp-endpoint); implies a static token or anonymous credentials")
    ca_file: str | None = Field(default=None, description="PEM bundle trusted for the API (--cloud-ca-file)")
    max_workers: int = Field(default=16, ge=1, le=256)
    max_attempts: int = Field(default=4, ge=1, le=20, description="tries of a throttled call (Retry-After honoured)")
    max_retry_after: float = Field(default=30.0, ge=0, description="longest Retry-After waited for, in seconds")
    timeout: float = Field(default=30.0, gt=0)


class AzureOptions(_CloudOptions):
    """How to reach Azure: which subscriptions and services."""

    subscriptions: tuple[str, ...] = Field(default=(), description="--azure-subscription; () = every visible one")
    services: tuple[str, ...] = AZURE_SERVICES


class GcpOptions(_CloudOptions):
    """How to reach Google Cloud: which projects and services."""

    projects: tuple[str, ...] = Field(default=(), description="--gcp-project; () = every visible project")
    services: tuple[str, ...] = GCP_SERVICES


class KeyVault(Frozen):
    """An Azure Key Vault as inventoried through the management plane (posture item)."""

    item: Literal["azure-key-vault"] = "azure-key-vault"
    subscription: str
    location: str | None = None
    id: str = Field(description="the vault's ARM resource id")
    name: str
    sku: str | None = None
    soft_delete: bool | None = Field(default=None, description="enableSoftDelete; None when the API did not say")
    soft_delete_retention_days: int | None = None
    purge_protection: bool = Field(default=False, description="enablePurgeProtection (absent means off)")
    rbac_authorization: bool | None = None
    public_network_access: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    def resource(self) -> Resource:
        return Resource(provider="azure", kind=self.item, id=self.id, name=self.name, account=self.subscription,
                        region=self.location, attributes=self.model_dump(
                            mode="json", exclude={"item", "subscription", "location", "id", "name"}))


class KeyVaultKey(Frozen):
    """A key in an Azure Key Vault, read through the management plane (posture item)."""

    item: Literal["azure-key-vault-key"] = "azure-key-vault-key"
    subscription: str
    location: str | None = None
    id: str = Field(description="the key's ARM resource id")
    name: str
    vault: str
    key_type: str | None = Field(default=None, description="kty: RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM")
    key_size: int | None = None
    curve: str | None = Field(default=None, description="P-256, P-384, P-521, P-256K")
    enabled: bool | None = None
    expires: datetime | None = None
    rotation_enabled: bool = Field(default=False, description="the rotation policy has a Rotate lifetime action")
    rotation_interval_days: int | None = Field(default=None, description="days between automatic rotations, "
                                               "from timeAfterCreate or from the expiry and timeBeforeExpiry")
    rotation_policy_expiry: str | None = Field(default=None, description="expiryTime of new versions (ISO 8601)")
    tags: dict[str, str] = Field(default_factory=dict)

    def resource(self) -> Resource:
        return Resource(provider="azure", kind=self.item, id=self.id, name=f"{self.vault}/{self.name}",
                        account=self.subscription, region=self.location, attributes=self.model_dump(
                            mode="json", exclude={"item", "subscription", "location", "id", "name"}))


class CloudKmsKey(Frozen):
    """A Cloud KMS crypto key (posture item)."""

    item: Literal["gcp-kms-key"] = "gcp-kms-key"
    project: str
    location: str
    id: str = Field(description="projects/P/locations/L/keyRings/R/cryptoKeys/K")
    purpose: str | None = Field(default=None, description="ENCRYPT_DECRYPT, ASYMMETRIC_SIGN, ASYMMETRIC_DECRYPT, MAC")
    algorithm: str | None = Field(default=None, description="GOOGLE_SYMMETRIC_ENCRYPTION, RSA_SIGN_PSS_2048_SHA256 ...")
    protection_level: str | None = Field(default=None, description="SOFTWARE, HSM, EXTERNAL, EXTERNAL_VPC")
    rotation_period_days: float | None = Field(default=None, description="None: no automatic rotation")
    next_rotation_time: datetime | None = None
    primary_state: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    def resource(self) -> Resource:
        return Resource(provider="gcp", kind=self.item, id=self.id, name=self.id.rsplit("/", 1)[-1],
                        account=self.project, region=self.location, attributes=self.model_dump(
                            mode="json", exclude={"item", "project", "location", "id"}))


class GcpSslCertificate(Frozen):
    """A Compute Engine SSL certificate resource, global or regional (posture item)."""

    item: Literal["gcp-ssl-certificate"] = "gcp-ssl-certificate"
    project: str
    region: str = "global"
    id: str = Field(description="the selfLink's path: projects/P/(global|regions/R)/sslCertificates/NAME")
    name: str
    type: str | None = Field(default=None, description="SELF_MANAGED or MANAGED")
    domains: tuple[str, ...] = ()
    key_type: str | None = Field(default=None, description="RSA or EC, read from the certificate")
    key_bits: int | None = None
    not_after: datetime | None = None
    in_use_by: tuple[str, ...] = ()

    def resource(self) -> Resource:
        return Resource(provider="gcp", kind=self.item, id=self.id, name=self.name, account=self.project,
                        region=self.region, attributes=self.model_dump(
                            mode="json", exclude={"item", "project", "region", "id", "name"}))


# What a report shows as a resource (`.resource()`), and what discovery yields besides targets: those and
# KmsKeyIndex, which tells the judge whose key a resource uses.
ResourceItem = AcmCertificate | KmsKey | KeyVault | KeyVaultKey | CloudKmsKey | GcpSslCertificate | AwsResourceItem
PostureItem = ResourceItem | KmsKeyIndex
POSTURE_TYPES = (AcmCertificate, KmsKey, KeyVault, KeyVaultKey, CloudKmsKey, GcpSslCertificate, *AWS_POSTURE_TYPES)


class DeclaredPolicy(Frozen):
    """A declared TLS policy expanded to the scanner's vocabulary (TLSv1.0 …, IANA suite names)."""

    family: str = Field(description="elbv2, elb, apigateway, cloudfront, or an Azure/GCP family (azure-appgw ...)")
    name: str
    protocols: tuple[str, ...]
    ciphers: tuple[str, ...]
    source: str = Field(description="documentation URL of the bundled table, or the API call it came from")
    unknown_ciphers: tuple[str, ...] = Field(default=(), description="declared names with no IANA mapping")
    groups: tuple[str, ...] = Field(default=(), description="declared key-exchange groups, where the API has them")


class ScopeStatus(Frozen):
    """One account/region/service unit of discovery and how it ended: an empty 'ok' is really empty."""

    provider: str = "aws"
    account: str | None = Field(description="AWS account, Azure subscription or GCP project")
    region: str | None
    service: str
    status: Literal["ok", "error"]
    targets: int = 0
    posture: int = 0
    errors: int = 0


class DiscoveryResult(Frozen):
    """Everything a discovery run found, and everything it could not look at."""

    targets: tuple[Target, ...] = ()
    posture: tuple[PostureItem, ...] = ()
    errors: tuple[DiscoveryError, ...] = ()
    scopes: tuple[ScopeStatus, ...] = ()
    policies: dict[str, DeclaredPolicy] = Field(
        default_factory=dict, description="declared policies expanded from provider APIs, by policy key"
    )
