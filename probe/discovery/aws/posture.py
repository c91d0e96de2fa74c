"""Encryption posture of one account and region: S3, EBS, RDS/Aurora, EFS, AWS Backup, Secrets Manager, SSM
Parameter Store and CloudTrail.

Read-only metadata calls only (every one is listed in probe/discovery/iam-policy.json): configurations, key ids,
tags and states, never data: no GetObject, GetSecretValue, GetParameter(s) or Decrypt. A fact that cannot be read
is a DiscoveryError of this unit and is named in the item's `unread`; the rest of the unit goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from probe.discovery.aws.session import error_code, pages
from probe.discovery.aws.unit import Unit
from probe.discovery.posture_models import (
    BackupVault,
    CloudTrailTrail,
    EbsEncryptionDefault,
    EbsSnapshot,
    EbsVolume,
    EfsFileSystem,
    RdsCluster,
    RdsInstance,
    S3Bucket,
    SecretsManagerSecret,
    SsmParameter,
)

__all__ = ["COLLECTORS", "SERVICES"]

_AWS_ERRORS = (ClientError, BotoCoreError)
T = TypeVar("T")
_ABSENT = object()


def _tags(pairs: Any, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """A tag list ([{Key, Value}]) or map as a dict."""
    if isinstance(pairs, dict):
        return {str(k): str(v) for k, v in pairs.items()}
    return {str(p[key]): str(p.get(value, "")) for p in pairs or () if key in p}


def _partition(client: Any) -> str:
    return str(getattr(client.meta, "partition", None) or "aws")


def _read(unit: Unit, call: Callable[[], T], context: str, *, absent: str | None = None) -> T | object:
    """The call's answer; `_ABSENT` when AWS says the thing is not configured (`absent` error code), None
    after a failure, which becomes this unit's DiscoveryError."""
    try:
        return call()
    except ClientError as exc:
        if absent is not None and error_code(exc) == absent:
            return _ABSENT
        unit.fail(exc, context)
    except BotoCoreError as exc:
        unit.fail(exc, context)
    return None


def _section(unit: Unit, context: str, body: Callable[[], None]) -> None:
    """Run a listing after the unit's first one; its failure is this unit's DiscoveryError and the next listing
    still runs. (The first listing is not guarded: a service denied in a region fails the unit, with one error.)"""
    try:
        body()
    except _AWS_ERRORS as exc:
        unit.fail(exc, context)


# --------------------------------------------------------------------------------------------------------- S3


def collect_s3(unit: Unit) -> None:
    """The buckets of this region (ListBuckets with BucketRegion): default encryption, bucket policy, tags."""
    client = unit.client()
    partition = _partition(client)
    for bucket in pages(client, "list_buckets", "Buckets", BucketRegion=unit.region):
        name = str(bucket["Name"])
        unread: list[str] = []
        encryption = _read(unit, partial(client.get_bucket_encryption, Bucket=name), f"GetBucketEncryption {name}",
                           absent="ServerSideEncryptionConfigurationNotFoundError")
        policy = _read(unit, partial(client.get_bucket_policy, Bucket=name), f"GetBucketPolicy {name}",
                       absent="NoSuchBucketPolicy")
        tagging = _read(unit, partial(client.get_bucket_tagging, Bucket=name), f"GetBucketTagging {name}",
                        absent="NoSuchTagSet")
        algorithm = key = bucket_key = None
        if isinstance(encryption, dict):
            rules = encryption.get("ServerSideEncryptionConfiguration", {}).get("Rules") or [{}]
            default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
            algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
            bucket_key = rules[0].get("BucketKeyEnabled")
        elif encryption is None:
            unread.append("encryption")
        if policy is None:
            unread.append("policy")
        if tagging is None:
            unread.append("tags")
        unit.items.append(S3Bucket(
            account=unit.account.account_id, region=unit.region, arn=f"arn:{partition}:s3:::{name}", name=name,
            tags=_tags(tagging.get("TagSet")) if isinstance(tagging, dict) else {}, unread=tuple(unread),
            sse_algorithm=algorithm, kms_key_id=key, bucket_key_enabled=bucket_key,
            policy=str(policy["Policy"]) if isinstance(policy, dict) and policy.get("Policy") else None,
        ))


# -------------------------------------------------------------------------------------------------------- EBS


