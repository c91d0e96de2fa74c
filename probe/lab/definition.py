"""The lab's definition (probe/lab/definitions/lab.yaml): endpoints, their server settings and what a scan must find."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from probe.errors import InputError
from probe.lab.paths import DEFAULT_DEFINITION
from probe.models import ErrorKind, Severity

TlsVersionName = Literal["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CertDef(_Strict):
    """One certificate the endpoint serves."""

    key: Literal["rsa", "ec"] = "rsa"
    bits: int = 3072
    curve: Literal["secp256r1", "secp384r1"] = "secp256r1"
    issuer: Literal["lab-ca", "self"] = "lab-ca"
    signature_hash: Literal["sha256", "sha384", "sha1"] = "sha256"
    sans: tuple[str, ...] | None = Field(default=None, description="DNS SANs; default: the endpoint's host")
    valid_from_days: int = Field(default=-1, description="not_before relative to now, in days")
    valid_until_days: int = Field(default=365, description="not_after relative to now, in days")

    @property
    def key_type(self) -> str:
        return "RSA" if self.key == "rsa" else "EC"

    @property
    def key_bits(self) -> int:
        return self.bits if self.key == "rsa" else {"secp256r1": 256, "secp384r1": 384}[self.curve]


class ServerDef(_Strict):
    """How the endpoint's server is configured. `ciphers` is an OpenSSL cipher string for TLS <= 1.2.

    `https` is a `tls` server that picks http/1.1 by ALPN and answers `GET` with `http_headers`, or hangs after
    the handshake (`http_response: hang`)."""

    kind: Literal["tls", "https", "plain_http", "tarpit", "node", "pq_fake"] = "tls"
    min_version: TlsVersionName = "TLSv1.2"
    max_version: TlsVersionName = "TLSv1.3"
    ciphers: str = "ECDHE+AESGCM"
    tls13_ciphersuites: tuple[str, ...] | None = Field(
        default=None, description="TLS 1.3 suites (per-process OPENSSL_CONF); None = OpenSSL's default"
    )
    groups: tuple[str, ...] = ("X25519", "secp256r1", "secp384r1")
    dh_group: str | None = Field(default=None, description="OpenSSL named DH group for DHE suites, e.g. ffdhe2048")
    client_auth: Literal["none", "required"] = "none"
    certificates: tuple[CertDef, ...] = (CertDef(),)
    cipher_preference: Literal["server", "client"] = "server"
    reset_hello_sizes: tuple[int, int] | None = Field(
        default=None,
        description="reset a connection whose first TLS record length (bytes) is in [low, high], as F5 devices "
        "did with 256-511 byte ClientHellos (RFC 7685)",
    )
    http_headers: tuple[str, ...] = Field(
        default=(), description="https: response header lines 'Name: value', in order"
    )
    http_response: Literal["answer", "hang"] = Field(
        default="answer", description="https: answer GET /, or read the request and never answer"
    )
    ecdh_curve: str | None = Field(
        default=None, description="node (Node.js, OpenSSL 3.5): its ecdhCurve, OpenSSL's group list (`A / B` tuples); "
        "`auto` is OpenSSL's default"
    )
    pq_fake: Literal["kyber-draft", "empty-share-intolerant"] | None = Field(
        default=None, description="pq_fake: the post-quantum answers faked before the real server "
        "(probe/lab/pq_fake.py)"
    )

    @model_validator(mode="after")
    def _pq_settings_fit_the_kind(self) -> ServerDef:
        if (self.ecdh_curve is not None) != (self.kind == "node"):
            raise ValueError("ecdh_curve is the setting of kind node, which needs it")
        if (self.pq_fake is not None) != (self.kind == "pq_fake"):
            raise ValueError("pq_fake is the setting of kind pq_fake, which needs it")
        return self

    @model_validator(mode="after")
    def _http_settings_are_for_https(self) -> ServerDef:
        if self.kind != "https" and (self.http_headers or self.http_response != "answer"):
            raise ValueError("http_headers and http_response are settings of kind https")
        bad = [line for line in self.http_headers if ":" not in line or not line.split(":", 1)[0].strip()]
        if bad:
            raise ValueError(f"http_headers: not 'Name: value': {bad}")
        return self


class ExpectedFinding(_Strict):
    rule: str
    severity: Severity
    about: str | None = Field(default=None, description="what the finding is about (version, family, cert)")


class ExpectedHsts(_Strict):
    """The Strict-Transport-Security header a scan must read (its raw value is the truth's first one)."""

    max_age: int | None = Field(description="None: the header is not valid and browsers ignore it")
    include_subdomains: bool = False
    preload: bool = False


class ExpectedHttp(_Strict):
    """What the GET / of an HTTPS endpoint must give (the `http` block of the report)."""

    status: int | None = None
    hsts: ExpectedHsts | None = None
    error: str | None = Field(default=None, description="the kind of http.error, e.g. timeout")


class Expect(_Strict):
    """Either an error kind (the endpoint cannot be scanned) or the exact findings of the default profile, and
    the `http` block (None: the scan makes no HTTP request)."""

    error: ErrorKind | None = None
    findings: tuple[ExpectedFinding, ...] = ()
    client_auth: Literal["none", "optional", "required"] = "none"
    http: ExpectedHttp | None = None

    @model_validator(mode="after")
    def _error_excludes_findings(self) -> Expect:
        if self.error is not None and (self.findings or self.http is not None):
            raise ValueError("an endpoint expected to error has no findings and no http block")
        return self


class EndpointDef(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    host: str
    address: str = Field(pattern=r"^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    port: int = Field(default=0, ge=0, le=65535, description="0 = a free port chosen at start")
    description: str = ""
    server: ServerDef = ServerDef()
    expect: Expect = Expect()


class LabDefinition(_Strict):
    profile: str = "op-pol-001"
    endpoints: tuple[EndpointDef, ...]

    @model_validator(mode="after")
    def _unique(self) -> LabDefinition:
        for attr in ("name", "address"):
            values = [getattr(e, attr) for e in self.endpoints]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate endpoint {attr}: {', '.join(dupes)}")
        return self

    def select(self, names: list[str] | None) -> list[EndpointDef]:
        """The endpoints named (all when `names` is None); unknown names are an InputError."""
        if names is None:
            return list(self.endpoints)
        known = {e.name: e for e in self.endpoints}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"unknown lab endpoint(s): {', '.join(unknown)} (known: {', '.join(known)})")
        return [known[n] for n in names]


def load_definition(path: Path = DEFAULT_DEFINITION) -> LabDefinition:
    """Read and validate a lab definition file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LabDefinition.model_validate(raw)
    except OSError as exc:
        raise InputError(f"cannot read lab definition {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[0:3]
        raise InputError(f"invalid lab definition {path}: {' '.join(first)}") from exc
