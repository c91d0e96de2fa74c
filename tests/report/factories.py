"""Synthetic endpoint results for report tests: ok, errored, waived findings, dual certificates, hostile text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from probe.models import (
    CertificateInfo,
    DiscoveryError,
    EndpointResult,
    ErrorKind,
    Finding,
    Observation,
    PolicyRef,
    ScanError,
    Severity,
    Target,
    TargetSource,
    Vulnerabilities,
    Waiver,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
POLICY = PolicyRef(id="OP-POL-001", profile="op-pol-001")
HOSTILE = (
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    "\x1b[31mred\x1b[0m",
    "\u202egnp.exe",
    "line1\nline2\r\nline3",
    "+SUM(A1)",
    "-2+3",
    "@evil",
    "\tTAB",
    "| pipe | cell |",
    "[link](javascript:alert(1))",
    "\x9b31m\x85\u2028\u2066iso\u2069\x00nul\x07bell",
)


def certificate(
    subject: str = "CN=api.example.com",
    *,
    key_type: str = "RSA",
    key_bits: int = 3072,
    curve: str | None = None,
    sans: tuple[str, ...] = ("api.example.com",),
    issuer: str = "CN=Example CA",
) -> CertificateInfo:
    return CertificateInfo(
        subject=subject,
        issuer=issuer,
        sans=sans,
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        signature_hash="sha256",
        not_before=NOW - timedelta(days=10),
        not_after=NOW + timedelta(days=80),
        days_to_expiry=80,
        chain_trusted=True,
        hostname_match=True,
        serial="0a1b",
        fingerprint_sha256="ab" * 32,
        chain=(subject, issuer),
        chain_signature_hashes=("sha256",),
    )


def finding(
    rule: str = "tls.protocol.deprecated",
    severity: Severity = Severity.HIGH,
    message: str = "TLSv1.0 is enabled",
    *,
    waived: bool = False,
    clause: str = "OP-POL-001 3.1.2.3",
) -> Finding:
    waiver = (
        Waiver(
            rule=rule,
            endpoint="legacy.example.com*",
            reason="vendor appliance, replacement ordered",
            expires=date(2025, 12, 31),
        )
        if waived
        else None
    )
    return Finding(
        rule=rule,
        severity=severity,
        clause=clause,
        message=message,
        evidence={"versions": ["TLSv1.0"], "count": 1},
        waived=waived,
        waiver=waiver,
    )


def ok_result(
    host: str = "api.example.com",
    *,
    ip: str = "127.0.10.1",
    port: int = 443,
    findings: tuple[Finding, ...] = (),
    certificates: tuple[CertificateInfo, ...] | None = None,
    compliant: bool | None = None,
    legacy: bool = False,
) -> EndpointResult:
    versions = {"SSLv2": False, "SSLv3": False, "TLSv1.0": legacy, "TLSv1.1": legacy, "TLSv1.2": True, "TLSv1.3": True}
    observation = Observation(
        target=Target(
            host=host,
            port=port,
            ip=ip,
            sni=host,
            source=TargetSource(
                provider="aws",
                kind="elbv2-listener",
                account="111111111111",
                region="eu-west-1",
                arn="arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/x/1/2",
                declared_policy="ELBSecurityPolicy-2016-08",
            ),
        ),
        status="ok",
        engine="sslyze",
        connections=57,
        duration_s=1.25,
        tls_versions=versions,
        cipher_suites={
            "TLSv1.3": ("TLS_AES_256_GCM_SHA384",),
            "TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        },
        cipher_preference="server",
        key_exchange_groups=("X25519", "secp256r1"),
        dh_bits=None,
        certificates=certificates if certificates is not None else (certificate(f"CN={host}", sans=(host,)),),
        vulnerabilities=Vulnerabilities(
            heartbleed=False,
            robot=False,
            ccs_injection=False,
            insecure_renegotiation=False,
            compression=False,
            fallback_scsv=True,
        ),
        notes=("scanned with sslyze",),
    )
    if compliant is None:
        compliant = not any(f.severity >= Severity.MEDIUM and not f.waived for f in findings)
    return EndpointResult(observation=observation, findings=findings, compliant=compliant)


def error_result(
    host: str = "tarpit.example.com", kind: ErrorKind = ErrorKind.TIMEOUT, message: str = "no answer in 5.0 s"
) -> EndpointResult:
    observation = Observation(
        target=Target(host=host, port=8443, ip="127.0.10.9", connect_port=9443),
        status="error",
        error=ScanError(kind=kind, message=message),
        connections=1,
        duration_s=5.0,
    )
    return EndpointResult(observation=observation, findings=(), compliant=None)


def mixed_results() -> list[EndpointResult]:
    """Compliant, legacy with one waived and two unwaived findings, dual-certificate, errored."""
    dual = (
        certificate("CN=dual.example.com", sans=("dual.example.com",)),
        certificate("CN=dual.example.com", key_type="EC", key_bits=256, curve="secp256r1", sans=("dual.example.com",)),
    )
    return [
        ok_result("good.example.com", ip="127.0.10.1"),
        ok_result(
            "legacy.example.com",
            ip="127.0.10.2",
            legacy=True,
            findings=(
                finding(message="TLSv1.0 is enabled"),
                finding(message="TLSv1.1 is enabled", waived=True),
                finding("tls.cipher.sha1_mac", Severity.MEDIUM, "HMAC-SHA1 suites accepted"),
            ),
        ),
        ok_result(
            "dual.example.com",
            ip="127.0.10.3",
            certificates=dual,
            findings=(
                finding("tls.cipher.aes128", Severity.LOW, "AES-128 suites accepted", clause="OP-POL-001 3.1.2.2"),
            ),
        ),
        error_result(),
    ]


def hostile_result(text: str, *, host: str = "evil.example.com") -> EndpointResult:
    """An endpoint whose certificate fields, finding message and error text all carry `text`."""
    cert = certificate(f"CN={text}", sans=(text, f"{text}.example.com"), issuer=f"O={text}")
    return ok_result(
        host,
        ip="127.0.10.66",
        certificates=(cert,),
        findings=(
            finding("cert.hostname_mismatch", Severity.HIGH, f"certificate names {text}", clause="OP-POL-001 3.3.1.2"),
        ),
    )


DISCOVERY_ERRORS = (
    DiscoveryError(provider="aws", account="111111111111", region="eu-west-1", service="elbv2", error="AccessDenied"),
)
