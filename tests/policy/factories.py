"""Synthetic observations for pure policy tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from probe.models import CertificateInfo, ErrorKind, Observation, ScanError, Target, Vulnerabilities
from probe.policy import Profile, evaluate, load_profile

TODAY = date(2025, 6, 1)
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)

GOOD_SUITES = {
    "TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    "TLSv1.3": ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"),
}


def cert(**overrides: Any) -> CertificateInfo:
    """A compliant RSA-3072 / SHA-256 certificate valid for 90 days, 60 of them left."""
    days = overrides.pop("days_to_expiry", 60)
    lifetime = overrides.pop("lifetime_days", 90)
    values: dict[str, Any] = {
        "subject": "CN=api.example.com",
        "issuer": "CN=Example Issuing CA",
        "sans": ("api.example.com",),
        "key_type": "RSA",
        "key_bits": 3072,
        "signature_hash": "sha256",
        "not_before": NOW + timedelta(days=days - lifetime),
        "not_after": NOW + timedelta(days=days),
        "days_to_expiry": days,
        "chain_trusted": True,
        "hostname_match": True,
        "chain": ("CN=api.example.com", "CN=Example Issuing CA"),
        "chain_signature_hashes": ("sha256", "sha256"),
    }
    values.update(overrides)
    return CertificateInfo(**values)


def observation(**overrides: Any) -> Observation:
    """A fully compliant (op-pol-001) TLS 1.2 + 1.3 endpoint; override any field."""
    values: dict[str, Any] = {
        "target": Target(host="api.example.com", port=443, ip="203.0.113.7"),
        "status": "ok",
        "tls_versions": {"SSLv2": False, "SSLv3": False, "TLSv1.0": False, "TLSv1.1": False,
                         "TLSv1.2": True, "TLSv1.3": True},
        "cipher_suites": GOOD_SUITES,
        "key_exchange_groups": ("X25519", "secp256r1"),
        "certificates": (cert(),),
        "vulnerabilities": Vulnerabilities(heartbleed=False, robot=False, ccs_injection=False,
                                           insecure_renegotiation=False, compression=False, fallback_scsv=True),
    }
    values.update(overrides)
    return Observation(**values)


def versions(*enabled: str) -> dict[str, bool]:
    names = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
    return {v: v in enabled for v in names}


def errored() -> Observation:
    return Observation(target=Target(host="down.example.com"), status="error",
                       error=ScanError(kind=ErrorKind.TIMEOUT, message="no answer within 10 s"))


def findings_for(obs: Observation, profile: str | Profile = "op-pol-001") -> list[Any]:
    prof = load_profile(profile) if isinstance(profile, str) else profile
    return evaluate(obs, prof, today=TODAY)


def rules(obs: Observation, profile: str | Profile = "op-pol-001") -> list[str]:
    return [f.rule for f in findings_for(obs, profile)]


def only(obs: Observation, rule: str, profile: str | Profile = "op-pol-001") -> list[Any]:
    return [f for f in findings_for(obs, profile) if f.rule == rule]
