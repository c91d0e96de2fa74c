"""Typed values that flow between the stages: Target -> Observation -> Finding -> report."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "tlsprobe.scan/2"
SCHEMA_IDS: tuple[str, ...] = ("tlsprobe.scan/1", SCHEMA_ID)  # what readers accept; 1 has no resources

TLS_VERSIONS: tuple[str, ...] = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


class Frozen(BaseModel):
    """Base for every value: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """Finding severities, ordered by `rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class ErrorKind(StrEnum):
    """Why an endpoint could not be scanned (DESIGN.md's list)."""

    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    RESET = "reset"
    CLOSED = "closed"
    NOT_TLS = "not_tls"
    TLS_ALERT = "tls_alert"
    INTERNAL = "internal"


class TargetSource(Frozen):
    """Where a target came from: a file, the command line, or a cloud provider."""

    provider: str = "static"
    kind: str = "cli"
    account: str | None = None
    region: str | None = None
    arn: str | None = None
    declared_policy: str | None = None
    certificate_arns: tuple[str, ...] = ()
    location: str | None = Field(default=None, description="file:line the target was read from")
    scheme: str | None = Field(default=None, description="load balancer scheme: internet-facing or internal")


class Target(Frozen):
    """One endpoint to scan. `ip` is set once resolved; `sni` defaults to the host name."""

    host: str
    port: int = Field(default=443, ge=1, le=65535)
    ip: str | None = None
    sni: str | None = None
    connect_port: int | None = Field(default=None, ge=1, le=65535, description="port actually dialled (--connect-to)")
    source: TargetSource = TargetSource()

    @property
    def dial_port(self) -> int:
        return self.connect_port or self.port

    @property
    def key(self) -> str:
        """Stable identity of the endpoint in reports, stores and diffs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = f"@{self.ip}" if self.ip and self.ip != self.host else ""
        return f"{host}:{self.port}{suffix}"


class ScanError(Frozen):
    kind: ErrorKind
    message: str


class TrustVerdict(Frozen):
    """Whether a served chain validates, and why not, in words an engineer can act on."""

    verdict: Literal["trusted", "untrusted"]
    reason: (
        Literal[
            "self_signed", "unknown_root", "incomplete_chain", "expired_in_chain", "not_yet_valid_in_chain",
            "wrong_order", "bad_basic_constraints", "bad_key_usage", "signature_invalid", "other",
        ]
        | None
    ) = Field(default=None, description="why the chain is untrusted; None when trusted")
    detail: str = Field(default="", description="the reason in plain words")
    ca: str | None = Field(
        default=None, description="the CA certificate the reason is about: the unknown root or issuer, the missing, "
        "expired or malformed intermediate"
    )
    aia_ca_issuers: tuple[str, ...] = Field(
        default=(), description="the AIA CA Issuers URLs of the certificate whose issuer the server does not send"
    )
    completed_from: Literal["trust_store", "intermediates_file", "aia"] | None = Field(
        default=None, description="where the certificate the server does not send was found"
    )
    served_in_order: bool | None = Field(
        default=None, description="each served certificate is followed by its issuer (None: not determined)"
    )


class CertificateInfo(Frozen):
    """One certificate deployment (leaf plus chain) as the endpoint served it."""

    subject: str
    issuer: str
    sans: tuple[str, ...] = ()
    key_type: str  # RSA, EC, DSA, Ed25519, Ed448
    key_bits: int
    curve: str | None = None
    signature_hash: str | None  # sha256, sha1, md5 … (None for Ed25519)
    not_before: datetime
    not_after: datetime
    days_to_expiry: int
    chain_trusted: bool
    trust_error: str | None = None
    hostname_match: bool
    self_signed: bool = False
    serial: str = ""
    fingerprint_sha256: str = ""
    chain: tuple[str, ...] = Field(default=(), description="subjects of the served chain, leaf first")
    chain_signature_hashes: tuple[str | None, ...] = Field(
        default=(), description="signature hash of each served certificate that is not a self-signed root, leaf first"
    )
    must_staple: bool | None = Field(default=None, description="the leaf demands a stapled OCSP response (RFC 7633)")
    ocsp_stapled: bool | None = Field(default=None, description="the server stapled an OCSP response")
    sct_count: int | None = Field(default=None, description="SCTs embedded in the leaf (certificate transparency)")
    publicly_trusted: bool | None = Field(
        default=None, description="the chain validates against a public trust store (not only against --ca-file)"
    )
    trust: TrustVerdict | None = Field(default=None, description="the trust verdict and its reason")


class DhGroup(Frozen):
    """A finite-field DH group a server used for DHE, and how safe it is (probe/scan/dh.py)."""

    name: str | None = Field(default=None, description="the standard group (ffdhe2048, modp_2048, dh_2048_256 ...)")
    bits: int
    prime_sha256: str = Field(description="SHA-256 of the prime's big-endian bytes: the group's fingerprint")
    generator: str = Field(description="the generator, hexadecimal")
    prime: bool = Field(description="the modulus passes the probable-prime test")
    safe_prime: bool | None = Field(default=None, description="(p - 1) / 2 is prime too; None when p is composite")
    subgroup: Literal["large", "small", "unknown"] = Field(
        description="the generator's subgroup: large (proven), small (its order is 2^16-smooth), unknown"
    )
    generator_order: int | None = Field(default=None, description="the generator's order when it is small")


class Vulnerabilities(Frozen):
    heartbleed: bool | None = None
    robot: bool | None = None
    ccs_injection: bool | None = None
    insecure_renegotiation: bool | None = None
    compression: bool | None = None
    fallback_scsv: bool | None = Field(default=None, description="True when TLS_FALLBACK_SCSV is supported")


class HstsHeader(Frozen):
    """The first Strict-Transport-Security header of a response, read as RFC 6797 says."""

    raw: str = Field(description="the header's value as served (cut at 1000 characters)")
    max_age: int | None = Field(
        default=None, description="seconds; None when the header is not valid (max-age missing, not a number...)"
    )
    include_subdomains: bool = False
    preload: bool = False


class HttpInfo(Frozen):
    """What one `GET /` over TLS got from an HTTPS endpoint: status and HSTS, or why there was no answer."""

    status: int | None = None
    hsts: HstsHeader | None = None
    error: str | None = Field(default=None, description="'<kind>: <reason>' when the request failed")


class PostQuantum(Frozen):
    """Post-quantum key exchange of a TLS 1.3 endpoint (IANA group names)."""

    supported: tuple[str, ...] = Field(default=(), description="post-quantum groups accepted, in the server's order")
    negotiated: str | None = Field(default=None, description="the group picked under a browser-like hello "
                                   "(X25519MLKEM768 and X25519 key shares); None when none was")
    hrr_upgrade: bool | None = Field(default=None, description="an X25519 share draws a HelloRetryRequest for "
                                     "X25519MLKEM768; None when X25519MLKEM768 is not supported or undecided")
    undecided: tuple[str, ...] = Field(default=(), description="groups whose support the probes could not decide")


class Observation(Frozen):
    """What the scanner saw on one endpoint. `status="error"` carries `error` and little else."""

    target: Target
    status: Literal["ok", "error"]
    error: ScanError | None = None
    engine: str = "sslyze"
    connections: int = 0
    duration_s: float = 0.0
    tls_versions: dict[str, bool] = Field(default_factory=dict)
    cipher_suites: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    cipher_preference: Literal["server", "client"] | None = None
    key_exchange_groups: tuple[str, ...] = ()
    dh_bits: int | None = None
    dh_groups: tuple[DhGroup, ...] = Field(default=(), description="DH groups of the DHE suites accepted")
    certificates: tuple[CertificateInfo, ...] = ()
    client_auth: Literal["none", "optional", "required"] = "none"
    vulnerabilities: Vulnerabilities = Vulnerabilities()
    notes: tuple[str, ...] = ()
    http: HttpInfo | None = Field(default=None, description="the GET / of an HTTPS endpoint; None when none was made")
    pq: PostQuantum | None = Field(default=None, description="post-quantum key exchange; None when TLS 1.3 "
                                   "is not offered (or not probed)")

    def accepted_versions(self) -> list[str]:
        return [v for v in TLS_VERSIONS if self.tls_versions.get(v)]


class Waiver(Frozen):
    rule: str
    endpoint: str = Field(description="fnmatch pattern over host, host:port or endpoint key")
    reason: str
    expires: date
    expired: bool = False


class Finding(Frozen):
    rule: str
    severity: Severity
    clause: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    waived: bool = False
    waiver: Waiver | None = None


class EndpointResult(Frozen):
    """An observation with its judgement: the unit of every report."""

    observation: Observation
    findings: tuple[Finding, ...] = ()
    compliant: bool | None = None


class Resource(Frozen):
    """What is not a TLS endpoint: a key, a certificate in a manager, a bucket, a database, a secret, a vault."""

    provider: str
    kind: str = Field(description="e.g. acm-certificate, kms-key")
    id: str = Field(description="the ARN or the provider's resource id")
    name: str | None = None
    account: str | None = None
    region: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable identity in stores and diffs."""
        return self.id

    @property
    def short_id(self) -> str:
        """The resource part of an ARN (`arn:aws:kms:…:key/1234` -> `key/1234`), else the id."""
        if self.id.startswith("arn:"):
            parts = self.id.split(":", 5)
            if len(parts) == 6:
                return parts[5]
        return self.id


class ResourceResult(Frozen):
    """A resource with its judgement."""

    resource: Resource
    findings: tuple[Finding, ...] = ()
    compliant: bool | None = None


class DiscoveryError(Frozen):
    provider: str
    account: str | None = None
    region: str | None = None
    service: str
    error: str


class PolicyRef(Frozen):
    id: str
    profile: str


class Summary(Frozen):
    endpoints: int
    ok: int
    errors: int
    compliant: int
    resources: int = 0
    resources_compliant: int = 0
    findings_by_severity: dict[str, int]


LEGACY_RESOURCE_KINDS = ("acm-certificate", "kms-key")


def resource_from_legacy(result: EndpointResult) -> ResourceResult | None:
    """A schema-1 pseudo-endpoint standing for an ACM certificate or KMS key (engine "inventory", a
    `….invalid` host) as the resource it was; None for a real endpoint."""
    observation = result.observation
    source = observation.target.source
    if observation.engine != "inventory" or source.kind not in LEGACY_RESOURCE_KINDS or not source.arn:
        return None
    resource = Resource(provider=source.provider, kind=source.kind, id=source.arn, account=source.account,
                        region=source.region)
    return ResourceResult(resource=resource, findings=result.findings, compliant=result.compliant)
