"""Posture inventory of one account/region: ACM certificates, customer-managed KMS keys and how key references
resolve (aliases, AWS-managed keys)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from probe.discovery.aws.session import pages
from probe.discovery.aws.unit import Unit
from probe.discovery.models import AcmCertificate, KmsKey
from probe.discovery.posture_models import KmsKeyIndex

__all__ = ["COLLECTORS"]

_AWS_ERRORS = (ClientError, BotoCoreError)
# ListCertificates returns only RSA-2048 certificates unless asked for every key type.
_ACM_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def collect_acm(unit: Unit) -> None:
    client = unit.client()
    for summary in pages(client, "list_certificates", "CertificateSummaryList", Includes={"keyTypes": _ACM_KEY_TYPES}):
        arn = summary["CertificateArn"]
        try:
            cert = client.describe_certificate(CertificateArn=arn)["Certificate"]
        except _AWS_ERRORS as exc:
            unit.fail(exc, f"DescribeCertificate {arn}")
            cert = summary
        # moto gap: requested (Amazon-issued) EC certificates are reported as RSA_2048.
        unit.items.append(AcmCertificate(
            account=unit.account.account_id, region=unit.region, arn=arn,
            domain_name=cert.get("DomainName"), key_algorithm=cert.get("KeyAlgorithm"), type=cert.get("Type"),
            status=cert.get("Status"), not_after=cert.get("NotAfter"),
            renewal_eligibility=cert.get("RenewalEligibility"), in_use_by=tuple(cert.get("InUseBy") or ()),
        ))


def _rotation(unit: Unit, key_id: str, meta: dict[str, object]) -> bool | None:
    """Rotation status where automatic rotation applies (enabled symmetric keys with KMS key material)."""
    facts = (meta.get("KeySpec"), meta.get("Origin"), meta.get("KeyState"))
    if facts != ("SYMMETRIC_DEFAULT", "AWS_KMS", "Enabled"):
        return None
    try:
        return bool(unit.client().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
    except _AWS_ERRORS as exc:
        unit.fail(exc, f"GetKeyRotationStatus {key_id}")
        return None


def _aliases(unit: Unit) -> dict[str, str]:
    """Alias name -> target key id of the region (an alias without a target is left out)."""
    try:
        return {str(a["AliasName"]): str(a["TargetKeyId"])
                for a in pages(unit.client(), "list_aliases", "Aliases") if a.get("TargetKeyId")}
    except _AWS_ERRORS as exc:
        unit.fail(exc, "ListAliases")
        return {}


def _key_details(unit: Unit, key_id: str) -> tuple[dict[str, str], str | None, tuple[str, ...]]:
    """A customer key's tags and key policy (metadata, for data classification and least privilege)."""
    client, unread = unit.client(), []
    tags: dict[str, str] = {}
    policy = None
    try:
        tags = {str(t["TagKey"]): str(t.get("TagValue", ""))
                for t in pages(client, "list_resource_tags", "Tags", KeyId=key_id)}
    except _AWS_ERRORS as exc:
        unit.fail(exc, f"ListResourceTags {key_id}")
        unread.append("tags")
    try:
        policy = str(client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    except _AWS_ERRORS as exc:
        unit.fail(exc, f"GetKeyPolicy {key_id}")
        unread.append("policy")
    return tags, policy, tuple(unread)


def collect_kms(unit: Unit) -> None:
    """Customer-managed keys (KmsKey: spec, state, rotation, replicas, aliases, tags, key policy) and the region's
    KmsKeyIndex (aliases and AWS-managed keys), which tells the judge whose key a resource uses."""
    client = unit.client()
    listing = list(pages(client, "list_keys", "Keys"))  # a denied region fails here, with one error
    aliases = _aliases(unit)
    by_key: dict[str, list[str]] = {}
    for name, target in sorted(aliases.items()):
        by_key.setdefault(target, []).append(name)
    aws_managed: list[str] = []
    for listed in listing:
        key_id = listed["KeyId"]
        try:
            meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
        except _AWS_ERRORS as exc:
            unit.fail(exc, f"DescribeKey {key_id}")
            continue
        # moto gap: the AWS-managed keys it creates on first use (aws/ebs ...) say KeyManager CUSTOMER; their
        # alias/aws/* alias tells them apart, as it does in AWS.
        names = by_key.get(key_id, [])
        if meta.get("KeyManager") != "CUSTOMER" or any(n.startswith("alias/aws/") for n in names):
            aws_managed.append(key_id)  # AWS-managed keys rotate by themselves and are not the customer's to configure
            continue
        config = meta.get("MultiRegionConfiguration") or {}
        replicas = tuple(sorted(r["Region"] for r in config.get("ReplicaKeys", []) if r.get("Region")))
        # Primary or replica, from where the primary lives. moto gap: its replica shares the primary's
        # configuration object, so MultiRegionKeyType may read REPLICA in the primary's region.
        primary_region = (config.get("PrimaryKey") or {}).get("Region")
        mr_type = None if not config else ("PRIMARY" if primary_region == unit.region else "REPLICA")
        tags, policy, unread = _key_details(unit, key_id)
        unit.items.append(KmsKey(
            account=unit.account.account_id, region=unit.region, arn=meta["Arn"], key_id=key_id,
            key_spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"), key_usage=meta.get("KeyUsage"),
            key_state=meta.get("KeyState"), origin=meta.get("Origin"), rotation_enabled=_rotation(unit, key_id, meta),
            multi_region=bool(meta.get("MultiRegion")), multi_region_type=mr_type,
            replica_regions=replicas if mr_type == "PRIMARY" else (), aliases=tuple(names), tags=tags,
            deletion_date=meta.get("DeletionDate"), policy=policy, unread=unread,
        ))
    unit.items.append(KmsKeyIndex(account=unit.account.account_id, region=unit.region, aliases=aliases,
                                  aws_managed=tuple(aws_managed)))


COLLECTORS = {"acm": collect_acm, "kms": collect_kms}
