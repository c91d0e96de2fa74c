"""The AWS estate's encryption posture judged (probe/policy/aws_posture.py): each rule on both sides, keys told apart,
data classification from tags, waivers, key policies, CloudTrail per trail and per account. Pure: no AWS."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from probe.discovery.models import KmsKey, ScopeStatus
from probe.discovery.posture_models import (
    BackupVault,
    CloudTrailTrail,
    EbsEncryptionDefault,
    EbsSnapshot,
    EbsVolume,
    EfsFileSystem,
    KmsKeyIndex,
    RdsCluster,
    RdsInstance,
    S3Bucket,
    SecretsManagerSecret,
    SsmParameter,
)
from probe.errors import InputError
from probe.models import ResourceResult, Waiver
from probe.policy import load_profile
from probe.policy import rule_ids as R
from probe.policy.aws_posture import DEFAULT_SENSITIVE_TAGS, is_sensitive, judge_estate, parse_sensitive_tags
from probe.policy.rules import RULES

PROFILE = load_profile("op-pol-001")
TODAY = date(2026, 6, 1)
ACCOUNT, REGION = "123456789012", "eu-west-1"
PHI = {"DataClassification": "ePHI"}
CMK_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
CMK_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{CMK_ID}"
AWS_KEY_ID = "0000aaaa-12ab-34cd-56ef-1234567890ab"
TLS_POLICY = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def cmk(**kw: Any) -> KmsKey:
    fields: dict[str, Any] = {"account": ACCOUNT, "region": REGION, "arn": CMK_ARN, "key_id": CMK_ID,
                              "key_spec": "SYMMETRIC_DEFAULT", "key_state": "Enabled", "rotation_enabled": True,
                              "aliases": ("alias/app",)}
    return KmsKey(**{**fields, **kw})


INDEX = KmsKeyIndex(account=ACCOUNT, region=REGION, aliases={"alias/app": CMK_ID, "alias/aws/ebs": AWS_KEY_ID},
                    aws_managed=(AWS_KEY_ID,))


def where(**kw: Any) -> dict[str, Any]:
    return {"account": ACCOUNT, "region": REGION, **kw}


def judged(*items: Any, **kw: Any) -> dict[str, ResourceResult]:
    """The results by name (or id), with the key and its index always in the estate."""
    estate = [*items]
    if not any(isinstance(i, KmsKey) for i in estate):
        estate.append(cmk())
    estate.append(INDEX)
    results = judge_estate(estate, PROFILE, today=TODAY, **kw)
    return {r.resource.name or r.resource.id: r for r in results}


def rules(result: ResourceResult) -> set[str]:
    return {f.rule for f in result.findings if not f.waived}


# ---------------------------------------------------------------------------------------------- classification


def test_sensitive_tags_parse_and_match() -> None:
    assert parse_sensitive_tags(["Owner=team-a", " Tier = phi "]) == (("Owner", "team-a"), ("Tier", "phi"))
    for bad in ("no-equals", "=value"):
        with pytest.raises(InputError, match="KEY=VALUE"):
            parse_sensitive_tags([bad])
    assert is_sensitive({"DataClassification": "EPHI"}, DEFAULT_SENSITIVE_TAGS)  # values case-insensitive
    assert is_sensitive({"DataClassification": "sensitive"}, DEFAULT_SENSITIVE_TAGS)
    assert not is_sensitive({"dataclassification": "ePHI"}, DEFAULT_SENSITIVE_TAGS)  # keys exact
    assert not is_sensitive({"DataClassification": "public"}, DEFAULT_SENSITIVE_TAGS)


def test_a_custom_sensitive_tag_moves_the_cmk_rule() -> None:
    bucket = S3Bucket(**where(arn="arn:aws:s3:::b", name="b", tags={"Tier": "gold"}, policy=TLS_POLICY))
    assert rules(judged(bucket)["b"]) == set()
    moved = judged(bucket, sensitive_tags=(("Tier", "gold"),))["b"]
    assert rules(moved) == {R.AWS_S3_NO_CMK} and moved.resource.attributes["sensitive"] is True


# ------------------------------------------------------------------------------------------------------- S3


@pytest.mark.parametrize(("fields", "expected", "manager"), [
    ({"tags": PHI, "sse_algorithm": "aws:kms", "kms_key_id": CMK_ARN, "bucket_key_enabled": True}, set(), "customer"),
    ({"tags": PHI, "sse_algorithm": "aws:kms", "kms_key_id": "alias/app", "bucket_key_enabled": True}, set(),
     "customer"),
    ({"tags": PHI}, {R.AWS_S3_NO_CMK}, "s3"),  # no configuration: SSE-S3, not a customer key
    ({"tags": PHI, "sse_algorithm": "aws:kms", "bucket_key_enabled": True}, {R.AWS_S3_NO_CMK}, "aws"),  # aws/s3
    ({"tags": PHI, "sse_algorithm": "aws:kms", "kms_key_id": "alias/aws/s3", "bucket_key_enabled": True},
     {R.AWS_S3_NO_CMK}, "aws"),
    ({}, set(), "s3"),  # not sensitive: SSE-S3 passes
    ({"sse_algorithm": "aws:kms", "bucket_key_enabled": True}, set(), "aws"),  # not sensitive: aws/s3 passes
    ({"sse_algorithm": "aws:kms", "kms_key_id": CMK_ARN}, {R.AWS_S3_BUCKET_KEY_DISABLED}, "customer"),
])
def test_s3_default_encryption(fields: dict[str, Any], expected: set[str], manager: str) -> None:
    result = judged(S3Bucket(**where(arn="arn:aws:s3:::b", name="b", policy=TLS_POLICY, **fields)))["b"]
    assert rules(result) == expected
    assert result.resource.attributes["key_manager"] == manager
    assert result.resource.attributes["sensitive"] is bool(fields.get("tags"))


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


_DENY_HTTP = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}


@pytest.mark.parametrize(("policy", "expected"), [
    (TLS_POLICY, set()),
    (_policy(_DENY_HTTP), set()),
    (None, {R.AWS_S3_TLS_NOT_REQUIRED}),
    (_policy({**_DENY_HTTP, "Effect": "Allow"}), {R.AWS_S3_TLS_NOT_REQUIRED}),
    (_policy({**_DENY_HTTP, "Principal": {"AWS": "arn:aws:iam::1:root"}}), {R.AWS_S3_TLS_NOT_REQUIRED}),
    (_policy({**_DENY_HTTP, "Action": "s3:PutObject"}), {R.AWS_S3_TLS_NOT_REQUIRED}),
    (_policy(_DENY_HTTP, {**_DENY_HTTP, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}), set()),
    (_policy(_DENY_HTTP, {**_DENY_HTTP, "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.3}}}), set()),
    (_policy(_DENY_HTTP, {**_DENY_HTTP, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.0"}}}),
     {R.AWS_S3_TLS_VERSION_BELOW_MINIMUM}),
    ("not json", {R.AWS_S3_TLS_NOT_REQUIRED}),
])
def test_s3_bucket_policy_tls(policy: str | None, expected: set[str]) -> None:
    assert rules(judged(S3Bucket(**where(arn="arn:aws:s3:::b", name="b", policy=policy)))["b"]) == expected


def test_unread_facts_leave_their_rules_unjudged() -> None:
    bucket = S3Bucket(**where(arn="arn:aws:s3:::b", name="b", unread=("encryption", "policy", "tags")))
    result = judged(bucket)["b"]
    assert rules(result) == set() and result.resource.attributes["checked_rules"] == []
    assert result.resource.attributes["sensitive"] is None


# ---------------------------------------------------------------------------------------- EBS, RDS, EFS, Backup


def test_ebs_default_volumes_and_snapshots() -> None:
    on = EbsEncryptionDefault(**where(arn="arn:aws:ec2:eu-west-1:1:ebs-encryption-by-default", name="on",
                                      enabled=True))
    off = on.model_copy(update={"name": "off", "enabled": False})
    volume = EbsVolume(**where(arn="arn:v1", name="phi-aws", tags=PHI, volume_id="vol-1", encrypted=True,
                               kms_key_id=AWS_KEY_ID))
    results = judged(
        on, off, volume,
        EbsVolume(**where(arn="arn:v2", name="phi-cmk", tags=PHI, volume_id="vol-2", encrypted=True,
                          kms_key_id=CMK_ARN)),
        EbsVolume(**where(arn="arn:v3", name="std-aws", volume_id="vol-3", encrypted=True, kms_key_id=AWS_KEY_ID)),
        EbsVolume(**where(arn="arn:v4", name="plain", tags=PHI, volume_id="vol-4", encrypted=False)),
        # snapshots without their own KmsKeyId take their volume's key and, untagged, its classification
        EbsSnapshot(**where(arn="arn:s1", name="snap-phi-aws", snapshot_id="snap-1", volume_id="vol-1",
                            encrypted=True)),
        EbsSnapshot(**where(arn="arn:s2", name="snap-plain", snapshot_id="snap-2", encrypted=False)),
    )
    assert rules(results["on"]) == set() and rules(results["off"]) == {R.AWS_EBS_DEFAULT_ENCRYPTION_OFF}
    assert rules(results["phi-aws"]) == {R.AWS_EBS_NO_CMK}
    assert rules(results["phi-cmk"]) == set() and results["phi-cmk"].resource.attributes["key"] == CMK_ARN
    assert rules(results["std-aws"]) == set()
    assert rules(results["plain"]) == {R.AWS_EBS_VOLUME_UNENCRYPTED}  # not also no_cmk
    assert rules(results["snap-phi-aws"]) == {R.AWS_EBS_NO_CMK}
    assert results["snap-phi-aws"].resource.attributes["sensitive"] is True
    assert rules(results["snap-plain"]) == {R.AWS_EBS_SNAPSHOT_UNENCRYPTED}


@pytest.mark.parametrize("kind", [RdsInstance, RdsCluster])
def test_rds_storage_encryption_and_key(kind: type[RdsInstance] | type[RdsCluster]) -> None:
    results = judged(
        kind(**where(arn="arn:1", name="phi-cmk", tags=PHI, storage_encrypted=True, kms_key_id=CMK_ID)),
        kind(**where(arn="arn:2", name="phi-default", tags=PHI, storage_encrypted=True,
                     kms_key_id="default_kms_key_id")),  # moto's word for the default aws/rds key
        kind(**where(arn="arn:3", name="std-default", storage_encrypted=True, kms_key_id=None)),
        kind(**where(arn="arn:4", name="plain", storage_encrypted=False)),
    )
    assert rules(results["phi-cmk"]) == set()
    assert rules(results["phi-default"]) == {R.AWS_RDS_NO_CMK}
    assert rules(results["std-default"]) == set()
    assert rules(results["plain"]) == {R.AWS_RDS_UNENCRYPTED}


def test_efs_and_backup_vaults() -> None:
    results = judged(
        EfsFileSystem(**where(arn="arn:e1", name="phi-cmk", tags=PHI, file_system_id="fs-1", encrypted=True,
                              kms_key_id=CMK_ARN)),
        EfsFileSystem(**where(arn="arn:e2", name="phi-default", tags=PHI, file_system_id="fs-2", encrypted=True)),
        EfsFileSystem(**where(arn="arn:e3", name="plain", file_system_id="fs-3", encrypted=False)),
        BackupVault(**where(arn="arn:b1", name="vault-phi", tags=PHI, encryption_key_arn=CMK_ARN)),
        BackupVault(**where(arn="arn:b2", name="vault-phi-default", tags=PHI)),
        BackupVault(**where(arn="arn:b3", name="vault-std")),
    )
    assert rules(results["phi-cmk"]) == set() and rules(results["phi-default"]) == {R.AWS_EFS_NO_CMK}
    assert rules(results["plain"]) == {R.AWS_EFS_UNENCRYPTED}
    assert rules(results["vault-phi"]) == set() and rules(results["vault-phi-default"]) == {R.AWS_BACKUP_NO_CMK}
    assert rules(results["vault-std"]) == set()


def test_a_key_that_is_not_in_the_inventory_is_unknown_not_a_guess() -> None:
    other = "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-000000000000"
    results = judged(
        EfsFileSystem(**where(arn="arn:e1", name="phi", tags=PHI, file_system_id="fs-1", encrypted=True,
                              kms_key_id=other)),
        EfsFileSystem(**where(arn="arn:e2", name="std", file_system_id="fs-2", encrypted=True, kms_key_id=other)),
    )
    assert rules(results["phi"]) == {R.AWS_KMS_KEY_UNKNOWN}
    assert RULES[R.AWS_KMS_KEY_UNKNOWN].severity.value == "info" and results["phi"].compliant is True
    assert "was not discovered" in results["phi"].findings[0].message
    assert results["std"].resource.attributes["key_manager"] == "unknown" and rules(results["std"]) == set()


# ------------------------------------------------------------------------------------ Secrets Manager, SSM


def test_secrets_key_and_rotation() -> None:
    def secret(name: str, **kw: Any) -> SecretsManagerSecret:
        return SecretsManagerSecret(**where(arn=f"arn:{name}", name=name, **kw))

    results = judged(
        secret("phi-cmk", tags=PHI, kms_key_id=CMK_ARN, rotation_enabled=True, rotation_days=30),
        secret("phi-default", tags=PHI, rotation_enabled=True, rotation_days=30),
        secret("std-off"),  # ListSecrets says nothing of rotation: off
        secret("std-yearly", rotation_enabled=True, rotation_days=365),
        secret("std-cron", rotation_enabled=True, rotation_schedule="cron(0 8 1 * ? *)"),
    )
    assert rules(results["phi-cmk"]) == set()
    assert rules(results["phi-default"]) == {R.AWS_SECRETS_NO_CMK}
    assert rules(results["std-off"]) == {R.AWS_SECRETS_ROTATION_DISABLED}
    assert rules(results["std-yearly"]) == {R.AWS_SECRETS_ROTATION_INTERVAL}
    assert results["std-yearly"].findings[0].evidence["max_days"] == PROFILE.aws.max_secret_rotation_days == 90
    assert rules(results["std-cron"]) == set()


@pytest.mark.parametrize(("name", "kind", "description", "flagged"), [
    ("/app/db/password", "String", None, True),
    ("/app/db/PASSWORD", "StringList", None, True),
    ("/app/db/password", "SecureString", None, False),
    ("/app/upstream", "String", "API key for the upstream", True),
    ("/app/github_token", "String", None, True),
    ("/app/log-level", "String", "how much to log", False),
])
def test_ssm_parameters_that_look_like_secrets(name: str, kind: str, description: str | None,
                                               flagged: bool) -> None:
    parameter = SsmParameter(**where(arn=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}", name=name, type=kind,
                                     description=description))
    assert rules(judged(parameter)[name]) == ({R.AWS_SSM_SECRET_AS_STRING} if flagged else set())


def test_secret_patterns_are_a_profile_setting() -> None:
    profile = PROFILE.model_copy(update={"aws": PROFILE.aws.model_copy(update={"secret_patterns": ("^/legacy/",)})})
    parameter = SsmParameter(**where(arn="arn:p", name="/legacy/flag", type="String"))
    password = SsmParameter(**where(arn="arn:q", name="/app/password", type="String"))
    results = {r.resource.name: r for r in judge_estate([parameter, password], profile, today=TODAY)}
    assert rules(results["/legacy/flag"]) == {R.AWS_SSM_SECRET_AS_STRING} and rules(results["/app/password"]) == set()


# ------------------------------------------------------------------------------------------------------ KMS


def _key_policy(*statements: dict[str, Any]) -> str:
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
            "Resource": "*"}
    return json.dumps({"Statement": [root, *statements]})


@pytest.mark.parametrize(("statement", "flagged"), [
    (None, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "kms:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Describe*", "kms:De*"], "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": "*", "NotAction": "kms:Encrypt", "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
      "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*"}, False),
    ({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}, False),
])
def test_key_policies_open_to_everyone(statement: dict[str, Any] | None, flagged: bool) -> None:
    key = cmk(policy=_key_policy(*([statement] if statement else [])))
    result = judged(key)[CMK_ID]
    assert (R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL in rules(result)) is flagged
    assert RULES[R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL].severity.value == "critical"


def test_keys_know_their_users_and_sensitivity() -> None:
    bucket = S3Bucket(**where(arn="arn:aws:s3:::phi", name="phi", tags=PHI, sse_algorithm="aws:kms",
                              kms_key_id="alias/app", bucket_key_enabled=True, policy=TLS_POLICY))
    used = judged(cmk(), bucket)[CMK_ID]
    assert used.resource.attributes["used_by"] == ["arn:aws:s3:::phi"]
    assert used.resource.attributes["sensitive"] is True  # by the data it protects
    assert rules(used) == {R.AWS_KMS_SENSITIVE_NO_REPLICA}
    replicated = judged(cmk(multi_region=True, multi_region_type="PRIMARY", replica_regions=("us-east-1",)), bucket)
    assert rules(replicated[CMK_ID]) == set()
    tagged = judged(cmk(tags=PHI))[CMK_ID]  # marked sensitive by its tags, used by nothing
    assert rules(tagged) == {R.AWS_KMS_SENSITIVE_NO_REPLICA} and tagged.resource.attributes["used_by"] == []
    assert rules(judged(cmk())[CMK_ID]) == set()
    # --require-kms-replica's kms.no_replica gives way to the sensitive rule on a sensitive key
    assert rules(judged(cmk(tags=PHI), require_kms_replica=True)[CMK_ID]) == {R.AWS_KMS_SENSITIVE_NO_REPLICA}
    assert rules(judged(cmk(), require_kms_replica=True)[CMK_ID]) == {R.KMS_NO_REPLICA}


@pytest.mark.parametrize(("state", "used", "flagged"), [
    ("Disabled", True, True), ("PendingDeletion", True, True), ("Enabled", True, False), ("Disabled", False, False),
])
def test_keys_disabled_or_pending_deletion_while_in_use(state: str, used: bool, flagged: bool) -> None:
    key = cmk(key_state=state, rotation_enabled=None)
    secret = SecretsManagerSecret(**where(arn="arn:secret", name="s", kms_key_id=CMK_ARN, rotation_enabled=True,
                                          rotation_days=30))
    result = judged(key, *([secret] if used else []))[CMK_ID]
    assert (R.AWS_KMS_KEY_UNUSABLE_IN_USE in rules(result)) is flagged
    if flagged:
        assert result.findings[-1].evidence["used_by"] == ["arn:secret"]


# ------------------------------------------------------------------------------------------------ CloudTrail


def trail(name: str, *, home: str = REGION, seen_from: str = REGION, **kw: Any) -> CloudTrailTrail:
    return CloudTrailTrail(account=ACCOUNT, region=home, arn=f"arn:aws:cloudtrail:{home}:{ACCOUNT}:trail/{name}",
                           name=name, home_region=home, seen_from=seen_from, **kw)


def test_trails_are_judged_once_and_the_account_needs_a_logging_multi_region_trail() -> None:
    good = {"multi_region": True, "logging": True, "log_file_validation": True, "kms_key_id": CMK_ARN}
    results = judge_estate([trail("main", seen_from="us-east-1", **good), trail("main", **good),
                            trail("main", seen_from="ap-southeast-2", **good), trail("old", logging=False),
                            cmk(), INDEX], PROFILE, today=TODAY)
    trails = [r for r in results if r.resource.kind == "cloudtrail-trail"]
    assert [r.resource.name for r in trails] == ["main", "old"]  # shadows dropped
    assert rules(trails[0]) == set()
    assert rules(trails[1]) == {R.AWS_CLOUDTRAIL_NOT_LOGGING, R.AWS_CLOUDTRAIL_NO_LOG_VALIDATION,
                                R.AWS_CLOUDTRAIL_NOT_ENCRYPTED}
    [account] = [r for r in results if r.resource.kind == "cloudtrail-account"]
    assert account.resource.id == f"arn:aws:cloudtrail::{ACCOUNT}:trails" and rules(account) == set()
    key = next(r for r in results if r.resource.kind == "kms-key")
    assert key.resource.attributes["used_by"] == [f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"]


@pytest.mark.parametrize("trails", [
    [], [trail("single", logging=True)], [trail("stopped", multi_region=True, logging=False)],
])
def test_an_account_without_a_logging_multi_region_trail(trails: list[CloudTrailTrail]) -> None:
    scopes = [ScopeStatus(account=ACCOUNT, region=REGION, service="cloudtrail", status="ok")]
    results = judge_estate(trails, PROFILE, today=TODAY, scopes=scopes)
    [account] = [r for r in results if r.resource.kind == "cloudtrail-account"]
    assert rules(account) == {R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL} and account.compliant is False


def test_no_account_judgement_where_cloudtrail_was_not_discovered() -> None:
    failed = [ScopeStatus(account=ACCOUNT, region=REGION, service="cloudtrail", status="error", errors=1)]
    assert judge_estate([], PROFILE, today=TODAY, scopes=failed) == []


# ------------------------------------------------------------------------------------ waivers, compliance


def test_waivers_match_a_resource_by_arn_its_resource_part_or_name() -> None:
    volume = EbsVolume(**where(arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-1", name="db-data", tags=PHI,
                               volume_id="vol-1", encrypted=True, kms_key_id=AWS_KEY_ID))
    for pattern in (volume.arn, "volume/vol-*", "db-data"):
        waiver = Waiver(rule="aws.ebs.*", endpoint=pattern, reason="migrating", expires=date(2026, 12, 31))
        [result] = [r for r in judge_estate([volume, cmk(), INDEX], PROFILE, [waiver], today=TODAY)
                    if r.resource.kind == "ebs-volume"]
        assert [f.waived for f in result.findings] == [True] and result.compliant is True, pattern


def test_every_rule_emitted_here_is_in_the_table_with_a_clause() -> None:
    emitted = {name: value for name, value in vars(R).items() if name.startswith("AWS_") and isinstance(value, str)}
    assert len(emitted) >= 25
    for value in emitted.values():
        spec = RULES[value]
        assert spec.clause.startswith("OP-POL-001 3.") and PROFILE.clause(value) == spec.clause
        assert PROFILE.remediation(value), value
