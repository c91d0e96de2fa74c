"""Posture inventory of one account/region: ACM certificates and customer-managed KMS keys."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from probe.discovery.aws.session import pages
from probe.discovery.aws.unit import Unit
from probe.discovery.models import AcmCertificate, KmsKey

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


def collect_kms(unit: Unit) -> None:
    client = unit.client()
    for listed in pages(client, "list_keys", "Keys"):
        key_id = listed["KeyId"]
        try:
            meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
        except _AWS_ERRORS as exc:
            unit.fail(exc, f"DescribeKey {key_id}")
            continue
        if meta.get("KeyManager") != "CUSTOMER":
            continue  # AWS-managed keys rotate by themselves and are not the customer's to configure
        config = meta.get("MultiRegionConfiguration") or {}
        replicas = tuple(sorted(r["Region"] for r in config.get("ReplicaKeys", []) if r.get("Region")))
        # Primary or replica, from where the primary lives. moto gap: its replica shares the primary's
        # configuration object, so MultiRegionKeyType may read REPLICA in the primary's region.
        primary_region = (config.get("PrimaryKey") or {}).get("Region")
        mr_type = None if not config else ("PRIMARY" if primary_region == unit.region else "REPLICA")
        unit.items.append(KmsKey(
            account=unit.account.account_id, region=unit.region, arn=meta["Arn"], key_id=key_id,
            key_spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"), key_usage=meta.get("KeyUsage"),
            key_state=meta.get("KeyState"), origin=meta.get("Origin"), rotation_enabled=_rotation(unit, key_id, meta),
            multi_region=bool(meta.get("MultiRegion")), multi_region_type=mr_type,
            replica_regions=replicas if mr_type == "PRIMARY" else (),
        ))


COLLECTORS = {"acm": collect_acm, "kms": collect_kms}
