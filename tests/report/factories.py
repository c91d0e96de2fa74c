"""Synthetic results for report tests: ok, errored, waived findings, dual certificates, hostile text; resources
(ACM certificates, KMS keys) and a demo-like cloud sweep with both."""

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
    Resource,
    ResourceResult,
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


# --------------------------------------------------------------------------------------------- resources

ACM_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/f9b857ee-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ACM_CLEAN_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
KMS_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_MRK_ARN = "arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef"


def resource_result(
    kind: str,
    arn: str,
    name: str | None,
    *findings: Finding,
    region: str = "eu-west-1",
    compliant: bool | None = None,
) -> ResourceResult:
    """A judged resource (compliant unless an unwaived finding is medium or worse)."""
    resource = Resource(provider="aws", kind=kind, id=arn, name=name, account="123456789012", region=region,
                        attributes={"origin": "test"})
    if compliant is None:
        compliant = not any(f.severity >= Severity.MEDIUM and not f.waived for f in findings)
    return ResourceResult(resource=resource, findings=findings, compliant=compliant)


def resource_results() -> list[ResourceResult]:
    """Two ACM certificates (one imported and expiring, one clean) and two KMS keys (one without rotation and
    with a waived weak key, one multi-region and clean)."""
    acm = "OP-POL-001 3.3.1.2"
    return [
        resource_result(
            "acm-certificate", ACM_ARN, "api.example.com",
            finding("acm.imported", Severity.MEDIUM, "imported certificate: ACM does not renew it", clause=acm),
            finding("acm.expiring", Severity.MEDIUM, "certificate expires in 12 day(s)", clause=acm),
        ),
        resource_result("acm-certificate", ACM_CLEAN_ARN, "www.example.com"),
        resource_result(
            "kms-key", KMS_ARN, "1234abcd-12ab-34cd-56ef-1234567890ab",
            finding("kms.rotation_disabled", Severity.MEDIUM, "automatic key rotation is disabled",
                    clause="OP-POL-001 3.2.2.1"),
            finding("kms.key.weak", Severity.MEDIUM, "KMS key RSA_2048 is below RSA-3072", waived=True,
                    clause="OP-POL-001 3.1.2.2"),
        ),
        resource_result("kms-key", KMS_MRK_ARN, "mrk-0123456789abcdef0123456789abcdef", region="us-east-1"),
    ]


CLOUD_HOSTS = (
    "alb-public-1234567890.eu-west-1.elb.amazonaws.com",
    "abcdef1234.execute-api.eu-west-1.amazonaws.com",
    "d111111abcdef8.cloudfront.net",
    "edge.example.test",
)


def cloud_sweep() -> list[EndpointResult | ResourceResult]:
    """A demo-like sweep: cloud endpoints with long DNS names (one errored), then ACM and KMS resources."""
    drift = finding("drift.cipher", Severity.MEDIUM, "suites on the wire differ from the declared policy")
    declared = finding("declared.tls.protocol.deprecated", Severity.HIGH, "the declared policy allows TLSv1.0")
    mismatch = finding("cert.hostname_mismatch", Severity.HIGH, "certificate does not name edge.example.test",
                       clause="OP-POL-001 3.3.1.2")
    endpoints: list[EndpointResult | ResourceResult] = [
        ok_result(CLOUD_HOSTS[0], ip="127.0.60.1",
                  findings=(finding("tls.cipher.aes128", Severity.LOW, "AES-128 suites accepted"),)),
        ok_result(CLOUD_HOSTS[1], ip="127.0.60.2", legacy=True,
                  findings=(finding(), finding(message="TLSv1.1 is enabled"), declared, drift)),
        ok_result(CLOUD_HOSTS[2], ip="127.0.60.3"),
        ok_result(CLOUD_HOSTS[3], ip="127.0.60.4", findings=(mismatch,)),
        error_result("internal-alb-987654321.eu-west-1.elb.amazonaws.com"),
    ]
    return [*endpoints, *resource_results()]
