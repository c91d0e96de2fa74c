"""The AWS estate's encryption posture judged, resource by resource, clause by clause. Pure: items in, results out.

Data classification comes from tags: a resource carrying one of the sensitive tags (`--sensitive-tag KEY=VALUE`,
by default DataClassification=ePHI or DataClassification=sensitive; keys exact, values case-insensitive) holds
ePHI or sensitive data, and the `*.no_cmk` rules ask a customer-managed KMS key of it (OP-POL-001 3.2.1.2); for
the rest an AWS-managed key, or S3's own SSE-S3 keys, pass, as 3.2.2.1 asks ("AWS-managed keys shall be used for
standard encryption requirements").

Whose key a resource uses is read from the KMS inventory of its account and region (`KmsKey` for customer keys,
`KmsKeyIndex` for aliases and AWS-managed keys): `alias/aws/*` and a service's default (no key named) are
AWS-managed; a key that is not in the inventory (another account, KMS not discovered) is unknown, and a sensitive
resource with an unknown key gets `aws.kms.key_unknown` (info) rather than a guess.

Each judged resource carries, in its attributes, `sensitive`, `key_manager` (customer, aws, s3, none, unknown),
`key` and `checked_rules` (the rules judged on it: the coverage matrix counts them). KMS keys also carry
`used_by`, the resources that use them, for `aws.kms.key_unusable_in_use` and for keys marked sensitive by use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from probe.discovery.models import KmsKey, ScopeStatus
from probe.discovery.posture_models import (
    AWS_RESOURCE_TYPES,
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
from probe.models import Finding, Resource, ResourceResult, Severity, Waiver
from probe.policy import rule_ids as R
from probe.policy.compliance import compliant
from probe.policy.profile import DEFAULT_SECRET_PATTERNS, Profile
from probe.policy.resources import _clause, _severity, judge_resource, posture_findings
from probe.policy.waivers import apply_waivers

__all__ = [
    "DEFAULT_SENSITIVE_TAGS",
    "KeyManager",
    "SensitiveTag",
    "is_sensitive",
    "judge_estate",
    "parse_sensitive_tags",
]

SensitiveTag = tuple[str, str]
DEFAULT_SENSITIVE_TAGS: tuple[SensitiveTag, ...] = (("DataClassification", "ePHI"),
                                                    ("DataClassification", "sensitive"))
DEFAULT_MAX_SECRET_ROTATION_DAYS = 90
_UNUSABLE_STATES = ("Disabled", "PendingDeletion", "PendingReplicaDeletion")
# A key id: a UUID, or a multi-Region key's mrk- and 32 hex digits (moto writes a UUID after mrk-).
_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|(mrk-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.I)
_KMS_ARN = re.compile(r"^arn:[\w-]+:kms:([\w-]+):(\d{12}):(key|alias)/(.+)$")


def parse_sensitive_tags(values: Iterable[str]) -> tuple[SensitiveTag, ...]:
    """`KEY=VALUE` strings (--sensitive-tag) as pairs; InputError on one without a key or an '='."""
    tags: list[SensitiveTag] = []
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--sensitive-tag {value!r}: expected KEY=VALUE (e.g. DataClassification=ePHI)")
        tags.append((key.strip(), tag_value.strip()))
    return tuple(dict.fromkeys(tags))


def is_sensitive(tags: dict[str, str], sensitive_tags: Sequence[SensitiveTag]) -> bool:
    """True when one of the tags is a sensitive tag (key exact, value case-insensitive)."""
    return any(tags.get(key, "").casefold() == value.casefold() for key, value in sensitive_tags if key in tags)


# ------------------------------------------------------------------------------------------------------ keys


class KeyManager(StrEnum):
    """Who holds the key that encrypts a resource."""

    CUSTOMER = "customer"  # a customer-managed KMS key
    AWS = "aws"  # an AWS-managed KMS key (aws/<service>)
    S3 = "s3"  # SSE-S3: keys S3 holds, no KMS key
    NONE = "none"  # not encrypted
    UNKNOWN = "unknown"  # a KMS key not in the inventory


@dataclass(frozen=True)
class KeyRef:
    manager: KeyManager
    key: str | None  # the key's ARN (customer keys), or what names the key
    note: str = ""

    def describe(self) -> str:
        return {KeyManager.CUSTOMER: f"customer-managed key {self.key}", KeyManager.S3: "SSE-S3 (keys held by S3)",
                KeyManager.NONE: "no key"}.get(self.manager, f"{self.note or self.key}")


class KeyDirectory:
    """Resolves a resource's key reference (key id, key ARN, alias, alias ARN, none) in its account and region."""

    def __init__(self, keys: Iterable[KmsKey], indexes: Iterable[KmsKeyIndex]) -> None:
        self.customer: dict[tuple[str, str, str], KmsKey] = {(k.account, k.region, k.key_id): k for k in keys}
        self.aws: set[tuple[str, str, str]] = set()
        self.aliases: dict[tuple[str, str, str], str] = {}
        self.indexed: set[tuple[str, str]] = set()
        for index in indexes:
            self.indexed.add((index.account, index.region))
            self.aws.update((index.account, index.region, key) for key in index.aws_managed)
            self.aliases.update(((index.account, index.region, name), key) for name, key in index.aliases.items())

    def resolve(self, ref: str | None, account: str, region: str, default: str) -> KeyRef:
        if not ref:
            return KeyRef(KeyManager.AWS, default, f"the default key {default} (AWS-managed)")
        alias: str | None = None
        key_id: str | None = None
        match = _KMS_ARN.match(ref)
        if match:
            region, account = match.group(1), match.group(2)
            if match.group(3) == "alias":
                alias = f"alias/{match.group(4)}"
            else:
                key_id = match.group(4)
        elif ref.startswith("alias/"):
            alias = ref
        elif _KEY_ID.match(ref):
            key_id = ref
        else:
            # moto gap: an RDS database encrypted with its default key reports KmsKeyId "default_kms_key_id"
            # (AWS gives the ARN of aws/rds). Neither an id, an ARN nor an alias: read as the service's default.
            return KeyRef(KeyManager.AWS, default, f"the default key {default} (AWS-managed; reported as {ref!r})")
        if alias is not None:
            if alias.startswith("alias/aws/"):
                return KeyRef(KeyManager.AWS, ref, f"the AWS-managed key {alias}")
            key_id = self.aliases.get((account, region, alias))
            if key_id is None:
                return self._unknown(ref, account, region)
        assert key_id is not None
        found = self.customer.get((account, region, key_id))
        if found is not None:
            return KeyRef(KeyManager.CUSTOMER, found.arn)
        if (account, region, key_id) in self.aws:
            return KeyRef(KeyManager.AWS, ref, f"an AWS-managed key ({ref})")
        return self._unknown(ref, account, region)

    def _unknown(self, ref: str, account: str, region: str) -> KeyRef:
        why = ("not in the key list of its region" if (account, region) in self.indexed
               else f"KMS of account {account} in {region} was not discovered")
        return KeyRef(KeyManager.UNKNOWN, ref, f"key {ref} ({why})")


