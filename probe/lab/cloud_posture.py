"""The emulated AWS account's encryption posture: S3, EBS, RDS/Aurora, EFS, AWS Backup, Secrets Manager, SSM
Parameter Store, KMS and CloudTrail, each case on both sides (compliant and not, tagged sensitive and not), with
the findings the judge must give each seeded resource (its ground truth, written here, not derived from tlsprobe).

    with start_cloud() as cloud:
        truth = seed_posture(cloud.endpoint_url)
        # truth.cases["s3-phi-sse-s3"].expected == ("aws.s3.no_cmk", "aws.s3.tls_not_required")

Sensitive means tagged DataClassification=ePHI or =sensitive (tlsprobe's default --sensitive-tag). moto gaps that
the seeding relies on (the judge reads them as AWS does; search probe/ for "moto gap"): AWS-managed keys it creates
on first use (aws/ebs) say KeyManager CUSTOMER; RDS reports "default_kms_key_id" for the default key; EFS and
Backup list no key for the default one; snapshots list no KmsKeyId; EBS encryption by default does not encrypt new
volumes; GetEbsDefaultKmsKeyId is not implemented (not called).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3
from pydantic import Field

from probe.models import Frozen
from probe.policy import rule_ids as R

__all__ = ["PostureCase", "PostureManifest", "seed_posture"]

ACCOUNT = "123456789012"  # moto's default account
_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_PHI = {"DataClassification": "ePHI"}
_SENSITIVE = {"DataClassification": "Sensitive"}  # the value is compared case-insensitively


class PostureCase(Frozen):
    """One seeded resource and what the judge must say of it."""

    kind: str
    id: str = Field(description="the resource id (ARN) discovery must report")
    region: str | None
    expected: tuple[str, ...] = Field(description="the rules of its findings, sorted")
    sensitive: bool | None = Field(default=None, description="the `sensitive` attribute the judge must give it")
    key_manager: str | None = Field(default=None, description="customer, aws, s3 or none, where it has a key")


class PostureManifest(Frozen):
    endpoint_url: str
    account: str = ACCOUNT
    regions: tuple[str, ...]
    cases: dict[str, PostureCase]

    def expected(self, role: str) -> set[str]:
        return set(self.cases[role].expected)


def _client(endpoint_url: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **_CREDS)


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


class _Seeder:
    def __init__(self, endpoint_url: str, regions: Sequence[str]) -> None:
        self.url = endpoint_url
        self.regions = tuple(regions)
        self.home, self.other = self.regions[0], self.regions[1]
        self.cases: dict[str, PostureCase] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.home)
        if key not in self._clients:
            self._clients[key] = _client(self.url, *key)
        return self._clients[key]

    def case(self, role: str, kind: str, id: str, expected: Sequence[str] = (), *, region: str | None = None,
             sensitive: bool | None = None, key_manager: str | None = None) -> None:
        self.cases[role] = PostureCase(kind=kind, id=id, region=region or self.home, expected=tuple(sorted(expected)),
                                       sensitive=sensitive, key_manager=key_manager)

    # -- KMS ------------------------------------------------------------------------------------------
    def keys(self) -> dict[str, dict[str, Any]]:
        kms = self.client("kms")

        def key(tags: dict[str, str] | None = None, *, rotate: bool = True, **kw: Any) -> dict[str, Any]:
            meta: dict[str, Any] = kms.create_key(Tags=_tag_list(tags or {}, "TagKey", "TagValue"), **kw)["KeyMetadata"]
            if rotate:
                kms.enable_key_rotation(KeyId=meta["KeyId"])
            return meta

        made = {
            "kms-phi": key(_PHI, MultiRegion=True),
            "kms-phi-single": key(_PHI),
            "kms-std": key(),
            "kms-used-by-phi": key(),
            "kms-open": key(),
            "kms-open-conditioned": key(),
            "kms-disabled-in-use": key(),
            "kms-pending-in-use": key(),
            "kms-disabled-unused": key(),
        }
        replica = kms.replicate_key(KeyId=made["kms-phi"]["KeyId"], ReplicaRegion=self.other)["ReplicaKeyMetadata"]
        # a replica does not share its primary's tags (and moto ignores ReplicateKey's Tags): tagged apart
        self.client("kms", self.other).tag_resource(KeyId=replica["KeyId"],
                                                    Tags=_tag_list(_PHI, "TagKey", "TagValue"))
        for role, statement in (
            ("kms-open", {"Sid": "anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                          "Resource": "*"}),
            ("kms-open-conditioned", {"Sid": "org", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*",
                                      "Resource": "*",
                                      "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}),
        ):
            policy = {"Version": "2012-10-17", "Statement": [
                {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                 "Action": "kms:*", "Resource": "*"}, statement]}
            kms.put_key_policy(KeyId=made[role]["KeyId"], PolicyName="default", Policy=json.dumps(policy))
        expected = {"kms-phi": (), "kms-phi-single": (R.AWS_KMS_SENSITIVE_NO_REPLICA,), "kms-std": (),
                    "kms-used-by-phi": (R.AWS_KMS_SENSITIVE_NO_REPLICA,),
                    "kms-open": (R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL,), "kms-open-conditioned": (),
                    "kms-disabled-in-use": (R.AWS_KMS_KEY_UNUSABLE_IN_USE,),
                    "kms-pending-in-use": (R.AWS_KMS_KEY_UNUSABLE_IN_USE,), "kms-disabled-unused": ()}
        sensitive = {"kms-phi", "kms-phi-single", "kms-used-by-phi"}
        for role, rules in expected.items():
            self.case(role, "kms-key", made[role]["Arn"], rules, sensitive=role in sensitive, key_manager="customer")
        self.case("kms-phi-replica", "kms-key", replica["Arn"], region=self.other, sensitive=True,
                  key_manager="customer")
        return made

    def retire_keys(self, made: dict[str, dict[str, Any]]) -> None:
        """Disable and schedule deletion after the resources that use the keys exist."""
        kms = self.client("kms")
        kms.disable_key(KeyId=made["kms-disabled-in-use"]["KeyId"])
        kms.disable_key(KeyId=made["kms-disabled-unused"]["KeyId"])
        kms.schedule_key_deletion(KeyId=made["kms-pending-in-use"]["KeyId"], PendingWindowInDays=7)

    # -- S3 -------------------------------------------------------------------------------------------
    def buckets(self, keys: dict[str, dict[str, Any]]) -> None:
        def bucket(role: str, region: str, expected: Sequence[str], *, tags: dict[str, str] | None = None,
                   encryption: dict[str, Any] | None = None, tls: bool = True, min_tls: str | None = "1.2",
                   sensitive: bool = False, key_manager: str = "s3") -> None:
            s3 = self.client("s3", region)
            name = f"posture-{role}"
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=name, **extra)
            if tags:
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(tags)})
            if encryption is not None:
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [encryption]})
            statements = []
            resources = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
            if tls:
                statements.append({"Sid": "tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                   "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
            if min_tls is not None:
                statements.append({"Sid": "tls-version", "Effect": "Deny", "Principal": {"AWS": "*"},
                                   "Action": "s3:*", "Resource": resources,
                                   "Condition": {"NumericLessThan": {"s3:TlsVersion": min_tls}}})
            if statements:
                s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17",
                                                                     "Statement": statements}))
            self.case(role, "s3-bucket", f"arn:aws:s3:::{name}", expected, region=region, sensitive=sensitive,
                      key_manager=key_manager)

        def kms(key: str | None, bucket_key: bool = True) -> dict[str, Any]:
            default = {"SSEAlgorithm": "aws:kms", **({"KMSMasterKeyID": keys[key]["Arn"]} if key else {})}
            return {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bucket_key}

        home = self.home
        bucket("s3-phi-cmk", home, (), tags=_PHI, encryption=kms("kms-phi"), sensitive=True, key_manager="customer")
        bucket("s3-phi-sse-s3", home, (R.AWS_S3_NO_CMK, R.AWS_S3_TLS_NOT_REQUIRED), tags=_PHI, tls=False,
               min_tls=None, sensitive=True)
        bucket("s3-phi-aws-key", home, (R.AWS_S3_NO_CMK,), tags=_SENSITIVE, encryption=kms(None), sensitive=True,
               key_manager="aws")
        bucket("s3-std-default", home, ())
        bucket("s3-std-kms-no-bucket-key", home, (R.AWS_S3_BUCKET_KEY_DISABLED,),
               encryption=kms("kms-std", bucket_key=False), key_manager="customer")
        bucket("s3-std-tls11", home, (R.AWS_S3_TLS_VERSION_BELOW_MINIMUM,), min_tls="1.1")
        bucket("s3-std-no-policy", home, (R.AWS_S3_TLS_NOT_REQUIRED,), tls=False, min_tls=None)
        bucket("s3-trail-logs", home, ())
        bucket("s3-other-region", self.other, (),
               encryption={"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}})

    # -- EBS ------------------------------------------------------------------------------------------
    def ebs(self, keys: dict[str, dict[str, Any]]) -> None:
        for region in self.regions:
            ec2 = self.client("ec2", region)
            arn = f"arn:aws:ec2:{region}:{ACCOUNT}:ebs-encryption-by-default"
            if region == self.other:
                self.case(f"ebs-default-{region}", "ebs-encryption-default", arn, (R.AWS_EBS_DEFAULT_ENCRYPTION_OFF,),
                          region=region)
            else:
                ec2.enable_ebs_encryption_by_default()
                self.case(f"ebs-default-{region}", "ebs-encryption-default", arn, region=region)

        def volume(role: str, region: str, expected: Sequence[str], *, tags: dict[str, str] | None = None,
                   encrypted: bool = True, key: str | None = None, sensitive: bool = False,
                   key_manager: str = "aws") -> str:
            ec2 = self.client("ec2", region)
            spec = [{"ResourceType": "volume", "Tags": _tag_list({"Name": role, **(tags or {})})}]
            extra = {"KmsKeyId": keys[key]["KeyId"]} if key else {}
            volume_id = str(ec2.create_volume(AvailabilityZone=f"{region}a", Size=1, Encrypted=encrypted,
                                              TagSpecifications=spec, **extra)["VolumeId"])
            self.case(role, "ebs-volume", f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{volume_id}", expected,
                      region=region, sensitive=sensitive, key_manager=key_manager if encrypted else "none")
            return volume_id

        def snapshot(role: str, region: str, volume_id: str, expected: Sequence[str], *, sensitive: bool,
                     key_manager: str) -> None:
            spec = [{"ResourceType": "snapshot", "Tags": _tag_list({"Name": role})}]
            snapshot_id = self.client("ec2", region).create_snapshot(VolumeId=volume_id,
                                                                     TagSpecifications=spec)["SnapshotId"]
            self.case(role, "ebs-snapshot", f"arn:aws:ec2:{region}::snapshot/{snapshot_id}", expected,
                      region=region, sensitive=sensitive, key_manager=key_manager)

        home, other = self.home, self.other
        phi_cmk = volume("ebs-phi-cmk", home, (), tags=_PHI, key="kms-phi", sensitive=True, key_manager="customer")
        phi_aws = volume("ebs-phi-aws", home, (R.AWS_EBS_NO_CMK,), tags=_PHI, sensitive=True)
        volume("ebs-std-aws", home, ())
        volume("ebs-on-disabled-key", home, (), key="kms-disabled-in-use", key_manager="customer")
        plain = volume("ebs-std-plain", other, (R.AWS_EBS_VOLUME_UNENCRYPTED,), encrypted=False)
        volume("ebs-phi-plain", other, (R.AWS_EBS_VOLUME_UNENCRYPTED,), tags=_PHI, encrypted=False, sensitive=True)
        snapshot("snap-std-plain", other, plain, (R.AWS_EBS_SNAPSHOT_UNENCRYPTED,), sensitive=False,
                 key_manager="none")
        snapshot("snap-phi-cmk", home, phi_cmk, (), sensitive=True, key_manager="customer")
        snapshot("snap-phi-aws", home, phi_aws, (R.AWS_EBS_NO_CMK,), sensitive=True, key_manager="aws")

    # -- RDS and Aurora -------------------------------------------------------------------------------
    def databases(self, keys: dict[str, dict[str, Any]]) -> None:
        rds = self.client("rds")
        login = {"MasterUsername": "posture", "MasterUserPassword": "not-a-real-password-1"}

        def instance(role: str, expected: Sequence[str], *, tags: dict[str, str] | None = None,
                     encrypted: bool = True, key: str | None = None, sensitive: bool = False) -> None:
            extra = {"KmsKeyId": keys[key]["Arn"]} if key else {}
            made = rds.create_db_instance(DBInstanceIdentifier=role, DBInstanceClass="db.t3.micro", Engine="postgres",
                                          AllocatedStorage=20, StorageEncrypted=encrypted,
                                          Tags=_tag_list(tags or {}), **login, **extra)["DBInstance"]
            manager = ("customer" if key else "aws") if encrypted else "none"
            self.case(role, "rds-db-instance", made["DBInstanceArn"], expected, sensitive=sensitive,
                      key_manager=manager)

        def cluster(role: str, expected: Sequence[str], *, tags: dict[str, str], encrypted: bool,
                    key: str | None = None, sensitive: bool = True) -> None:
            extra = {"KmsKeyId": keys[key]["KeyId"]} if key else {}
            made = rds.create_db_cluster(DBClusterIdentifier=role, Engine="aurora-postgresql",
                                         StorageEncrypted=encrypted, Tags=_tag_list(tags), **login,
                                         **extra)["DBCluster"]
            rds.create_db_instance(DBInstanceIdentifier=f"{role}-1", DBInstanceClass="db.r5.large",
                                   Engine="aurora-postgresql", DBClusterIdentifier=role)
            manager = ("customer" if key else "aws") if encrypted else "none"
            self.case(role, "rds-db-cluster", made["DBClusterArn"], expected, sensitive=sensitive,
                      key_manager=manager)

        instance("rds-phi-cmk", (), tags=_PHI, key="kms-phi", sensitive=True)
        instance("rds-phi-aws", (R.AWS_RDS_NO_CMK,), tags=_PHI, sensitive=True)
        instance("rds-std-aws", ())
        instance("rds-std-plain", (R.AWS_RDS_UNENCRYPTED,), encrypted=False)
        cluster("aurora-phi-cmk", (), tags=_PHI, encrypted=True, key="kms-phi")
        cluster("aurora-phi-plain", (R.AWS_RDS_UNENCRYPTED,), tags=_PHI, encrypted=False)

    # -- EFS, Backup ----------------------------------------------------------------------------------
    def file_systems_and_vaults(self, keys: dict[str, dict[str, Any]]) -> None:
        efs = self.client("efs")
        for role, expected, tags, encrypted, key in (
            ("efs-phi-cmk", (), _PHI, True, "kms-used-by-phi"),
            ("efs-phi-aws", (R.AWS_EFS_NO_CMK,), _PHI, True, None),
            ("efs-std-aws", (), {}, True, None),
            ("efs-std-plain", (R.AWS_EFS_UNENCRYPTED,), {}, False, None),
        ):
            extra = {"KmsKeyId": keys[key]["Arn"]} if key else {}
            made = efs.create_file_system(CreationToken=role, Encrypted=encrypted,
                                          Tags=_tag_list({"Name": role, **tags}), **extra)
            manager = ("customer" if key else "aws") if encrypted else "none"
            self.case(role, "efs-file-system", made["FileSystemArn"], expected, sensitive=bool(tags),
                      key_manager=manager)
        backup = self.client("backup")
        for role, expected, tags, key in (
            ("vault-phi-cmk", (), _PHI, "kms-phi"),
            ("vault-phi-default", (R.AWS_BACKUP_NO_CMK,), _PHI, None),
            ("vault-std-default", (), {}, None),
        ):
            extra = {"EncryptionKeyArn": keys[key]["Arn"]} if key else {}
            made = backup.create_backup_vault(BackupVaultName=role, BackupVaultTags=tags, **extra)
            self.case(role, "backup-vault", made["BackupVaultArn"], expected, sensitive=bool(tags),
                      key_manager="customer" if key else "aws")

    # -- Secrets Manager, SSM -------------------------------------------------------------------------
    def secrets_and_parameters(self, keys: dict[str, dict[str, Any]]) -> None:
        sm = self.client("secretsmanager")
        for role, expected, tags, key, days in (
            ("secret-phi-cmk", (), _PHI, "kms-phi", 30),
            ("secret-phi-aws", (R.AWS_SECRETS_NO_CMK,), _PHI, None, 30),
            ("secret-std-no-rotation", (R.AWS_SECRETS_ROTATION_DISABLED,), {}, None, None),
            ("secret-std-long-rotation", (R.AWS_SECRETS_ROTATION_INTERVAL,), {}, None, 365),
            ("secret-on-pending-key", (), {}, "kms-pending-in-use", 30),
        ):
            extra = {"KmsKeyId": keys[key]["Arn"]} if key else {}
            # the value is a placeholder: tlsprobe never reads it (a test holds GetSecretValue to that)
            arn = sm.create_secret(Name=role, SecretString="placeholder", Tags=_tag_list(tags), **extra)["ARN"]
            if days:
                # moto: rotation without a Lambda function, as long as it does not rotate now
                sm.rotate_secret(SecretId=role, RotationRules={"AutomaticallyAfterDays": days},
                                 RotateImmediately=False)
            self.case(role, "secretsmanager-secret", arn, expected, sensitive=bool(tags),
                      key_manager="customer" if key else "aws")
        ssm = self.client("ssm")
        for name, expected, kind, description, key in (
            ("/posture/db/password", (R.AWS_SSM_SECRET_AS_STRING,), "String", None, None),
            ("/posture/db/password-secure", (), "SecureString", None, None),
            ("/posture/upstream", (R.AWS_SSM_SECRET_AS_STRING,), "String", "API key for the upstream service", None),
            ("/posture/log-level", (), "String", "how much the service logs", None),
            ("/posture/signing-token", (), "SecureString", None, "kms-std"),
        ):
            extra = {"KeyId": keys[key]["KeyId"]} if key else {}
            ssm.put_parameter(Name=name, Value="placeholder", Type=kind, **extra,
                              **({"Description": description} if description else {}))
            manager = ("customer" if key else "aws") if kind == "SecureString" else "none"
            self.case(name, "ssm-parameter", f"arn:aws:ssm:{self.home}:{ACCOUNT}:parameter{name}", expected,
                      key_manager=manager)

    # -- CloudTrail -----------------------------------------------------------------------------------
    def trails(self, keys: dict[str, dict[str, Any]]) -> None:
        main = self.client("cloudtrail").create_trail(
            Name="posture-main", S3BucketName="posture-s3-trail-logs", IsMultiRegionTrail=True,
            EnableLogFileValidation=True, KmsKeyId=keys["kms-std"]["Arn"])
        self.client("cloudtrail").start_logging(Name="posture-main")
        self.case("trail-main", "cloudtrail-trail", main["TrailARN"], key_manager="customer")
        legacy = self.client("cloudtrail", self.other).create_trail(Name="posture-legacy",
                                                                    S3BucketName="posture-s3-trail-logs")
        self.case("trail-legacy", "cloudtrail-trail", legacy["TrailARN"], (
            R.AWS_CLOUDTRAIL_NOT_LOGGING, R.AWS_CLOUDTRAIL_NO_LOG_VALIDATION, R.AWS_CLOUDTRAIL_NOT_ENCRYPTED),
            region=self.other, key_manager="s3")
        self.case("trail-account", "cloudtrail-account", f"arn:aws:cloudtrail::{ACCOUNT}:trails", region=None)


def seed_posture(endpoint_url: str, regions: Sequence[str] = ("eu-west-1", "us-east-1", "ap-southeast-2"),
                 ) -> PostureManifest:
    """Seed the posture cases (most in `regions[0]`, the other side of some in `regions[1]`, EBS encryption by
    default on everywhere but `regions[1]`) and return their ground truth."""
    seeder = _Seeder(endpoint_url, regions)
    keys = seeder.keys()
    seeder.buckets(keys)
    seeder.ebs(keys)
    seeder.databases(keys)
    seeder.file_systems_and_vaults(keys)
    seeder.secrets_and_parameters(keys)
    seeder.trails(keys)
    seeder.retire_keys(keys)
    return PostureManifest(endpoint_url=endpoint_url, regions=seeder.regions, cases=seeder.cases)
