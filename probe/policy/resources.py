"""ACM certificates and KMS keys judged as resources (OP-POL-001 3.3.1.2, 3.1.2.2, 3.2.2.1), and the dispatch of
every other posture item to its provider's module (probe.policy.azure, probe.policy.gcp). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from probe.discovery.models import (
    AcmCertificate,
    CloudKmsKey,
    GcpSslCertificate,
    KeyVault,
    KeyVaultKey,
    KmsKey,
    ResourceItem,
)
from probe.models import Finding, ResourceResult, Severity, Waiver
from probe.policy import rule_ids as R
from probe.policy.compliance import compliant
from probe.policy.profile import Profile
from probe.policy.rules import RULES
from probe.policy.waivers import apply_waivers

__all__ = ["DEFAULT_EXPIRY_WARNING_DAYS", "judge_resource", "posture_findings"]

DEFAULT_EXPIRY_WARNING_DAYS = 30
# ACM / KMS key names -> (kind, bits)
_ACM_KEYS = {"RSA_1024": ("RSA", 1024), "RSA_2048": ("RSA", 2048), "RSA_3072": ("RSA", 3072),
             "RSA_4096": ("RSA", 4096), "EC_prime256v1": ("EC", 256), "EC_secp384r1": ("EC", 384),
             "EC_secp521r1": ("EC", 521)}
_KMS_KEYS = {"RSA_2048": ("RSA", 2048), "RSA_3072": ("RSA", 3072), "RSA_4096": ("RSA", 4096),
             "ECC_NIST_P256": ("EC", 256), "ECC_NIST_P384": ("EC", 384), "ECC_NIST_P521": ("EC", 521),
             "ECC_SECG_P256K1": ("EC", 256), "SM2": ("EC", 256)}
# Used when the profile has no key tiers: RSA < 2048 high, < 3072 medium; EC < 256 high (OP-POL-001).
_DEFAULT_TIERS = {"RSA": ((2048, Severity.HIGH), (3072, Severity.MEDIUM)), "EC": ((256, Severity.HIGH),)}


def _key_tiers(profile: Profile | None, kind: str) -> tuple[tuple[int, Severity], ...]:
    keys = getattr(profile, "keys", None)
    tiers = getattr(keys, "rsa" if kind == "RSA" else "ec", None) if keys is not None else None
    if tiers:
        return tuple(sorted((t.below, t.severity) for t in tiers))
    return _DEFAULT_TIERS.get(kind, ())


def _weak_key(rule: str, name: str | None, table: dict[str, tuple[str, int]], profile: Profile | None,
              what: str) -> Finding | None:
    if name not in table:
        return None
    kind, bits = table[name]
    for below, severity in _key_tiers(profile, kind):
        if bits < below:
            return Finding(rule=rule, severity=severity, clause=_clause(profile, rule),
                           message=f"{what} key {name} is below {kind}-{below}",
                           evidence={"key": name, "key_type": kind, "key_bits": bits, "minimum": below})
    return None


def _clause(profile: Profile | None, rule: str) -> str:
    return profile.clause(rule) if profile is not None else RULES[rule].clause


def _severity(profile: Profile | None, rule: str) -> Severity:
    return profile.severity(rule) if profile is not None else RULES[rule].severity


def _acm_findings(cert: AcmCertificate, profile: Profile | None, today: date) -> list[Finding]:
    findings: list[Finding] = []
    if cert.type == "IMPORTED":
        findings.append(Finding(rule=R.ACM_IMPORTED, severity=_severity(profile, R.ACM_IMPORTED),
                                clause=_clause(profile, R.ACM_IMPORTED),
                                message="imported certificate: ACM does not renew it automatically",
                                evidence={"type": cert.type, "renewal_eligibility": cert.renewal_eligibility}))
    if cert.not_after is not None:
        not_after = cert.not_after if cert.not_after.tzinfo else cert.not_after.replace(tzinfo=UTC)
        days = (not_after.date() - today).days
        settings = getattr(profile, "certificates", None)
        window = getattr(settings, "expiry_warning_days", DEFAULT_EXPIRY_WARNING_DAYS)
        evidence = {"not_after": not_after.isoformat(), "days_to_expiry": days, "window_days": window}
        if days < 0:
            severity = getattr(settings, "expired_severity", Severity.HIGH)
            findings.append(Finding(rule=R.ACM_EXPIRED, severity=severity, clause=_clause(profile, R.ACM_EXPIRED),
                                    message=f"certificate expired {-days} day(s) ago", evidence=evidence))
        elif days <= window:
            severity = getattr(settings, "expiring_severity", Severity.MEDIUM)
            findings.append(Finding(rule=R.ACM_EXPIRING, severity=severity, clause=_clause(profile, R.ACM_EXPIRING),
                                    message=f"certificate expires in {days} day(s)", evidence=evidence))
    weak = _weak_key(R.ACM_KEY_WEAK, cert.key_algorithm, _ACM_KEYS, profile, "certificate")
    if weak:
        findings.append(weak)
    return findings


def _kms_findings(key: KmsKey, profile: Profile | None, require_replica: bool) -> list[Finding]:
    findings: list[Finding] = []
    if key.rotation_enabled is False:
        findings.append(Finding(rule=R.KMS_ROTATION_DISABLED, severity=_severity(profile, R.KMS_ROTATION_DISABLED),
                                clause=_clause(profile, R.KMS_ROTATION_DISABLED),
                                message="automatic key rotation is disabled",
                                evidence={"key_spec": key.key_spec, "key_state": key.key_state}))
    weak = _weak_key(R.KMS_KEY_WEAK, key.key_spec, _KMS_KEYS, None, "KMS")
    if weak and profile is not None:
        weak = weak.model_copy(update={"clause": profile.clause(R.KMS_KEY_WEAK)})
    if weak:
        findings.append(weak)
    is_replica = key.multi_region_type == "REPLICA"
    if require_replica and not is_replica and not key.replica_regions:
        findings.append(Finding(rule=R.KMS_NO_REPLICA, severity=_severity(profile, R.KMS_NO_REPLICA),
                                clause=_clause(profile, R.KMS_NO_REPLICA),
                                message="customer key has no cross-region replica",
                                evidence={"multi_region": key.multi_region}))
    return findings


def posture_findings(item: ResourceItem, profile: Profile | None = None, *, today: date,
                     require_kms_replica: bool = False) -> list[Finding]:
    """Findings of one posture item. `profile` (a probe.policy.Profile, optional) supplies the expiry
    window (certificates.expiry_warning_days, else 30 days) and the RSA/EC key tiers of certificates;
    KMS keys use RSA-3072 / ECC-256 (OP-POL-001 3.1.2.2). `require_kms_replica` switches kms.no_replica on
    (and gcp.kms.single_region). Azure Key Vault items are judged in probe.policy.azure, Google Cloud items in
    probe.policy.gcp, the AWS estate's items (S3, EBS ...) in probe.policy.aws_posture: here alone, without the
    keys and trails of their estate (`judge_estate` judges them with it)."""
    if isinstance(item, AcmCertificate):
        return _acm_findings(item, profile, today)
    if isinstance(item, KmsKey):
        return _kms_findings(item, profile, require_kms_replica)
    if isinstance(item, KeyVault | KeyVaultKey):
        from probe.policy.azure import key_vault_findings

        return key_vault_findings(item, profile, today=today)
    if isinstance(item, CloudKmsKey | GcpSslCertificate):
        from probe.policy.gcp import gcp_findings

        return gcp_findings(item, profile, today=today, require_kms_replica=require_kms_replica)
    from probe.policy.aws_posture import judge_estate

    return list(judge_estate([item], profile, today=today, require_kms_replica=require_kms_replica)[0].findings)


def judge_resource(item: ResourceItem, profile: Profile | None = None, waivers: Sequence[Waiver] = (),
                   *, today: date | None = None, require_kms_replica: bool = False) -> ResourceResult:
    """The item as a judged resource: its identity, its findings after waivers, its compliance."""
    day = today or datetime.now(UTC).date()
    resource = item.resource()
    findings = apply_waivers(posture_findings(item, profile, today=day, require_kms_replica=require_kms_replica),
                             resource, waivers, today=day)
    threshold = profile.compliance_threshold if profile is not None else Severity.MEDIUM
    return ResourceResult(resource=resource, findings=findings, compliant=compliant(findings, threshold))