# ------------------------------------------------------------------------------------------------- policies


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else ([] if value is None else [value])


def _statements(policy: str | None) -> list[dict[str, Any]]:
    try:
        document = json.loads(policy or "{}")
    except json.JSONDecodeError:
        return []
    return [s for s in _listed(document.get("Statement") if isinstance(document, dict) else None)
            if isinstance(s, dict)]


def _everyone(statement: dict[str, Any]) -> bool:
    """The statement's principal is anyone ("*", {"AWS": "*"}), or everyone but some (NotPrincipal)."""
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _listed(value) for value in principal.values())
    return False


def _grants(statement: dict[str, Any], action: str) -> bool:
    """The statement's Action (or NotAction) covers `action` (IAM wildcards, case-insensitive)."""
    if "NotAction" in statement:
        return not any(fnmatchcase(action, str(a).lower()) for a in _listed(statement["NotAction"]))
    return any(fnmatchcase(action, str(a).lower()) for a in _listed(statement.get("Action")))


def _condition_values(statement: dict[str, Any], operators: tuple[str, ...], key: str) -> list[str]:
    values: list[str] = []
    for operator, block in (statement.get("Condition") or {}).items():
        if str(operator).lower() in operators and isinstance(block, dict):
            for name, value in block.items():
                if str(name).lower() == key:
                    values += [str(v) for v in _listed(value)]
    return values


