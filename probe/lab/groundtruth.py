"""Ground truth of a lab endpoint, derived from its own server configuration (never from a scanner).

`accepted_suites` is pure: it takes the rows `openssl ciphers -s -stdname -v '<cipher string>'` prints and
keeps the suites the server can actually negotiate given its versions, certificate key types and DH params.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from probe.models import TLS_VERSIONS

# OpenSSL 3.0's TLS 1.3 suites when no Ciphersuites= is configured, in its preference order.
DEFAULT_TLS13_SUITES: tuple[str, ...] = (
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
)
# Server-side versions Python's ssl on OpenSSL 3.0 can serve, lowest first.
SERVABLE_VERSIONS: tuple[str, ...] = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Bits of the OpenSSL named DH groups the lab uses.
DH_GROUP_BITS: dict[str, int] = {
    "dh_1024_160": 1024,
    "modp_1536": 1536,
    "ffdhe2048": 2048,
    "modp_2048": 2048,
    "dh_2048_224": 2048,
    "dh_2048_256": 2048,
    "ffdhe3072": 3072,
    "ffdhe4096": 4096,
}

_PRE_TLS13_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2")
# The protocol column of `openssl ciphers -v`: the first version a suite exists in.
_COLUMN_VERSIONS: dict[str, tuple[str, ...]] = {
    "SSLv3": _PRE_TLS13_VERSIONS,
    "TLSv1": _PRE_TLS13_VERSIONS,
    "TLSv1.0": _PRE_TLS13_VERSIONS,
    "TLSv1.2": ("TLSv1.2",),
    "TLSv1.3": ("TLSv1.3",),
}


@dataclass(frozen=True)
class CipherRow:
    """One line of `openssl ciphers -stdname -v`."""

    iana: str
    openssl: str
    protocol: str
    kx: str
    au: str
    enc: str
    mac: str


def parse_openssl_ciphers(text: str) -> list[CipherRow]:
    """Parse `openssl ciphers -stdname -v` output; rows without an IANA name are skipped."""
    rows: list[CipherRow] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8 or parts[1] != "-" or not parts[0].startswith("TLS_"):
            continue
        fields = dict(p.split("=", 1) for p in parts[4:8] if "=" in p)
        rows.append(
            CipherRow(
                iana=parts[0],
                openssl=parts[2],
                protocol=parts[3],
                kx=fields.get("Kx", ""),
                au=fields.get("Au", ""),
                enc=fields.get("Enc", ""),
                mac=fields.get("Mac", ""),
            )
        )
    return rows


def accepted_versions(min_version: str, max_version: str) -> dict[str, bool]:
    """Every version of TLS_VERSIONS mapped to whether a server with these bounds accepts it."""
    low, high = SERVABLE_VERSIONS.index(min_version), SERVABLE_VERSIONS.index(max_version)
    if low > high:
        raise ValueError(f"min_version {min_version} is above max_version {max_version}")
    enabled = set(SERVABLE_VERSIONS[low : high + 1])
    return {v: v in enabled for v in TLS_VERSIONS}


def _authenticates(row: CipherRow, cert_key_types: set[str]) -> bool:
    if row.au == "RSA":
        return "RSA" in cert_key_types
    if row.au == "ECDSA":
        return "EC" in cert_key_types
    return row.au == "None"  # anonymous; DSS, PSK, SRP, GOST: never (no such credentials)


def _key_exchange_available(row: CipherRow, cert_key_types: set[str], dh_params: bool, ecdhe: bool) -> bool:
    if row.kx == "ECDH":
        return ecdhe
    if row.kx == "DH":
        return dh_params
    if row.kx == "RSA":
        return "RSA" in cert_key_types
    return False  # PSK, RSAPSK, DHEPSK, ECDHEPSK, SRP, GOST


def accepted_suites(
    rows: Iterable[CipherRow],
    versions: dict[str, bool],
    cert_key_types: Iterable[str],
    *,
    dh_params: bool,
    tls13_suites: Sequence[str] | None = None,
    ecdhe: bool = True,
) -> dict[str, list[str]]:
    """Per accepted version, the IANA names of the suites the server can negotiate, in server order.

    TLS <= 1.2 suites come from `rows` (the server's cipher string); TLS 1.3 suites from `tls13_suites`
    (None = OpenSSL's default). A version the server does not accept gets no entry.
    """
    keys = set(cert_key_types)
    result: dict[str, list[str]] = {v: [] for v in SERVABLE_VERSIONS if versions.get(v)}
    for row in rows:
        if row.protocol == "TLSv1.3":
            continue  # TLS 1.3 suites are configured separately (Ciphersuites=)
        if not (_authenticates(row, keys) and _key_exchange_available(row, keys, dh_params, ecdhe)):
            continue
        for version in _COLUMN_VERSIONS.get(row.protocol, ()):
            if version in result and row.iana not in result[version]:
                result[version].append(row.iana)
    if "TLSv1.3" in result:
        result["TLSv1.3"] = list(DEFAULT_TLS13_SUITES if tls13_suites is None else tls13_suites)
    return result


def openssl_cipher_table(cipher_string: str) -> str:
    """`openssl ciphers -s -stdname -v` for a cipher string (honours its @SECLEVEL), without the system config."""
    env = {**os.environ, "OPENSSL_CONF": os.devnull}
    done = subprocess.run(
        ["openssl", "ciphers", "-s", "-stdname", "-v", cipher_string],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=30,
    )
    if done.returncode != 0:
        raise ValueError(f"openssl rejects cipher string {cipher_string!r}: {done.stderr.strip()}")
    return done.stdout
