"""Posture rules for inventoried ACM certificates and KMS keys, with OP-POL-001 clauses. Pure.

Each posture item becomes a pseudo-endpoint so that reports list it beside the TLS endpoints:
Target(host="<resource-id>.<region>.<account>.<kind>.invalid", port=443) with source.kind
"acm-certificate" or "kms-key" and the ARN; its Observation has status "ok" and engine "inventory".
The `.invalid` suffix (RFC 6761) guarantees the name never resolves and never collides with a real host.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from probe.discovery.models import AcmCertificate, KmsKey
from probe.models import EndpointResult, Finding, Observation, Severity, Target, TargetSource

__all__ = [
    "DEFAULT_EXPIRY_WARNING_DAYS",
    "posture_findings",
    "posture_observation",
    "posture_result",
    "posture_target",
]

DEFAULT_EXPIRY_WARNING_DAYS = 30
CLAUSE_CERT_MANAGEMENT = "OP-POL-001 3.3.1.2"
CLAUSE_ALGORITHMS = "OP-POL-001 3.1.2.2"
CLAUSE_KMS = "OP-POL-001 3.2.2.1"

# ACM / KMS key names -> (kind, bits)
_ACM_KEYS = {"RSA_1024": ("RSA", 1024), "RSA_2048": ("RSA", 2048), "RSA_3072": ("RSA", 3072),
             "RSA_4096": ("RSA", 4096), "EC_prime256v1": ("EC", 256), "EC_secp384r1": ("EC", 384),
             "EC_secp521r1": ("EC", 521)}
_KMS_KEYS = {"RSA_2048": ("RSA", 2048), "RSA_3072": ("RSA", 3072), "RSA_4096": ("RSA", 4096),
             "ECC_NIST_P256": ("EC", 256), "ECC_NIST_P384": ("EC", 384), "ECC_NIST_P521": ("EC", 521),
             "ECC_SECG_P256K1": ("EC", 256), "SM2": ("EC", 256)}
# Used when the profile has no key tiers: RSA < 2048 high, < 3072 medium; EC < 256 high (OP-POL-001).
_DEFAULT_TIERS = {"RSA": ((2048, Severity.HIGH), (3072, Severity.MEDIUM)), "EC": ((256, Severity.HIGH),)}


def _resource_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def posture_target(item: AcmCertificate | KmsKey) -> Target:
    """The pseudo-endpoint a posture item is reported under."""
    host = f"{_resource_id(item.arn)}.{item.region}.{item.account}.{item.item}.invalid".lower()
    certs = (item.arn,) if isinstance(item, AcmCertificate) else ()
    source = TargetSource(provider="aws", kind=item.item, account=item.account, region=item.region,
                          arn=item.arn, certificate_arns=certs)
    return Target(host=host, port=443, source=source)


def posture_observation(item: AcmCertificate | KmsKey) -> Observation:
    """An 'ok' Observation (engine "inventory", no connection) standing for the item in reports."""
    return Observation(target=posture_target(item), status="ok", engine="inventory", connections=0)


def _key_tiers(profile: Any, kind: str) -> tuple[tuple[int, Severity], ...]:
    keys = getattr(profile, "keys", None)
    tiers = getattr(keys, "rsa" if kind == "RSA" else "ec", None) if keys is not None else None
    if tiers:
        return tuple(sorted((t.below, t.severity) for t in tiers))
    return _DEFAULT_TIERS.get(kind, ())


def _weak_key(rule: str, name: str | None, table: dict[str, tuple[str, int]], profile: Any,
              what: str) -> Finding | None:
    if name not in table:
        return None
    kind, bits = table[name]
    for below, severity in _key_tiers(profile, kind):
        if bits < below:
            return Finding(rule=rule, severity=severity, clause=CLAUSE_ALGORITHMS,
                           message=f"{what} key {name} is below {kind}-{below}",
                           evidence={"key": name, "key_type": kind, "key_bits": bits, "minimum": below})
    return None


def _acm_findings(cert: AcmCertificate, profile: Any, today: date) -> list[Finding]:
    findings: list[Finding] = []
    if cert.type == "IMPORTED":
        findings.append(Finding(rule="acm.imported", severity=Severity.MEDIUM, clause=CLAUSE_CERT_MANAGEMENT,
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
            findings.append(Finding(rule="acm.expired", severity=severity, clause=CLAUSE_CERT_MANAGEMENT,
                                    message=f"certificate expired {-days} day(s) ago", evidence=evidence))
        elif days <= window:
            severity = getattr(settings, "expiring_severity", Severity.MEDIUM)
            findings.append(Finding(rule="acm.expiring", severity=severity, clause=CLAUSE_CERT_MANAGEMENT,
                                    message=f"certificate expires in {days} day(s)", evidence=evidence))
    weak = _weak_key("acm.key.weak", cert.key_algorithm, _ACM_KEYS, profile, "certificate")
    if weak:
        findings.append(weak)
    return findings


def _kms_findings(key: KmsKey, require_replica: bool) -> list[Finding]:
    findings: list[Finding] = []
    if key.rotation_enabled is False:
        findings.append(Finding(rule="kms.rotation_disabled", severity=Severity.MEDIUM, clause=CLAUSE_KMS,
                                message="automatic key rotation is disabled",
                                evidence={"key_spec": key.key_spec, "key_state": key.key_state}))
    weak = _weak_key("kms.key.weak", key.key_spec, _KMS_KEYS, None, "KMS")
    if weak:
        findings.append(weak)
    is_replica = key.multi_region_type == "REPLICA"
    if require_replica and not is_replica and not key.replica_regions:
        findings.append(Finding(rule="kms.no_replica", severity=Severity.LOW, clause=CLAUSE_KMS,
                                message="customer key has no cross-region replica",
                                evidence={"multi_region": key.multi_region}))
    return findings


def posture_findings(item: AcmCertificate | KmsKey, profile: Any = None, *, today: date,
                     require_kms_replica: bool = False) -> list[Finding]:
    """Findings of one posture item. `profile` (a probe.policy.Profile, optional) supplies the expiry
    window (certificates.expiry_warning_days, else 30 days) and the RSA/EC key tiers of certificates;
    KMS keys use RSA-3072 / ECC-256 (OP-POL-001 3.1.2.2). `require_kms_replica` switches kms.no_replica on."""
    if isinstance(item, AcmCertificate):
        return _acm_findings(item, profile, today)
    return _kms_findings(item, require_kms_replica)


def posture_result(item: AcmCertificate | KmsKey, profile: Any = None, *, today: date | None = None,
                   require_kms_replica: bool = False) -> EndpointResult:
    """The item as a judged endpoint: pseudo-target, 'inventory' observation, findings, compliance."""
    day = today or datetime.now(UTC).date()
    findings = tuple(posture_findings(item, profile, today=day, require_kms_replica=require_kms_replica))
    threshold = getattr(profile, "compliance_threshold", Severity.MEDIUM)
    compliant = not any(not f.waived and f.severity >= threshold for f in findings)
    return EndpointResult(observation=posture_observation(item), findings=findings, compliant=compliant)
