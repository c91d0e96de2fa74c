"""Typed items of an AWS estate's encryption posture: storage, databases, secrets, parameters, backup vaults and
audit trails, each a report resource through `.resource()`.

Metadata only: no item holds data (no secret value, no parameter value, no object). `unread` names the facts a
collector could not read (each also a DiscoveryError); the judge leaves the rules that need them unjudged.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from probe.models import Frozen, Resource

__all__ = [
    "AWS_POSTURE_TYPES",
    "AWS_RESOURCE_TYPES",
    "AwsPostureItem",
    "AwsResourceItem",
    "BackupVault",
    "CloudTrailTrail",
    "EbsEncryptionDefault",
    "EbsSnapshot",
    "EbsVolume",
    "EfsFileSystem",
    "KmsKeyIndex",
    "RdsCluster",
    "RdsInstance",
    "S3Bucket",
    "SecretsManagerSecret",
    "SsmParameter",
]


class _AwsResourceItem(Frozen):
    """What every posture item shares: where it lives, its ARN, its name and tags."""

    account: str
    region: str
    arn: str = Field(description="the resource's ARN (the resource id in reports, stores and waivers)")
    name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    unread: tuple[str, ...] = Field(default=(), description="facts that could not be read (see discovery errors)")

    HIDDEN: ClassVar[frozenset[str]] = frozenset()  # fields kept out of the report's attributes

    def resource(self) -> Resource:
        """This item as a report's resource: its ARN as id, its name, the other facts as attributes."""
        item: str = getattr(self, "item")  # noqa: B009 (each subclass declares its own Literal item)
        exclude = {"item", "account", "region", "arn", "name", *self.HIDDEN}
        return Resource(provider="aws", kind=item, id=self.arn, name=self.name, account=self.account,
                        region=self.region, attributes=self.model_dump(mode="json", exclude=exclude))


class S3Bucket(_AwsResourceItem):
    """An S3 bucket: its default encryption, its bucket policy (read for TLS conditions) and its tags."""

    item: Literal["s3-bucket"] = "s3-bucket"
    sse_algorithm: str | None = Field(default=None, description="AES256, aws:kms or aws:kms:dsse; None when the "
                                      "bucket has no default-encryption configuration (S3 applies SSE-S3)")
    kms_key_id: str | None = Field(default=None, description="KMSMasterKeyID; None with aws:kms means aws/s3")
    bucket_key_enabled: bool | None = None
    policy: str | None = Field(default=None, description="the bucket policy document (JSON text); None: no policy")

    HIDDEN = frozenset({"policy"})


class EbsEncryptionDefault(_AwsResourceItem):
    """The account's EBS encryption-by-default setting in one region."""

    item: Literal["ebs-encryption-default"] = "ebs-encryption-default"
    enabled: bool


class EbsVolume(_AwsResourceItem):
    item: Literal["ebs-volume"] = "ebs-volume"
    volume_id: str
    encrypted: bool
    kms_key_id: str | None = None
    state: str | None = None
    attached_to: tuple[str, ...] = ()


class EbsSnapshot(_AwsResourceItem):
    item: Literal["ebs-snapshot"] = "ebs-snapshot"
    snapshot_id: str
    volume_id: str | None = None
    encrypted: bool
    kms_key_id: str | None = Field(default=None, description="None on an encrypted snapshot: its volume's key")


class RdsInstance(_AwsResourceItem):
    """An RDS DB instance that is not a member of a cluster (a cluster's storage is judged on the cluster)."""

    item: Literal["rds-db-instance"] = "rds-db-instance"
    engine: str | None = None
    storage_encrypted: bool
    kms_key_id: str | None = None


class RdsCluster(_AwsResourceItem):
    """An Aurora (or Multi-AZ) DB cluster: its storage encryption covers its instances."""

    item: Literal["rds-db-cluster"] = "rds-db-cluster"
    engine: str | None = None
    storage_encrypted: bool
    kms_key_id: str | None = None
    members: tuple[str, ...] = ()


class EfsFileSystem(_AwsResourceItem):
    item: Literal["efs-file-system"] = "efs-file-system"
    file_system_id: str
    encrypted: bool
    kms_key_id: str | None = Field(default=None, description="None on an encrypted file system: aws/elasticfilesystem")


class BackupVault(_AwsResourceItem):
    item: Literal["backup-vault"] = "backup-vault"
    encryption_key_arn: str | None = Field(default=None, description="None: the default key, aws/backup")
    locked: bool | None = None
    recovery_points: int | None = None


class SecretsManagerSecret(_AwsResourceItem):
    """A secret's metadata from ListSecrets (never its value)."""

    item: Literal["secretsmanager-secret"] = "secretsmanager-secret"
    kms_key_id: str | None = Field(default=None, description="None: the default key, aws/secretsmanager")
    rotation_enabled: bool = Field(default=False, description="RotationEnabled; absent means off")
    rotation_days: int | None = Field(default=None, description="AutomaticallyAfterDays, or a rate(N days) schedule")
    rotation_schedule: str | None = Field(default=None, description="ScheduleExpression, as written")
    last_rotated: datetime | None = None


class SsmParameter(_AwsResourceItem):
    """A Parameter Store parameter's metadata from DescribeParameters (never its value)."""

    item: Literal["ssm-parameter"] = "ssm-parameter"
    type: str = Field(description="String, StringList or SecureString")
    key_id: str | None = Field(default=None, description="the SecureString's key")
    description: str | None = None
    tier: str | None = None


class CloudTrailTrail(_AwsResourceItem):
    """A trail as seen from one region (a multi-Region trail is also listed, as a shadow, outside its home)."""

    item: Literal["cloudtrail-trail"] = "cloudtrail-trail"
    home_region: str
    seen_from: str = Field(description="the region whose DescribeTrails listed it")
    multi_region: bool = False
    logging: bool | None = Field(default=None, description="GetTrailStatus IsLogging; None when unread")
    log_file_validation: bool = False
    kms_key_id: str | None = None
    organization_trail: bool = False
    s3_bucket: str | None = None

    HIDDEN = frozenset({"seen_from"})


class KmsKeyIndex(Frozen):
    """How key references resolve in one account and region: every alias and the AWS-managed keys. Not a
    resource: the judge uses it to tell customer-managed keys from AWS-managed ones."""

    item: Literal["kms-key-index"] = "kms-key-index"
    account: str
    region: str
    aliases: dict[str, str] = Field(default_factory=dict, description="alias name -> target key id")
    aws_managed: tuple[str, ...] = Field(default=(), description="key ids of AWS-managed keys")


AwsResourceItem = (S3Bucket | EbsEncryptionDefault | EbsVolume | EbsSnapshot | RdsInstance | RdsCluster
                   | EfsFileSystem | BackupVault | SecretsManagerSecret | SsmParameter | CloudTrailTrail)
AWS_RESOURCE_TYPES = (S3Bucket, EbsEncryptionDefault, EbsVolume, EbsSnapshot, RdsInstance, RdsCluster, EfsFileSystem,
                      BackupVault, SecretsManagerSecret, SsmParameter, CloudTrailTrail)
AwsPostureItem = AwsResourceItem | KmsKeyIndex
AWS_POSTURE_TYPES = (*AWS_RESOURCE_TYPES, KmsKeyIndex)