def _s3_tls_facts(policy: str | None) -> tuple[bool, float | None]:
    """(requests without TLS denied, the lowest TLS version a s3:TlsVersion deny admits). Only Deny statements
    for everyone that cover s3:GetObject count, the form AWS documents for both conditions."""
    required, minimum = False, None
    for statement in _statements(policy):
        if str(statement.get("Effect")) != "Deny" or not _everyone(statement) or not _grants(statement, "s3:getobject"):
            continue
        if any(v.lower() == "false" for v in _condition_values(statement, ("bool", "boolifexists"),
                                                                "aws:securetransport")):
            required = True
        for value in _condition_values(statement, ("numericlessthan",), "s3:tlsversion"):
            try:
                minimum = max(minimum or 0.0, float(value))
            except ValueError:
                continue
    return required, minimum


def _open_grants(policy: str | None) -> list[dict[str, Any]]:
    """Allow statements that give kms:* or kms:Decrypt to everyone without a condition."""
    return [s for s in _statements(policy)
            if str(s.get("Effect")) == "Allow" and _everyone(s) and not s.get("Condition")
            and (_grants(s, "kms:decrypt") or _grants(s, "kms:*"))]


# ------------------------------------------------------------------------------------------------- judging


@dataclass
class _Judged:
    """One resource on its way to a ResourceResult."""

    resource: Resource
    findings: list[Finding] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Judge:
    profile: Profile | None
    sensitive_tags: Sequence[SensitiveTag]
    keys: KeyDirectory
    usage: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # customer key ARN -> (resource, sensitive)

    def finding(self, rule: str, message: str, evidence: dict[str, Any]) -> Finding:
        return Finding(rule=rule, severity=_severity(self.profile, rule), clause=_clause(self.profile, rule),
                       message=message, evidence=evidence)

    def sensitive(self, tags: dict[str, str], unread: Sequence[str]) -> bool | None:
        if is_sensitive(tags, self.sensitive_tags):
            return True
        return None if "tags" in unread else False

    def record(self, judged: _Judged, key: KeyRef, sensitive: bool | None) -> None:
        """The resource's key in its attributes, and the resource among its customer key's users."""
        judged.attributes.update(key_manager=key.manager.value, key=key.key)
        if key.manager == KeyManager.CUSTOMER and key.key:
            self.usage.setdefault(key.key, []).append((judged.resource.id, bool(sensitive)))

    def keyed(self, judged: _Judged, key: KeyRef, sensitive: bool | None, rule: str, what: str) -> None:
        """Record the resource's key; on a sensitive resource, ask for a customer-managed key (rule)."""
        self.record(judged, key, sensitive)
        if not sensitive:
            return
        judged.checked.add(rule)
        if key.manager == KeyManager.UNKNOWN:
            judged.checked.add(R.AWS_KMS_KEY_UNKNOWN)
            judged.findings.append(self.finding(
                R.AWS_KMS_KEY_UNKNOWN, f"sensitive {what}: whether its {key.describe()} is customer-managed is unknown",
                {"key": key.key}))
        elif key.manager != KeyManager.CUSTOMER:
            judged.findings.append(self.finding(
                rule, f"sensitive {what} is encrypted with {key.describe()}, not a customer-managed key",
                {"key_manager": key.manager.value, "key": key.key}))

    # -- one method per kind -------------------------------------------------------------------------
    def s3(self, item: S3Bucket, judged: _Judged, sensitive: bool | None) -> None:
        if "encryption" not in item.unread:
            if item.sse_algorithm in (None, "AES256"):
                key = KeyRef(KeyManager.S3, None)
            else:
                key = self.keys.resolve(item.kms_key_id, item.account, item.region, "alias/aws/s3")
            self.keyed(judged, key, sensitive, R.AWS_S3_NO_CMK, "bucket")
            if item.sse_algorithm == "aws:kms":
                judged.checked.add(R.AWS_S3_BUCKET_KEY_DISABLED)
                if not item.bucket_key_enabled:
                    judged.findings.append(self.finding(
                        R.AWS_S3_BUCKET_KEY_DISABLED, "SSE-KMS without an S3 Bucket Key: one KMS request per object",
                        {"sse_algorithm": item.sse_algorithm, "bucket_key_enabled": item.bucket_key_enabled}))
        if "policy" in item.unread:
            return
        required, minimum = _s3_tls_facts(item.policy)
        judged.attributes.update(tls_required=required, min_tls_version=minimum)
        judged.checked.update({R.AWS_S3_TLS_NOT_REQUIRED, R.AWS_S3_TLS_VERSION_BELOW_MINIMUM})
        if not required:
            judged.findings.append(self.finding(
                R.AWS_S3_TLS_NOT_REQUIRED, "the bucket policy does not deny requests without TLS "
                "(aws:SecureTransport false)", {"policy": "none" if item.policy is None else "no such statement"}))
        if minimum is not None and minimum < 1.2:
            judged.findings.append(self.finding(
                R.AWS_S3_TLS_VERSION_BELOW_MINIMUM, f"the bucket policy's s3:TlsVersion condition admits TLS {minimum}",
                {"min_tls_version": minimum, "required": 1.2}))

    def ebs_default(self, item: EbsEncryptionDefault, judged: _Judged) -> None:
        judged.checked.add(R.AWS_EBS_DEFAULT_ENCRYPTION_OFF)
        if not item.enabled:
            judged.findings.append(self.finding(
                R.AWS_EBS_DEFAULT_ENCRYPTION_OFF, f"EBS encryption by default is off in {item.region}",
                {"EbsEncryptionByDefault": False}))

    def ebs(self, item: EbsVolume | EbsSnapshot, judged: _Judged, sensitive: bool | None,
            volumes: dict[tuple[str, str, str], EbsVolume]) -> None:
        what = "volume" if isinstance(item, EbsVolume) else "snapshot"
        rule = R.AWS_EBS_VOLUME_UNENCRYPTED if isinstance(item, EbsVolume) else R.AWS_EBS_SNAPSHOT_UNENCRYPTED
        judged.checked.add(rule)
        if not item.encrypted:
            judged.attributes.update(key_manager=KeyManager.NONE.value, key=None)
            judged.findings.append(self.finding(rule, f"EBS {what} is not encrypted", {"Encrypted": False}))
            return
        key_id = item.kms_key_id
        if isinstance(item, EbsSnapshot) and key_id is None and item.volume_id:
            # moto gap: snapshots list no KmsKeyId; a snapshot is encrypted with its volume's key unless copied
            # with another, so the volume's key is read.
            source = volumes.get((item.account, item.region, item.volume_id))
            key_id = source.kms_key_id if source is not None else None
        key = self.keys.resolve(key_id, item.account, item.region, "alias/aws/ebs")
        self.keyed(judged, key, sensitive, R.AWS_EBS_NO_CMK, f"EBS {what}")

    def rds(self, item: RdsInstance | RdsCluster, judged: _Judged, sensitive: bool | None) -> None:
        what = "database" if isinstance(item, RdsInstance) else "database cluster"
        judged.checked.add(R.AWS_RDS_UNENCRYPTED)
        if not item.storage_encrypted:
            judged.attributes.update(key_manager=KeyManager.NONE.value, key=None)
            judged.findings.append(self.finding(R.AWS_RDS_UNENCRYPTED, f"{what} storage is not encrypted",
                                                {"StorageEncrypted": False, "engine": item.engine}))
            return
        key = self.keys.resolve(item.kms_key_id, item.account, item.region, "alias/aws/rds")
        self.keyed(judged, key, sensitive, R.AWS_RDS_NO_CMK, what)

    def efs(self, item: EfsFileSystem, judged: _Judged, sensitive: bool | None) -> None:
        judged.checked.add(R.AWS_EFS_UNENCRYPTED)
        if not item.encrypted:
            judged.attributes.update(key_manager=KeyManager.NONE.value, key=None)
            judged.findings.append(self.finding(R.AWS_EFS_UNENCRYPTED, "file system is not encrypted at rest",
                                                {"Encrypted": False}))
            return
        # moto gap: a file system encrypted with the default key lists no KmsKeyId (AWS names the
        # aws/elasticfilesystem key); none is read as that default key.
        key = self.keys.resolve(item.kms_key_id, item.account, item.region, "alias/aws/elasticfilesystem")
        self.keyed(judged, key, sensitive, R.AWS_EFS_NO_CMK, "file system")

    def backup(self, item: BackupVault, judged: _Judged, sensitive: bool | None) -> None:
        key = self.keys.resolve(item.encryption_key_arn, item.account, item.region, "alias/aws/backup")
        self.keyed(judged, key, sensitive, R.AWS_BACKUP_NO_CMK, "backup vault")

    def secret(self, item: SecretsManagerSecret, judged: _Judged, sensitive: bool | None) -> None:
        key = self.keys.resolve(item.kms_key_id, item.account, item.region, "alias/aws/secretsmanager")
        self.keyed(judged, key, sensitive, R.AWS_SECRETS_NO_CMK, "secret")
        judged.checked.update({R.AWS_SECRETS_ROTATION_DISABLED, R.AWS_SECRETS_ROTATION_INTERVAL})
        if not item.rotation_enabled:
            judged.findings.append(self.finding(R.AWS_SECRETS_ROTATION_DISABLED, "automatic rotation is off",
                                                {"RotationEnabled": False}))
            return
        limit = self.profile.aws.max_secret_rotation_days if self.profile else DEFAULT_MAX_SECRET_ROTATION_DAYS
        if item.rotation_days is not None and item.rotation_days > limit:
            judged.findings.append(self.finding(
                R.AWS_SECRETS_ROTATION_INTERVAL, f"rotated every {item.rotation_days} days (at most {limit})",
                {"rotation_days": item.rotation_days, "max_days": limit, "schedule": item.rotation_schedule}))

    def ssm(self, item: SsmParameter, judged: _Judged) -> None:
        judged.checked.add(R.AWS_SSM_SECRET_AS_STRING)
        if item.type == "SecureString":
            self.record(judged, self.keys.resolve(item.key_id, item.account, item.region, "alias/aws/ssm"), False)
            return
        judged.attributes.update(key_manager=KeyManager.NONE.value, key=None)
        patterns = self.profile.aws.secret_patterns if self.profile else DEFAULT_SECRET_PATTERNS
        for where, text in (("name", item.name or ""), ("description", item.description or "")):
            for pattern in patterns:
                if re.search(pattern, text, re.IGNORECASE):
                    judged.findings.append(self.finding(
                        R.AWS_SSM_SECRET_AS_STRING, f"its {where} looks like a secret ({pattern}) but it is stored "
                        f"as {item.type}, not SecureString", {"type": item.type, "matched": where, "pattern": pattern}))
                    return

    def trail(self, item: CloudTrailTrail, judged: _Judged) -> None:
        judged.checked.update({R.AWS_CLOUDTRAIL_NO_LOG_VALIDATION, R.AWS_CLOUDTRAIL_NOT_ENCRYPTED})
        if item.logging is not None:
            judged.checked.add(R.AWS_CLOUDTRAIL_NOT_LOGGING)
            if not item.logging:
                judged.findings.append(self.finding(R.AWS_CLOUDTRAIL_NOT_LOGGING, "the trail is not logging",
                                                    {"IsLogging": False}))
        if not item.log_file_validation:
            judged.findings.append(self.finding(R.AWS_CLOUDTRAIL_NO_LOG_VALIDATION, "log file validation is off",
                                                {"LogFileValidationEnabled": False}))
        if item.kms_key_id is None:
            judged.attributes.update(key_manager=KeyManager.S3.value, key=None)
            judged.findings.append(self.finding(R.AWS_CLOUDTRAIL_NOT_ENCRYPTED,
                                                "log files are not encrypted with a KMS key (SSE-S3 only)",
                                                {"KmsKeyId": None}))
        else:
            self.record(judged, self.keys.resolve(item.kms_key_id, item.account, item.home_region, ""), False)

    def kms(self, item: KmsKey, judged: _Judged, today: date, require_replica: bool) -> None:
        used = self.usage.get(item.arn, [])
        judged.attributes["used_by"] = sorted({resource for resource, _ in used})
        sensitive = is_sensitive(item.tags, self.sensitive_tags) or any(flag for _, flag in used)
        judged.attributes.update(sensitive=sensitive, key_manager=KeyManager.CUSTOMER.value)
        findings = posture_findings(item, self.profile, today=today, require_kms_replica=require_replica)
        judged.checked.update({R.KMS_ROTATION_DISABLED, R.KMS_KEY_WEAK, R.AWS_KMS_KEY_UNUSABLE_IN_USE})
        if require_replica:
            judged.checked.add(R.KMS_NO_REPLICA)
        if "policy" not in item.unread:
            judged.checked.add(R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL)
            for statement in _open_grants(item.policy):
                findings.append(self.finding(
                    R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL, 'the key policy lets "Principal": "*" use the key '
                    "without a condition", {"statement": statement}))
        if sensitive:
            judged.checked.add(R.AWS_KMS_SENSITIVE_NO_REPLICA)
            if item.multi_region_type != "REPLICA" and not item.replica_regions:
                findings = [f for f in findings if f.rule != R.KMS_NO_REPLICA]  # the sensitive rule says more
                why = "tagged sensitive" if is_sensitive(item.tags, self.sensitive_tags) else "used by sensitive data"
                findings.append(self.finding(
                    R.AWS_KMS_SENSITIVE_NO_REPLICA, f"key {why} has no multi-Region replica",
                    {"multi_region": item.multi_region, "replica_regions": list(item.replica_regions)}))
        if item.key_state in _UNUSABLE_STATES and used:
            findings.append(self.finding(
                R.AWS_KMS_KEY_UNUSABLE_IN_USE, f"key is {item.key_state} while {len(used)} resource(s) use it",
                {"key_state": item.key_state, "deletion_date": item.deletion_date.isoformat()
                 if item.deletion_date else None, "used_by": judged.attributes["used_by"][:20]}))
        judged.findings = findings


