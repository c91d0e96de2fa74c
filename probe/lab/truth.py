"""Assemble an endpoint's ground truth (versions, suites, groups, certificates, client auth) from its definition."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from probe.lab.definition import CertDef, EndpointDef
from probe.lab.groundtruth import (
    DH_GROUP_BITS,
    CipherRow,
    accepted_suites,
    accepted_versions,
    openssl_cipher_table,
    parse_openssl_ciphers,
)
from probe.models import PostQuantum


class CertTruth(BaseModel):
    """What a scanner must see for one served certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cert_file: str
    key_file: str
    key_type: str
    key_bits: int
    curve: str | None
    signature_hash: str
    issuer: Literal["lab-ca", "self"]
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    hostname_match: bool
    trusted_with_lab_ca: bool


class HttpTruth(BaseModel):
    """How an `https` endpoint answers HTTP: the ALPN it picks, the header lines it sends, whether it hangs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpn: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    hangs: bool

    def header_values(self, name: str) -> tuple[str, ...]:
        """The values of every header `name` (any case), in the order sent."""
        return tuple(value for key, value in self.headers if key.lower() == name.lower())


HTTPS_ALPN = ("http/1.1",)


class EndpointTruth(BaseModel):
    """The configured behaviour of a TLS endpoint, in the units of an Observation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tls_versions: dict[str, bool]
    cipher_suites: dict[str, tuple[str, ...]]
    cipher_preference: Literal["server", "client"] = "server"
    key_exchange_groups: tuple[str, ...]
    dh_bits: int | None
    client_auth: Literal["none", "optional", "required"]
    certificates: tuple[CertTruth, ...]
    http: HttpTruth | None = None
    pq: PostQuantum | None = None  # post-quantum key exchange of a TLS 1.3 endpoint (measured for Node endpoints)


@cache
def _cipher_rows(cipher_string: str) -> tuple[CipherRow, ...]:
    return tuple(parse_openssl_ciphers(openssl_cipher_table(cipher_string)))


def _hostname_match(host: str, sans: tuple[str, ...]) -> bool:
    for san in sans:
        if san.lower() == host.lower():
            return True
        if san.startswith("*.") and host.lower().split(".", 1)[-1] == san[2:].lower() and host.count(".") >= 2:
            return True
    return False


def cert_truth(
    spec: CertDef, host: str, cert_file: str, key_file: str, not_before: dt.datetime, not_after: dt.datetime
) -> CertTruth:
    sans = spec.sans if spec.sans is not None else (host,)
    return CertTruth(
        cert_file=cert_file,
        key_file=key_file,
        key_type=spec.key_type,
        key_bits=spec.key_bits,
        curve=spec.curve if spec.key == "ec" else None,
        signature_hash=spec.signature_hash,
        issuer=spec.issuer,
        sans=sans,
        not_before=not_before,
        not_after=not_after,
        hostname_match=_hostname_match(host, sans),
        trusted_with_lab_ca=spec.issuer == "lab-ca",
    )


def endpoint_truth(endpoint: EndpointDef, certificates: tuple[CertTruth, ...]) -> EndpointTruth | None:
    """Ground truth of a TLS endpoint from its configuration; None for plain-HTTP and tarpit endpoints."""
    server = endpoint.server
    if server.kind not in ("tls", "https", "node", "pq_fake"):
        return None
    versions = accepted_versions(server.min_version, server.max_version)
    suites = accepted_suites(
        _cipher_rows(server.ciphers),
        versions,
        {c.key_type for c in certificates},
        dh_params=server.dh_group is not None,
        tls13_suites=server.tls13_ciphersuites,
        ecdhe=bool(server.groups),
    )
    negotiable = [s for names in suites.values() for s in names]
    uses_groups = versions["TLSv1.3"] or any(s.startswith(("TLS_ECDHE_", "TLS_ECDH_anon_")) for s in negotiable)
    uses_dh = any(s.startswith(("TLS_DHE_", "TLS_DH_anon_")) for s in negotiable)
    pq = pq_truth(endpoint)
    return EndpointTruth(
        tls_versions=versions,
        cipher_suites={v: tuple(names) for v, names in suites.items()},
        cipher_preference=server.cipher_preference,
        key_exchange_groups=(server.groups + (pq.supported if pq else ())) if uses_groups else (),
        dh_bits=DH_GROUP_BITS.get(server.dh_group) if (server.dh_group and uses_dh) else None,
        client_auth=server.client_auth,
        certificates=certificates,
        http=http_truth(endpoint),
        pq=pq,
    )


def pq_truth(endpoint: EndpointDef) -> PostQuantum | None:
    """Post-quantum key exchange from the configuration: Python's ssl (OpenSSL 3.0) has no ML-KEM group and picks
    X25519 under a browser-like hello; a fake answers as its mode says; a Node endpoint is measured once it runs
    (probe/lab/node_server.py), so None here, as for an endpoint without TLS 1.3."""
    server = endpoint.server
    if server.max_version != "TLSv1.3" or server.kind == "node":
        return None
    if server.kind == "pq_fake" and server.pq_fake is not None:
        from probe.lab.pq_fake import fake_truth

        return fake_truth(server.pq_fake, server.groups)
    classical = next((g for g in ("X25519", "secp256r1", "secp384r1") if g in server.groups), None)
    return PostQuantum(supported=(), negotiated=classical)


def http_truth(endpoint: EndpointDef) -> HttpTruth | None:
    """How an `https` endpoint answers HTTP, from its configuration; None for the other kinds."""
    server = endpoint.server
    if server.kind != "https":
        return None
    lines = (line.split(":", 1) for line in server.http_headers)
    headers = tuple((name.strip(), value.strip()) for name, value in lines)
    return HttpTruth(alpn=HTTPS_ALPN, headers=headers, hangs=server.http_response == "hang")
