"""Typed EndpointResults for the history tests (store, diff, alerts, reports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from probe.models import (
    CertificateInfo,
    EndpointResult,
    ErrorKind,
    Finding,
    Observation,
    ScanError,
    Severity,
    Target,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MODERN = {"SSLv2": False, "SSLv3": False, "TLSv1.0": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}


def cert(subject: str = "CN=api.example.test", *, key_type: str = "RSA", key_bits: int = 3072, days: int = 200,
         fingerprint: str = "aa" * 32) -> CertificateInfo:
    return CertificateInfo(
        subject=subject, issuer="CN=Test CA", sans=("api.example.test",), key_type=key_type, key_bits=key_bits,
        signature_hash="sha256", not_before=NOW - timedelta(days=30), not_after=NOW + timedelta(days=days),
        days_to_expiry=days, chain_trusted=True, hostname_match=True, fingerprint_sha256=fingerprint,
    )


def finding(rule: str, severity: Severity = Severity.HIGH, message: str | None = None, *, waived: bool = False,
            **evidence: Any) -> Finding:
    return Finding(rule=rule, severity=severity, clause="OP-POL-001 3.1.2.3", message=message or f"{rule} hit",
                   evidence=evidence, waived=waived)


def ok(host: str = "api.example.test", port: int = 443, *, versions: dict[str, bool] | None = None,
       suites: dict[str, tuple[str, ...]] | None = None, certs: tuple[CertificateInfo, ...] | None = None,
       findings: tuple[Finding, ...] = (), compliant: bool | None = None, ip: str | None = None) -> EndpointResult:
    observation = Observation(
        target=Target(host=host, port=port, ip=ip), status="ok", engine="test", connections=3,
        tls_versions=versions if versions is not None else dict(MODERN),
        cipher_suites=suites if suites is not None else {
            "TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",), "TLSv1.3": ("TLS_AES_256_GCM_SHA384",)},
        certificates=certs if certs is not None else (cert(),),
    )
    if compliant is None:
        compliant = not any(not f.waived and f.severity >= Severity.MEDIUM for f in findings)
    return EndpointResult(observation=observation, findings=findings, compliant=compliant)


def errored(host: str = "down.example.test", port: int = 443, kind: ErrorKind = ErrorKind.TIMEOUT,
            message: str = "no answer within 5 s") -> EndpointResult:
    observation = Observation(target=Target(host=host, port=port), status="error",
                              error=ScanError(kind=kind, message=message))
    return EndpointResult(observation=observation, findings=(), compliant=None)
