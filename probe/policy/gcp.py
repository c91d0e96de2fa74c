"""Google Cloud KMS keys and Compute SSL certificates judged as resources (OP-POL-001 3.2.2.3, 3.2.1.3, 3.1.2.2,
3.3.1.2). Pure.

Cloud KMS: symmetric keys (purpose ENCRYPT_DECRYPT, the only ones Cloud KMS rotates by itself) need a rotation
period of at most `MAX_ROTATION_DAYS`; asymmetric algorithms at least RSA-3072 or ECC-256; with
`require_kms_replica`, a key ring in a single region is a finding (3.2.2.3 asks for multi-region replication).
SSL certificates: self-managed ones are not renewed automatically; expiry and key size as for ACM."""

from __future__ import annotations

import re
from datetime import UTC, date

from probe.discovery.models import CloudKmsKey, GcpSslCertificate
from probe.models import Finding, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import Profile
from probe.policy.resources import DEFAULT_EXPIRY_WARNING_DAYS, _clause, _key_tiers, _severity

__all__ = ["MAX_ROTATION_DAYS", "MULTI_REGION_LOCATIONS", "gcp_findings"]

MAX_ROTATION_DAYS = 365
# Cloud KMS multi-region and dual-region locations (cloud.google.com/kms/docs/locations); "global" too.
MULTI_REGION_LOCATIONS = frozenset({"global", "asia", "europe", "us", "nam-eur-asia1", "nam4", "eur4", "nam9",
                                    "nam10", "nam11", "nam12", "nam13", "nam14", "nam15", "asia1", "eur3", "eur5",
                                    "eur7", "eur8", "nam3", "nam6", "nam7", "nam8"})
_RSA_BITS = re.compile(r"^RSA_(?:SIGN|DECRYPT)_\w*?_(\d{4})_")
_EC_BITS = {"EC_SIGN_P256_SHA256": 256, "EC_SIGN_P384_SHA384": 384, "EC_SIGN_SECP256K1_SHA256": 256}


def _finding(profile: Profile | None, rule: str, message: str, evidence: dict[str, object],
             severity: Severity | None = None) -> Finding:
    return Finding(rule=rule, severity=severity or _severity(profile, rule), clause=_clause(profile, rule),
                   message=message, evidence=evidence)


def _bits(algorithm: str) -> tuple[str, int] | None:
    match = _RSA_BITS.match(algorithm + "_")
    if match:
        return "RSA", int(match.group(1))
    if algorithm in _EC_BITS:
        return "EC", _EC_BITS[algorithm]
    return None


def _weak(rule: str, kind: str, bits: int, name: str, profile: Profile | None) -> Finding | None:
    for below, severity in _key_tiers(profile, kind):
        if bits < below:
            return _finding(profile, rule, f"{name} is below {kind}-{below}",
                            {"key": name, "key_type": kind, "key_bits": bits, "minimum": below}, severity)
    return None


def _kms_findings(key: CloudKmsKey, profile: Profile | None, require_replica: bool) -> list[Finding]:
    findings = []
    if key.purpose == "ENCRYPT_DECRYPT":
        if key.rotation_period_days is None:
            findings.append(_finding(profile, R.GCP_KMS_ROTATION_DISABLED,
                                     "no rotation period: the key is never rotated automatically",
                                     {"rotation_period": None, "protection_level": key.protection_level}))
        elif key.rotation_period_days > MAX_ROTATION_DAYS:
            findings.append(_finding(profile, R.GCP_KMS_ROTATION_INTERVAL,
                                     f"rotated every {key.rotation_period_days:g} days (more than {MAX_ROTATION_DAYS})",
                                     {"rotation_period_days": key.rotation_period_days,
                                      "maximum_days": MAX_ROTATION_DAYS}))
    found = _bits(key.algorithm or "")
    if found is not None:
        weak = _weak(R.GCP_KMS_KEY_WEAK, *found, f"algorithm {key.algorithm}", profile)
        if weak is not None:
            findings.append(weak)
    if require_replica and key.location not in MULTI_REGION_LOCATIONS:
        findings.append(_finding(profile, R.GCP_KMS_SINGLE_REGION,
                                 f"key ring in the single region {key.location}: no multi-region replication",
                                 {"location": key.location}))
    return findings


def _certificate_findings(cert: GcpSslCertificate, profile: Profile | None, today: date) -> list[Finding]:
    findings = []
    if cert.type == "SELF_MANAGED":
        findings.append(_finding(profile, R.GCP_CERT_SELF_MANAGED,
                                 "self-managed certificate: Google does not renew it automatically",
                                 {"type": cert.type}))
    if cert.not_after is not None:
        not_after = cert.not_after if cert.not_after.tzinfo else cert.not_after.replace(tzinfo=UTC)
        days = (not_after.date() - today).days
        settings = getattr(profile, "certificates", None)
        window = getattr(settings, "expiry_warning_days", DEFAULT_EXPIRY_WARNING_DAYS)
        evidence: dict[str, object] = {"not_after": not_after.isoformat(), "days_to_expiry": days,
                                       "window_days": window}
        if days < 0:
            findings.append(_finding(profile, R.GCP_CERT_EXPIRED, f"certificate expired {-days} day(s) ago", evidence,
                                     getattr(settings, "expired_severity", Severity.HIGH)))
        elif days <= window:
            findings.append(_finding(profile, R.GCP_CERT_EXPIRING, f"certificate expires in {days} day(s)", evidence,
                                     getattr(settings, "expiring_severity", Severity.MEDIUM)))
    if cert.key_type and cert.key_bits:
        weak = _weak(R.GCP_CERT_KEY_WEAK, cert.key_type, cert.key_bits, f"certificate key {cert.key_type}-"
                     f"{cert.key_bits}", profile)
        if weak is not None:
            findings.append(weak)
    return findings


def gcp_findings(item: CloudKmsKey | GcpSslCertificate, profile: Profile | None = None, *, today: date,
                 require_kms_replica: bool = False) -> list[Finding]:
    """Findings of one Cloud KMS key or Compute SSL certificate."""
    if isinstance(item, CloudKmsKey):
        return _kms_findings(item, profile, require_kms_replica)
    return _certificate_findings(item, profile, today)