def _trails(trails: Sequence[CloudTrailTrail]) -> list[CloudTrailTrail]:
    """One copy per trail: the one listed in its home region, else the first seen."""
    chosen: dict[str, CloudTrailTrail] = {}
    for trail in trails:
        kept = chosen.get(trail.arn)
        if kept is None or (kept.seen_from != kept.home_region and trail.seen_from == trail.home_region):
            chosen[trail.arn] = trail
    return list(chosen.values())


def _account_trails(judge: _Judge, account: str, partition: str, trails: Sequence[CloudTrailTrail]) -> _Judged:
    resource = Resource(provider="aws", kind="cloudtrail-account", id=f"arn:{partition}:cloudtrail::{account}:trails",
                        name=f"CloudTrail of {account}", account=account, region=None)
    judged = _Judged(resource, checked={R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL})
    multi = [t for t in trails if t.multi_region]
    judged.attributes.update(trails=sorted(t.arn for t in trails), multi_region_trails=sorted(t.arn for t in multi))
    if any(t.logging for t in multi) or any(t.logging is None for t in multi):
        return judged  # a logging multi-Region trail (or one whose status could not be read)
    judged.findings.append(judge.finding(
        R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL, "no multi-Region trail is logging" if multi
        else "the account has no multi-Region trail", {"multi_region_trails": [t.arn for t in multi]}))
    return judged


