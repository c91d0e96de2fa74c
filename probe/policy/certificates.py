"""Certificate rules, applied to every certificate deployment an endpoint serves. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from probe.models import CertificateInfo, Finding, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import Profile, Tier

__all__ = ["certificate_findings", "tier_severity"]

_RSA_LIKE = {"RSA", "RSA-PSS", "RSASSA-PSS", "DSA"}
_EC_LIKE = {"EC", "ECDSA", "ED25519", "ED448"}


def tier_severity(bits: int, tiers: tuple[Tier, ...]) -> tuple[Severity, int] | None:
    """(severity, threshold) of the smallest tier `bits` falls below; None when the size passes."""
    for tier in tiers:  # sorted by `below`, so the strictest (smallest) tier is found first
        if bits < tier.below:
            return tier.severity, tier.below
    return None


def _finding(profile: Profile, rule: str, severity: Severity, message: str, evidence: dict[str, Any]) -> Finding:
    return Finding(rule=rule, severity=severity, clause=profile.clause(rule), message=message, evidence=evidence)


def _describe(cert: CertificateInfo, index: int) -> dict[str, Any]:
    return {"certificate": index, "subject": cert.subject}


def _key_finding(profile: Profile, cert: CertificateInfo, index: int) -> Finding | None:
    kind = cert.key_type.upper()
    if kind in _RSA_LIKE:
        tiers, label = profile.keys.rsa, cert.key_type
    elif kind in _EC_LIKE:
        tiers, label = profile.keys.ec, cert.key_type if not cert.curve else f"{cert.key_type} {cert.curve}"
    else:
        return None
    hit = tier_severity(cert.key_bits, tiers)
    if hit is None:
        return None
    severity, minimum = hit
    return _finding(
        profile,
        R.CERT_KEY_WEAK,
        severity,
        f"certificate {cert.subject} has a {cert.key_bits}-bit {label} key (policy asks for {minimum} bits or more)",
        {**_describe(cert, index), "key_type": cert.key_type, "key_bits": cert.key_bits, "curve": cert.curve,
         "minimum_bits": minimum},
    )


def _signature_finding(profile: Profile, cert: CertificateInfo, index: int) -> Finding | None:
    hashes = cert.chain_signature_hashes or (cert.signature_hash,)
    allowed = profile.signatures.allowed_hashes
    weak = [
        {"position": pos, "subject": cert.chain[pos] if pos < len(cert.chain) else cert.subject, "hash": h}
        for pos, h in enumerate(hashes)
        if h is not None and h.lower() not in allowed
    ]
    if not weak:
        return None
    where = ", ".join(f"{'leaf' if w['position'] == 0 else 'intermediate'} {w['subject']} ({w['hash']})" for w in weak)
    return _finding(
        profile,
        R.CERT_SIGNATURE_WEAK,
        profile.signatures.weak_severity,
        f"weak certificate signature: {where}",
        {**_describe(cert, index), "weak": weak, "allowed": list(allowed)},
    )


def _validity_findings(profile: Profile, cert: CertificateInfo, index: int) -> Iterator[Finding]:
    settings = profile.certificates
    days = cert.days_to_expiry
    expiry = {**_describe(cert, index), "not_after": cert.not_after.isoformat(), "days_to_expiry": days}
    if days < 0:
        yield _finding(profile, R.CERT_EXPIRED, settings.expired_severity,
                       f"certificate {cert.subject} expired {-days} day(s) ago", expiry)
    elif days <= settings.expiry_warning_days:
        yield _finding(profile, R.CERT_EXPIRING, settings.expiring_severity,
                       f"certificate {cert.subject} expires in {days} day(s)",
                       {**expiry, "warning_days": settings.expiry_warning_days})
    lifetime = (cert.not_after - cert.not_before).days
    if settings.max_lifetime_days is not None and lifetime > settings.max_lifetime_days:
        yield _finding(profile, R.CERT_LIFETIME, settings.lifetime_severity,
                       f"certificate {cert.subject} is valid for {lifetime} days "
                       f"(maximum {settings.max_lifetime_days})",
                       {**_describe(cert, index), "lifetime_days": lifetime,
                        "maximum_days": settings.max_lifetime_days})


def _trust_findings(profile: Profile, cert: CertificateInfo, index: int, host: str) -> Iterator[Finding]:
    """cert.untrusted with the reason in plain words (the validator's own text in evidence), cert.chain_incomplete
    for a chain that validates only with an intermediate the server does not send, cert.chain_order for a chain
    sent out of order."""
    settings = profile.certificates
    trust = cert.trust
    if not cert.chain_trusted:
        evidence = {**_describe(cert, index), "issuer": cert.issuer, "trust_error": cert.trust_error,
                    "self_signed": cert.self_signed}
        if trust is not None:
            evidence.update(reason=trust.reason, ca=trust.ca, aia_ca_issuers=list(trust.aia_ca_issuers),
                            completed_from=trust.completed_from)
        if trust is not None and trust.reason == "incomplete_chain":
            yield _finding(profile, R.CERT_CHAIN_INCOMPLETE, profile.severity(R.CERT_CHAIN_INCOMPLETE),
                           f"certificate {cert.subject}: {trust.detail}", evidence)
        else:
            reason = trust.detail if trust is not None and trust.detail else (
                cert.trust_error or ("self-signed" if cert.self_signed else "chain not trusted"))
            yield _finding(profile, R.CERT_UNTRUSTED, settings.untrusted_severity,
                           f"certificate {cert.subject} is not trusted: {reason}", evidence)
    if trust is not None and trust.served_in_order is False and trust.reason != "wrong_order":
        yield _finding(profile, R.CERT_CHAIN_ORDER, profile.severity(R.CERT_CHAIN_ORDER),
                       f"certificate {cert.subject}: the server sends its chain out of order ({'; '.join(cert.chain)});"
                       " each certificate should be followed by the one that issued it, and clients that expect "
                       "that order fail",
                       {**_describe(cert, index), "served": list(cert.chain)})
    if not cert.hostname_match:
        sans = ", ".join(cert.sans) or "none"
        yield _finding(profile, R.CERT_HOSTNAME_MISMATCH, settings.hostname_mismatch_severity,
                       f"certificate {cert.subject} does not cover {host} (SANs: {sans})",
                       {**_describe(cert, index), "host": host, "sans": list(cert.sans)})


def certificate_findings(profile: Profile, certificates: tuple[CertificateInfo, ...], host: str) -> list[Finding]:
    """Key, signature, validity and trust findings for each certificate deployment, in deployment order."""
    found: list[Finding] = []
    for index, cert in enumerate(certificates):
        for single in (_key_finding(profile, cert, index), _signature_finding(profile, cert, index)):
            if single is not None:
                found.append(single)
        found.extend(_validity_findings(profile, cert, index))
        found.extend(_trust_findings(profile, cert, index, host))
    return found
