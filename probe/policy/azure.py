"""Azure Key Vault vaults and keys judged as resources (OP-POL-001 3.2.4, 3.2.2.2, 3.2.1.3, 3.1.2.2). Pure.

Judged by properties: soft delete and purge protection on the vault; on each enabled key, an automatic rotation
(a rotation policy with a Rotate action) no longer apart than `MAX_ROTATION_DAYS`, an expiry date not passed,
and a key size or curve of at least RSA-3072 or ECC-256 (the profile's key tiers)."""

from __future__ import annotations

from datetime import UTC, date

from probe.discovery.models import KeyVault, KeyVaultKey
from probe.models import Finding, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import Profile
from probe.policy.resources import _clause, _key_tiers, _severity

__all__ = ["MAX_ROTATION_DAYS", "key_vault_findings"]

MAX_ROTATION_DAYS = 365  # a key older than a year without a new version is not "auto-rotated" (3.2.1.3)
_CURVE_BITS = {"P-256": 256, "P-256K": 256, "P-384": 384, "P-521": 521}


def _finding(profile: Profile | None, rule: str, message: str, evidence: dict[str, object],
             severity: Severity | None = None) -> Finding:
    return Finding(rule=rule, severity=severity or _severity(profile, rule), clause=_clause(profile, rule),
                   message=message, evidence=evidence)


def _vault_findings(vault: KeyVault, profile: Profile | None) -> list[Finding]:
    findings = []
    if vault.soft_delete is False:
        findings.append(_finding(profile, R.AZURE_KEYVAULT_SOFT_DELETE_DISABLED,
                                 "soft delete is off: a deleted key or secret cannot be recovered",
                                 {"enableSoftDelete": False}))
    if not vault.purge_protection:
        findings.append(_finding(profile, R.AZURE_KEYVAULT_PURGE_PROTECTION_DISABLED,
                                 "purge protection is off: a soft-deleted vault or key can be purged at once",
                                 {"enablePurgeProtection": vault.purge_protection,
                                  "softDeleteRetentionInDays": vault.soft_delete_retention_days}))
    return findings


def _weak(key: KeyVaultKey, profile: Profile | None) -> Finding | None:
    kty = (key.key_type or "").upper()
    if kty.startswith("RSA") and key.key_size:
        kind, bits = "RSA", key.key_size
    elif kty.startswith("EC") and key.curve in _CURVE_BITS:
        kind, bits = "EC", _CURVE_BITS[key.curve or ""]
    else:
        return None
    for below, severity in _key_tiers(profile, kind):
        if bits < below:
            return _finding(profile, R.AZURE_KEYVAULT_KEY_WEAK, f"{kty} key of {bits} bits is below {kind}-{below}",
                            {"kty": key.key_type, "key_bits": bits, "curve": key.curve, "minimum": below}, severity)
    return None


def _key_findings(key: KeyVaultKey, profile: Profile | None, today: date) -> list[Finding]:
    if key.enabled is False:
        return []  # a disabled key encrypts nothing new
    findings = []
    if not key.rotation_enabled:
        findings.append(_finding(profile, R.AZURE_KEYVAULT_ROTATION_DISABLED,
                                 "no rotation policy with a Rotate action: the key is never rotated automatically",
                                 {"rotation_enabled": False}))
    elif key.rotation_interval_days is not None and key.rotation_interval_days > MAX_ROTATION_DAYS:
        findings.append(_finding(profile, R.AZURE_KEYVAULT_ROTATION_INTERVAL,
                                 f"rotated every {key.rotation_interval_days} days (more than {MAX_ROTATION_DAYS})",
                                 {"rotation_interval_days": key.rotation_interval_days,
                                  "maximum_days": MAX_ROTATION_DAYS}))
    if key.expires is None:
        findings.append(_finding(profile, R.AZURE_KEYVAULT_KEY_NO_EXPIRY, "the key has no expiry date",
                                 {"expires": None}))
    else:
        expires = key.expires if key.expires.tzinfo else key.expires.replace(tzinfo=UTC)
        if expires.date() < today:
            findings.append(_finding(profile, R.AZURE_KEYVAULT_KEY_EXPIRED,
                                     f"the key expired {(today - expires.date()).days} day(s) ago and is still enabled",
                                     {"expires": expires.isoformat()}))
    weak = _weak(key, profile)
    if weak is not None:
        findings.append(weak)
    return findings


def key_vault_findings(item: KeyVault | KeyVaultKey, profile: Profile | None = None, *, today: date) -> list[Finding]:
    """Findings of one vault or key."""
    if isinstance(item, KeyVault):
        return _vault_findings(item, profile)
    return _key_findings(item, profile, today)