def judge_estate(items: Iterable[Any], profile: Profile | None = None, waivers: Sequence[Waiver] = (), *,
                 today: date | None = None, require_kms_replica: bool = False,
                 sensitive_tags: Sequence[SensitiveTag] = DEFAULT_SENSITIVE_TAGS,
                 scopes: Sequence[ScopeStatus] = ()) -> list[ResourceResult]:
    """Every discovered posture item judged as a resource, in discovery order: the AWS estate's items here (keys
    with the resources that use them, one copy of each trail, one `cloudtrail-account` per account whose
    CloudTrail was discovered), every other item by `probe.policy.resources.judge_resource`."""
    day = today or datetime.now(UTC).date()
    items = list(items)
    keys = [i for i in items if isinstance(i, KmsKey)]
    judge = _Judge(profile, tuple(sensitive_tags),
                   KeyDirectory(keys, [i for i in items if isinstance(i, KmsKeyIndex)]))
    volumes = {(i.account, i.region, i.volume_id): i for i in items if isinstance(i, EbsVolume)}
    trails = _trails([i for i in items if isinstance(i, CloudTrailTrail)])
    kept_trails = {id(t) for t in trails}
    ordered: list[_Judged | ResourceResult] = []
    pending_keys: list[tuple[KmsKey, _Judged]] = []
    for item in items:
        if isinstance(item, KmsKeyIndex) or (isinstance(item, CloudTrailTrail) and id(item) not in kept_trails):
            continue
        if isinstance(item, KmsKey):
            judged = _Judged(item.resource())
            pending_keys.append((item, judged))  # judged once every resource has named its key
            ordered.append(judged)
            continue
        if not isinstance(item, AWS_RESOURCE_TYPES):
            ordered.append(judge_resource(item, profile, waivers, today=day, require_kms_replica=require_kms_replica))
            continue
        judged = _Judged(item.resource())
        sensitive = judge.sensitive(item.tags, item.unread)
        if not isinstance(item, EbsEncryptionDefault | CloudTrailTrail | SsmParameter):
            judged.attributes["sensitive"] = sensitive
        if isinstance(item, EbsSnapshot) and not sensitive and item.volume_id:
            source = volumes.get((item.account, item.region, item.volume_id))
            if source is not None and is_sensitive(source.tags, judge.sensitive_tags):
                sensitive = True  # a snapshot holds its volume's data
                judged.attributes["sensitive"] = True
        _dispatch(judge, item, judged, sensitive, volumes)
        ordered.append(judged)
    for key, judged in pending_keys:
        judge.kms(key, judged, day, require_kms_replica)
    accounts = {s.account for s in scopes if s.service == "cloudtrail" and s.status == "ok" and s.account}
    accounts |= {t.account for t in trails}
    for account in sorted(accounts):
        mine = [t for t in trails if t.account == account]
        partition = mine[0].arn.split(":")[1] if mine else "aws"
        ordered.append(_account_trails(judge, account, partition, mine))
    return [entry if isinstance(entry, ResourceResult) else _result(entry, profile, waivers, day)
            for entry in ordered]


