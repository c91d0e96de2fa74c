"""What the scanner back-ends are told, free of sslyze so that the CLI and the fast engine start without it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probe.scan.aia import AiaFetcher

GROUP_NAMES = {"prime256v1": "secp256r1"}  # OpenSSL's name for a curve -> the name reports use


@dataclass(frozen=True)
class ScanSettings:
    """What the sslyze back-end needs besides the target."""

    timeout: float = 5.0
    per_host: int = 5
    ca_file: Path | None = None
    suites: bool = True  # run the per-version cipher suite commands
    checks: bool = True  # certificate, groups, vulnerabilities
    groups: bool | None = None  # ELLIPTIC_CURVES: None = with the checks; False = never; True = always
    suite_versions: tuple[str, ...] | None = None  # with suites: only these versions (None = all)
    http: bool = True  # GET / on each HTTPS endpoint after its TLS scan (probe/scan/http.py); --no-http: off
    intermediates: Path | None = None  # --intermediates: certificates a server may leave out of its chain
    aia: AiaFetcher | None = None  # --fetch-aia: fetches AIA CA Issuers URLs for the run (None: never)


@dataclass(frozen=True)
class Probed:
    """What tlsprobe's first handshake learnt: the server accepts TLS 1.3 on a usual curve and asked for no
    client certificate."""

    tls13_cipher: str  # the suite it chose (OpenSSL name), on one of the usual elliptic curves