def collect_ebs(unit: Unit) -> None:
    """The region's encryption-by-default setting, its volumes and the account's own snapshots.

    The account's default EBS key (GetEbsDefaultKmsKeyId) is not asked: moto does not implement it, and it only
    says which key future volumes get; each volume and snapshot is judged by its own key."""
    ec2 = unit.client("ec2")
    partition, account, region = _partition(ec2), unit.account.account_id, unit.region
    default = ec2.get_ebs_encryption_by_default()
    unit.items.append(EbsEncryptionDefault(
        account=account, region=region, arn=f"arn:{partition}:ec2:{region}:{account}:ebs-encryption-by-default",
        enabled=bool(default.get("EbsEncryptionByDefault"))))

    def volumes() -> None:
        for volume in pages(ec2, "describe_volumes", "Volumes"):
            tags = _tags(volume.get("Tags"))
            volume_id = str(volume["VolumeId"])
            unit.items.append(EbsVolume(
                account=account, region=region, arn=f"arn:{partition}:ec2:{region}:{account}:volume/{volume_id}",
                name=tags.get("Name"), tags=tags, volume_id=volume_id, encrypted=bool(volume.get("Encrypted")),
                kms_key_id=volume.get("KmsKeyId"), state=volume.get("State"),
                attached_to=tuple(str(a["InstanceId"]) for a in volume.get("Attachments") or () if a.get("InstanceId")),
            ))

    def snapshots() -> None:
        for snapshot in pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
            tags = _tags(snapshot.get("Tags"))
            snapshot_id = str(snapshot["SnapshotId"])
            unit.items.append(EbsSnapshot(
                account=account, region=region, arn=f"arn:{partition}:ec2:{region}::snapshot/{snapshot_id}",
                name=tags.get("Name"), tags=tags, snapshot_id=snapshot_id, volume_id=snapshot.get("VolumeId"),
                encrypted=bool(snapshot.get("Encrypted")), kms_key_id=snapshot.get("KmsKeyId"),
            ))

    _section(unit, "DescribeVolumes", volumes)
    _section(unit, "DescribeSnapshots", snapshots)


# ---------------------------------------------------------------------------------------------- RDS and Aurora


def collect_rds(unit: Unit) -> None:
    """DB clusters (Aurora, Multi-AZ clusters) and the DB instances that belong to none."""
    rds = unit.client()
    account, region = unit.account.account_id, unit.region

    def clusters() -> None:
        for cluster in pages(rds, "describe_db_clusters", "DBClusters"):
            unit.items.append(RdsCluster(
                account=account, region=region, arn=str(cluster["DBClusterArn"]),
                name=cluster.get("DBClusterIdentifier"), tags=_tags(cluster.get("TagList")),
                engine=cluster.get("Engine"), storage_encrypted=bool(cluster.get("StorageEncrypted")),
                kms_key_id=cluster.get("KmsKeyId"),
                members=tuple(str(m["DBInstanceIdentifier"]) for m in cluster.get("DBClusterMembers") or ()),
            ))

    def instances() -> None:
        for instance in pages(rds, "describe_db_instances", "DBInstances"):
            if instance.get("DBClusterIdentifier"):
                continue  # its storage is the cluster's
            unit.items.append(RdsInstance(
                account=account, region=region, arn=str(instance["DBInstanceArn"]),
                name=instance.get("DBInstanceIdentifier"), tags=_tags(instance.get("TagList")),
                engine=instance.get("Engine"), storage_encrypted=bool(instance.get("StorageEncrypted")),
                kms_key_id=instance.get("KmsKeyId"),
            ))

    clusters()
    _section(unit, "DescribeDBInstances", instances)


# -------------------------------------------------------------------------------------------------------- EFS


def collect_efs(unit: Unit) -> None:
    efs = unit.client()
    partition, account, region = _partition(efs), unit.account.account_id, unit.region
    for system in pages(efs, "describe_file_systems", "FileSystems"):
        tags = _tags(system.get("Tags"))
        system_id = str(system["FileSystemId"])
        unit.items.append(EfsFileSystem(
            account=account, region=region, name=system.get("Name") or tags.get("Name"), tags=tags,
            arn=str(system.get("FileSystemArn") or f"arn:{partition}:elasticfilesystem:{region}:{account}:"
                                                   f"file-system/{system_id}"),
            file_system_id=system_id, encrypted=bool(system.get("Encrypted")), kms_key_id=system.get("KmsKeyId"),
        ))


# ------------------------------------------------------------------------------------------------- AWS Backup