def _dispatch(judge: _Judge, item: Any, judged: _Judged, sensitive: bool | None,
              volumes: dict[tuple[str, str, str], EbsVolume]) -> None:
    if isinstance(item, S3Bucket):
        judge.s3(item, judged, sensitive)
    elif isinstance(item, EbsEncryptionDefault):
        judge.ebs_default(item, judged)
    elif isinstance(item, EbsVolume | EbsSnapshot):
        judge.ebs(item, judged, sensitive, volumes)
    elif isinstance(item, RdsInstance | RdsCluster):
        judge.rds(item, judged, sensitive)
    elif isinstance(item, EfsFileSystem):
        judge.efs(item, judged, sensitive)
    elif isinstance(item, BackupVault):
        judge.backup(item, judged, sensitive)
    elif isinstance(item, SecretsManagerSecret):
        judge.secret(item, judged, sensitive)
    elif isinstance(item, SsmParameter):
        judge.ssm(item, judged)
    elif isinstance(item, CloudTrailTrail):
        judge.trail(item, judged)


def _result(judged: _Judged, profile: Profile | None, waivers: Sequence[Waiver], today: date) -> ResourceResult:
    attributes = {**judged.resource.attributes, **judged.attributes,
                  "checked_rules": sorted(r for r in judged.checked if r)}
    resource = judged.resource.model_copy(update={"attributes": attributes})
    findings = apply_waivers(judged.findings, resource, waivers, today=today)
    threshold = profile.compliance_threshold if profile is not None else Severity.MEDIUM
    return ResourceResult(resource=resource, findings=findings, compliant=compliant(findings, threshold))
