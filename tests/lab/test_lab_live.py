"""Start the whole lab and check each endpoint's ground truth with Python's own ssl client (and openssl s_client
for what Python cannot pin: TLS 1.3 suites, groups, DH size). Not sslyze, not the scanner."""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from probe.lab.groundtruth import SERVABLE_VERSIONS, openssl_cipher_table, parse_openssl_ciphers
from probe.lab.manager import (
    EndpointState,
    LabState,
    _alive,
    expected_findings,
    expected_for,
    lab_status,
    load_state,
    running_lab,
)
from probe.lab.truth import EndpointTruth

VERSIONS = {
    "TLSv1.0": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# Suites tried where they are NOT expected: one per family the lab could plausibly leak.
PROBE_SUITES = [
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES256-SHA",
    "AES128-SHA",
    "AES256-GCM-SHA384",
    "DHE-RSA-AES256-GCM-SHA384",
    "ADH-AES256-GCM-SHA384",
    "AECDH-AES256-SHA",
    "NULL-SHA256",
    "CAMELLIA256-SHA",
]
ROWS = {r.iana: r for r in parse_openssl_ciphers(openssl_cipher_table("ALL:COMPLEMENTOFALL:@SECLEVEL=0"))}
BY_OPENSSL = {r.openssl: r for r in ROWS.values()}
TLS12_ONLY_COLUMNS = {"TLSv1.2"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    state_dir = tmp_path_factory.mktemp("lab")
    with running_lab(state_dir) as state:
        yield state
    for endpoint in state.endpoints:
        assert not _alive(endpoint.pid), f"{endpoint.name} outlived the lab"


def tls_endpoints(lab: LabState) -> list[EndpointState]:
    return [e for e in lab.endpoints if e.kind == "tls"]


def truth_of(endpoint: EndpointState) -> EndpointTruth:
    assert endpoint.truth is not None
    return endpoint.truth


def handshake(
    lab: LabState,
    endpoint: EndpointState,
    *,
    version: str | None = None,
    ciphers: str = "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
    verify: bool = False,
    client_cert: bool | None = None,
    timeout: float = 5.0,
) -> tuple[str, str, bytes, bytes]:
    """(version, OpenSSL cipher name, leaf DER, first bytes of the HTTP reply) of one full handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(lab.ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = VERSIONS[version] if version else ssl.TLSVersion.TLSv1
        ctx.maximum_version = VERSIONS[version] if version else ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers(ciphers)
    if client_cert if client_cert is not None else endpoint.truth and endpoint.truth.client_auth == "required":
        ctx.load_cert_chain(lab.client_cert, lab.client_key)
    with (
        socket.create_connection((endpoint.address, endpoint.port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=endpoint.host) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {endpoint.host}\r\n\r\n".encode())
        reply = tls.recv(64)
        cipher = tls.cipher()
        der = tls.getpeercert(binary_form=True) or b""  # anonymous suites serve no certificate
        assert cipher is not None
        negotiated = {"TLSv1": "TLSv1.0"}.get(str(tls.version()), str(tls.version()))
        return negotiated, cipher[0], der, reply


def s_client(endpoint: EndpointState, *args: str) -> str:
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"{endpoint.address}:{endpoint.port}", "-servername", endpoint.host, *args],
        input=b"",
        capture_output=True,
        timeout=20,
        env={**os.environ, "OPENSSL_CONF": os.devnull},
        check=False,
    )
    return done.stdout.decode(errors="replace")


def test_state_files(lab: LabState) -> None:
    state_dir = Path(lab.state_dir)
    assert load_state(state_dir) == lab
    assert (state_dir / "ca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    lines = Path(lab.targets_csv).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "host,port,ip,name"
    assert sorted(lines[1:]) == sorted(f"{e.host},{e.port},{e.address},{e.name}" for e in lab.endpoints)
    assert {s.status for s in lab_status(state_dir)} == {"up"}
    assert expected_for(state_dir, "legacy").expect.findings == tuple(expected_findings(lab, "legacy"))


def test_versions_match_ground_truth(lab: LabState) -> None:
    for endpoint in tls_endpoints(lab):
        for version in SERVABLE_VERSIONS:
            expected = truth_of(endpoint).tls_versions[version]
            try:
                negotiated = handshake(lab, endpoint, version=version)[0]
            except (ssl.SSLError, ConnectionError) as exc:
                assert not expected, f"{endpoint.name} refused {version}: {exc}"
            else:
                assert expected and negotiated == version, f"{endpoint.name} accepted {version}"


def test_every_expected_suite_negotiates_and_probes_outside_it_fail(lab: LabState) -> None:
    for endpoint in tls_endpoints(lab):
        for version, suites in truth_of(endpoint).cipher_suites.items():
            if version == "TLSv1.3":
                continue
            for iana in suites:
                name = ROWS[iana].openssl
                assert handshake(lab, endpoint, version=version, ciphers=f"{name}:@SECLEVEL=0")[1] == name
            for name in PROBE_SUITES:
                row = BY_OPENSSL[name]
                if row.iana in suites or (row.protocol in TLS12_ONLY_COLUMNS and version != "TLSv1.2"):
                    continue
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    handshake(lab, endpoint, version=version, ciphers=f"{name}:@SECLEVEL=0")


def test_tls13_suites_match_ground_truth(lab: LabState) -> None:
    for endpoint in tls_endpoints(lab):
        truth = truth_of(endpoint)
        if not truth.tls_versions["TLSv1.3"] or truth.client_auth == "required":
            continue
        for suite in ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"):
            out = s_client(endpoint, "-tls1_3", "-ciphersuites", suite)
            accepted = f"Cipher is {suite}" in out
            assert accepted == (suite in truth.cipher_suites["TLSv1.3"]), (endpoint.name, suite)


def test_groups_and_dh_size(lab: LabState) -> None:
    compliant = lab.endpoint("compliant")
    assert truth_of(compliant).key_exchange_groups == ("X25519", "secp256r1", "secp384r1")
    assert "Server Temp Key: X25519" in s_client(compliant, "-tls1_3", "-groups", "X25519")
    assert "Cipher is (NONE)" in s_client(compliant, "-tls1_3", "-groups", "X448")
    weak_dh = lab.endpoint("weak-dh")
    assert truth_of(weak_dh).dh_bits == 1024
    assert "Server Temp Key: DH, 1024 bits" in s_client(
        weak_dh, "-tls1_2", "-cipher", "DHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0"
    )
    null_anon = lab.endpoint("null-anon")
    out = s_client(null_anon, "-tls1_2", "-cipher", "ADH-AES256-GCM-SHA384:@SECLEVEL=0")
    assert truth_of(null_anon).dh_bits == 2048 and "Server Temp Key: DH, 2048 bits" in out


def _key_facts(cert: x509.Certificate) -> tuple[str, int, str | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return "EC", key.curve.key_size, key.curve.name


def test_served_certificates_match_ground_truth(lab: LabState) -> None:
    ca = x509.load_pem_x509_certificate(Path(lab.ca_file).read_bytes())
    for endpoint in tls_endpoints(lab):
        truth = truth_of(endpoint)
        for expected in truth.certificates:
            auth = "aRSA" if expected.key_type == "RSA" else "aECDSA"
            version = "TLSv1.2" if truth.tls_versions["TLSv1.2"] else "TLSv1.3"
            ciphers = f"{auth}:@SECLEVEL=0" if version == "TLSv1.2" else "ALL:@SECLEVEL=0"
            der = handshake(lab, endpoint, version=version, ciphers=ciphers)[2]
            cert = x509.load_der_x509_certificate(der)
            assert _key_facts(cert) == (expected.key_type, expected.key_bits, expected.curve), endpoint.name
            assert cert.signature_hash_algorithm is not None
            assert cert.signature_hash_algorithm.name == expected.signature_hash, endpoint.name
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert tuple(sans.get_values_for_type(x509.DNSName)) == expected.sans
            assert abs(cert.not_valid_after_utc - expected.not_after) <= dt.timedelta(seconds=1)
            assert (cert.issuer == ca.subject) == (expected.issuer == "lab-ca")
            if expected.issuer == "lab-ca":  # by hand: verify_directly_issued_by refuses SHA-1
                ca_key = ca.public_key()
                assert isinstance(ca_key, rsa.RSAPublicKey)
                ca_key.verify(
                    cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
                )


def test_verification_against_lab_ca(lab: LabState) -> None:
    """A client trusting only the lab CA accepts the good endpoints and rejects each broken one for its reason."""
    handshake(lab, lab.endpoint("compliant"), verify=True)
    handshake(lab, lab.endpoint("tls13-ecdsa"), verify=True)
    reasons = {
        "expired": "certificate has expired",
        "self-signed": "self-signed certificate",
        "hostname-mismatch": "Hostname mismatch",
        "rsa1024": "key too weak",
        "sha1-cert": "digest algorithm too weak",
    }
    for name, reason in reasons.items():
        with pytest.raises(ssl.SSLCertVerificationError, match=reason):
            handshake(lab, lab.endpoint(name), verify=True, ciphers="DEFAULT")
    for name in ("sha1-cert", "rsa1024", "expiring", "dual-cert", "client-cert"):  # trusted once SHA-1/1024 allowed
        handshake(lab, lab.endpoint(name), verify=True, ciphers="ALL:@SECLEVEL=0")
    expiring = truth_of(lab.endpoint("expiring")).certificates[0]
    assert dt.timedelta(days=6) < expiring.not_after - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)


def test_client_certificate_is_required(lab: LabState) -> None:
    endpoint = lab.endpoint("client-cert")
    assert truth_of(endpoint).client_auth == "required" and endpoint.expect.client_auth == "required"
    assert handshake(lab, endpoint, client_cert=True)[3].startswith(b"HTTP/1.1 200 OK")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(lab, endpoint, version="TLSv1.2", client_cert=False)
    with pytest.raises((ssl.SSLError, ConnectionError)):  # TLS 1.3: the alert arrives after the client's Finished
        handshake(lab, endpoint, version="TLSv1.3", client_cert=False)


def test_https_answers_http(lab: LabState) -> None:
    assert handshake(lab, lab.endpoint("legacy"), version="TLSv1.0")[3].startswith(b"HTTP/1.1 200 OK")


def test_plain_http_speaks_http_not_tls(lab: LabState) -> None:
    endpoint = lab.endpoint("plain-http")
    assert endpoint.truth is None and endpoint.expect.error is not None and endpoint.expect.error.value == "not_tls"
    with socket.create_connection((endpoint.address, endpoint.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200 OK")
    with pytest.raises(ssl.SSLError):
        handshake(lab, endpoint)


def test_tarpit_never_answers(lab: LabState) -> None:
    endpoint = lab.endpoint("tarpit")
    assert endpoint.expect.error is not None and endpoint.expect.error.value == "timeout"
    with socket.create_connection((endpoint.address, endpoint.port), timeout=1) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")
        with pytest.raises(TimeoutError):
            sock.recv(1)
    with pytest.raises(TimeoutError):
        handshake(lab, endpoint, timeout=1.0)


def test_survives_scanner_like_load(lab: LabState) -> None:
    """Garbage, aborted and refused handshakes, then many parallel good ones: every good one completes."""
    endpoint = lab.endpoint("legacy")
    for _ in range(20):
        with socket.create_connection((endpoint.address, endpoint.port), timeout=5) as sock:
            sock.sendall(b"\x16\x03\x01\x00\x02\x01\x00garbage")
    for _ in range(20):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(lab, endpoint, version="TLSv1.2", ciphers="ADH-AES256-GCM-SHA384:@SECLEVEL=0")

    def one(i: int) -> str:
        version = SERVABLE_VERSIONS[i % len(SERVABLE_VERSIONS)]
        return handshake(lab, endpoint, version=version)[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(one, range(120)))
    assert versions.count("TLSv1.0") == 30 and versions.count("TLSv1.3") == 30


def test_expected_findings_agree_with_configuration(lab: LabState) -> None:
    """The expect: lists in lab.yaml follow from the derived truth by the op-pol-001 readings (guards drift)."""
    now = dt.datetime.now(dt.UTC)
    for endpoint in tls_endpoints(lab):
        truth = truth_of(endpoint)
        suites = {s for names in truth.cipher_suites.values() for s in names}
        certs = truth.certificates
        implied: list[tuple[str, str]] = [
            ("tls.protocol.deprecated", "high") for v in ("TLSv1.0", "TLSv1.1") if truth.tls_versions[v]
        ]
        families = {"NULL": any("_NULL_" in s for s in suites), "anonymous": any("_anon_" in s for s in suites)}
        implied += [("tls.cipher.prohibited", "critical") for on in families.values() if on]
        if any(s.endswith("_SHA") for s in suites):
            implied.append(("tls.cipher.sha1_mac", "medium"))
        if any("_128_" in s for s in suites):
            implied.append(("tls.cipher.aes128", "low"))
        if truth.dh_bits is not None and truth.dh_bits < 2048:
            implied.append(("tls.kex.weak_dh", "medium"))
        for c in certs:
            if c.key_type == "RSA" and c.key_bits < 3072:
                implied.append(("cert.key.weak", "high" if c.key_bits < 2048 else "medium"))
            if c.signature_hash == "sha1":
                implied.append(("cert.signature.weak", "high"))
            if c.not_after < now:
                implied.append(("cert.expired", "high"))
            elif c.not_after - now < dt.timedelta(days=30):
                implied.append(("cert.expiring", "medium"))
            if c.issuer == "self":
                implied.append(("cert.untrusted", "high"))
            if not c.hostname_match:
                implied.append(("cert.hostname_mismatch", "high"))
        implied.append(("tls.kex.pq_absent", "info"))  # Python's ssl on OpenSSL 3.0 has no ML-KEM group (issue 15)
        declared = [(f.rule, f.severity.value) for f in endpoint.expect.findings]
        assert sorted(declared) == sorted(implied), endpoint.name