def collect_backup(unit: Unit) -> None:
    backup = unit.client()
    for vault in pages(backup, "list_backup_vaults", "BackupVaultList"):
        arn = str(vault["BackupVaultArn"])
        tags = _read(unit, partial(backup.list_tags, ResourceArn=arn), f"ListTags {arn}")
        # moto gap: a vault created without a key lists no EncryptionKeyArn (AWS names aws/backup's key);
        # absent is read as that default key.
        unit.items.append(BackupVault(
            account=unit.account.account_id, region=unit.region, arn=arn, name=vault.get("BackupVaultName"),
            tags=_tags(tags.get("Tags")) if isinstance(tags, dict) else {},
            unread=() if isinstance(tags, dict) else ("tags",),
            encryption_key_arn=vault.get("EncryptionKeyArn"), locked=vault.get("Locked"),
            recovery_points=vault.get("NumberOfRecoveryPoints"),
        ))


# -------------------------------------------------------------------------------------------- Secrets Manager

_RATE = re.compile(r"^rate\((\d+)\s+(day|days|hour|hours)\)$")


def _rotation_days(rules: dict[str, Any]) -> int | None:
    days = rules.get("AutomaticallyAfterDays")
    if isinstance(days, int) and days > 0:
        return days
    match = _RATE.match(str(rules.get("ScheduleExpression") or "").strip())
    if match:
        number = int(match.group(1))
        return number if match.group(2).startswith("day") else max(1, number // 24)
    return None  # a cron() schedule: no fixed interval is read from it


def collect_secrets(unit: Unit) -> None:
    """One ListSecrets pass (paginated): key, rotation and tags of every secret, never a value."""
    client = unit.client()
    for secret in pages(client, "list_secrets", "SecretList"):
        rules = secret.get("RotationRules") or {}
        unit.items.append(SecretsManagerSecret(
            account=unit.account.account_id, region=unit.region, arn=str(secret["ARN"]), name=secret.get("Name"),
            tags=_tags(secret.get("Tags")), kms_key_id=secret.get("KmsKeyId"),
            rotation_enabled=secret.get("RotationEnabled") is True,  # absent means off
            rotation_days=_rotation_days(rules), rotation_schedule=rules.get("ScheduleExpression"),
            last_rotated=secret.get("LastRotatedDate"),
        ))


# ---------------------------------------------------------------------------------------- SSM Parameter Store


def collect_ssm(unit: Unit) -> None:
    """Every parameter's name, type, key and description (DescribeParameters), never a value."""
    client = unit.client()
    partition, account, region = _partition(client), unit.account.account_id, unit.region
    for parameter in pages(client, "describe_parameters", "Parameters"):
        name = str(parameter["Name"])
        unit.items.append(SsmParameter(
            account=account, region=region, name=name, type=str(parameter.get("Type") or "String"),
            arn=str(parameter.get("ARN") or f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"),
            key_id=parameter.get("KeyId"), description=parameter.get("Description"), tier=parameter.get("Tier"),
        ))


# ------------------------------------------------------------------------------------------------- CloudTrail


def collect_cloudtrail(unit: Unit) -> None:
    """Every trail this region sees, its own and the shadows of other regions' multi-Region trails, each with
    its logging status (GetTrailStatus by ARN works for a shadow too). The judge keeps one copy per trail."""
    client = unit.client()
    for trail in client.describe_trails(includeShadowTrails=True).get("trailList") or ():
        arn = str(trail["TrailARN"])
        status = _read(unit, partial(client.get_trail_status, Name=arn), f"GetTrailStatus {arn}")
        home = str(trail.get("HomeRegion") or unit.region)
        unit.items.append(CloudTrailTrail(
            account=unit.account.account_id, region=home, arn=arn, name=trail.get("Name"), home_region=home,
            seen_from=unit.region, multi_region=bool(trail.get("IsMultiRegionTrail")),
            logging=bool(status.get("IsLogging")) if isinstance(status, dict) else None,
            unread=() if isinstance(status, dict) else ("logging",),
            log_file_validation=bool(trail.get("LogFileValidationEnabled")), kms_key_id=trail.get("KmsKeyId"),
            organization_trail=bool(trail.get("IsOrganizationTrail")), s3_bucket=trail.get("S3BucketName"),
        ))


COLLECTORS: dict[str, Callable[[Unit], None]] = {
    "s3": collect_s3, "ebs": collect_ebs, "rds": collect_rds, "efs": collect_efs, "backup": collect_backup,
    "secretsmanager": collect_secrets, "ssm": collect_ssm, "cloudtrail": collect_cloudtrail,
}
SERVICES: tuple[str, ...] = tuple(COLLECTORS)
