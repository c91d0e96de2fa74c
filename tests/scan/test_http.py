"""The HTTP layer (probe/scan/http.py) against real servers on loopback: the lab's HTTPS endpoints compared with
their ground truth, and small servers that count connections, record what they were sent, hang, redirect,
answer garbage or an endless body, or serve a must-staple certificate."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

import probe
from probe.cli.main import app
from probe.lab.manager import LabState, running_lab
from probe.models import Target, TargetSource
from probe.report import validate_document
from tests.servers import EstablishedSampler, serve, serve_in_process

HTTPS = ["hsts-none", "hsts-short", "hsts-preload", "hsts-malformed", "http-hang", "hsts-self-signed"]
NAMES = [*HTTPS, "compliant", "client-cert", "tarpit"]  # no ALPN (no request), a client certificate, no TLS
HOST = "www.http.lab.test"  # a name no resolver knows: every scan pins its address

# -- the lab's HTTPS endpoints against their ground truth -----------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab"), names=NAMES) as state:
        yield state


def scan_lab(lab: LabState, *extra: str, only: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The CLI's JSON of the lab (`only`: of these endpoints, by --resolve)."""
    chosen = [lab.endpoint(name) for name in only]
    targets = [a for e in chosen for a in (f"{e.host}:{e.port}", "--resolve", f"{e.host}:{e.port}:{e.address}")]
    listed = targets or ["--targets", lab.targets_csv]
    result = CliRunner().invoke(app, ["scan", *listed, "--ca-file", lab.ca_file, "--timeout", "2", "--deadline",
                                      "8", "--concurrency", "9", "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    validate_document(document)  # the published JSON Schema, with the http block
    return {e["target"]["host"].split(".")[0]: e for e in document["endpoints"]}


@pytest.fixture(scope="module")
def report(lab: LabState) -> dict[str, dict[str, Any]]:
    return scan_lab(lab)


def test_the_http_block_is_the_ground_truth(lab: LabState, report: dict[str, dict[str, Any]]) -> None:
    for endpoint in lab.endpoints:
        entry, expected = report[endpoint.name], endpoint.expect.http
        if expected is None:
            assert entry["http"] is None, endpoint.name  # no ALPN, not port 443: no request made
            continue
        http = entry["http"]
        assert endpoint.truth is not None and endpoint.truth.http is not None
        sent = endpoint.truth.http.header_values("Strict-Transport-Security")
        assert http["status"] == expected.status, endpoint.name
        if expected.hsts is None:
            assert http["hsts"] is None and not sent, endpoint.name
        else:
            assert http["hsts"] == {"raw": sent[0], **expected.hsts.model_dump()}, endpoint.name  # the first counts
        if expected.error is None:
            assert http["error"] is None, endpoint.name
        else:
            assert http["error"].split(":")[0] == expected.error, (endpoint.name, http["error"])


def test_findings_are_the_ground_truth_and_tls_results_stand(lab: LabState, report: dict[str, dict[str, Any]]
                                                             ) -> None:
    for endpoint in lab.endpoints:
        entry = report[endpoint.name]
        if endpoint.expect.error:
            assert entry["status"] == "error" and entry["http"] is None, endpoint.name
            continue
        assert entry["status"] == "ok", endpoint.name
        found = Counter((f["rule"], f["severity"]) for f in entry["findings"])
        assert found == Counter((f.rule, f.severity.value) for f in endpoint.expect.findings), endpoint.name
    hang = report["http-hang"]  # the HTTP request timed out; the TLS scan's results are all there
    assert endpoint_truth_versions(lab, "http-hang") == hang["tls_versions"]
    assert hang["certificates"] and hang["compliant"] is True
    clauses = {f["rule"]: f["clause"] for e in report.values() for f in e["findings"]}
    assert clauses["http.hsts.missing"] == clauses["http.hsts.ineffective"] == "OP-POL-001 3.1.1.1"


def endpoint_truth_versions(lab: LabState, name: str) -> dict[str, bool]:
    truth = lab.endpoint(name).truth
    assert truth is not None
    return truth.tls_versions


def test_no_http_makes_no_request_and_opens_no_connection_for_it(lab: LabState, report: dict[str, dict[str, Any]]
                                                                  ) -> None:
    without = scan_lab(lab, "--no-http", only=("hsts-none", "http-hang", "hsts-self-signed"))
    assert all(entry["http"] is None for entry in without.values())
    assert not any(f["rule"].startswith("http.") for e in without.values() for f in e["findings"])
    assert without["http-hang"]["duration_s"] < report["http-hang"]["duration_s"] - 1  # no 2 s read timeout


def fetch(lab: LabState, name: str, *, alpn: bool = True, timeout: float = 5.0) -> tuple[str | None, bytes]:
    """(ALPN, raw response) of one GET / with Python's ssl client (not the scanner), trusting the lab CA."""
    endpoint = lab.endpoint(name)
    context = ssl.create_default_context(cafile=lab.ca_file)
    if name == "hsts-self-signed":  # not from the lab CA
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((endpoint.address, endpoint.port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=endpoint.host) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {endpoint.host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
        return tls.selected_alpn_protocol(), data


def test_the_lab_https_servers_serve_their_configuration(lab: LabState) -> None:
    """The servers themselves, read by Python's ssl: http/1.1 by ALPN, the configured header lines in order,
    and the hanging one never answers; the other lab servers pick no ALPN."""
    for name in HTTPS:
        endpoint = lab.endpoint(name)
        truth = endpoint.truth
        assert endpoint.kind == "https" and truth is not None and truth.http is not None
        assert truth.http.alpn == ("http/1.1",)
        if truth.http.hangs:
            with pytest.raises(TimeoutError):
                fetch(lab, name, timeout=1.0)
            continue
        alpn, response = fetch(lab, name)
        head = response.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")
        assert alpn == "http/1.1" and head[0] == "HTTP/1.1 200 OK", name
        lines = [tuple(part.strip() for part in line.split(":", 1)) for line in head[1:]]
        assert [line for line in lines if line[0].lower() == "strict-transport-security"] == [
            (key, value) for key, value in truth.http.headers if key.lower() == "strict-transport-security"], name
    assert fetch(lab, "compliant")[0] is None


# -- small servers ----------------------------------------------------------------------------------------------


def server_context(alpn: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*CERT)
    if alpn:
        context.set_alpn_protocols(["http/1.1"])
    return context


def _key_and_cert(tmp: Path, *, must_staple: bool) -> tuple[str, str]:
    """An ECDSA leaf for HOST (self-signed: the chain is not what these tests are about)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=365))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False))
    if must_staple:
        builder = builder.add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    suffix = "staple" if must_staple else "plain"
    key_file, cert_file = tmp / f"key-{suffix}.pem", tmp / f"cert-{suffix}.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_file), str(key_file)


CERT: tuple[str, str] = ("", "")


@pytest.fixture(scope="module", autouse=True)
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    global CERT
    tmp = tmp_path_factory.mktemp("certs")
    CERT = _key_and_cert(tmp, must_staple=False)
    yield


def _read_request(tls: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def https(context: ssl.SSLContext, answer: Callable[[ssl.SSLSocket, bytes], None],
          seen: list[tuple[str | None, str | None, bytes]] | None = None) -> Callable[[socket.socket], None]:
    """A TLS server handler: `answer(tls, request)` once a request arrives (a handshake alone is fine); `seen`
    gets (ALPN, SNI, request) of each request."""

    def remember_sni(tls: Any, name: str | None, _: ssl.SSLContext) -> None:
        tls.sni = name

    context.sni_callback = remember_sni

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        tls = context.wrap_socket(conn, server_side=True)
        try:
            request = _read_request(tls)
            if request:
                if seen is not None:
                    seen.append((tls.selected_alpn_protocol(), getattr(tls, "sni", None), request))
                answer(tls, request)
        finally:
            tls.close()

    return handle


def reply(data: bytes) -> Callable[[ssl.SSLSocket, bytes], None]:
    return lambda tls, _: tls.sendall(data)


def hang(tls: ssl.SSLSocket, _: bytes) -> None:
    while tls.recv(4096):
        pass


HSTS_OK = (b"HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
           b"Content-Length: 2\r\nConnection: close\r\n\r\nok")


def http_rules(endpoint: probe.EndpointReport) -> list[str]:
    return sorted(f.rule for f in endpoint.findings if f.rule.startswith("http."))


def scan_one(port: int, address: str, **options: Any) -> probe.EndpointReport:
    """One endpoint's entry, trusting the test certificate (self-signed: its own anchor)."""
    options.setdefault("ca_file", CERT[0])
    doc = probe.scan([f"{HOST}:{port}"], resolve=[f"{HOST}:{port}:{address}"], timeout=2, deadline=20, **options)
    [endpoint] = doc.endpoints
    assert endpoint.status == "ok", endpoint.error
    return endpoint


def test_one_get_with_the_name_in_sni_and_host_counted_by_the_gate() -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []
    with serve_in_process("127.0.13.101", https(server_context(), reply(HSTS_OK))) as counted, \
            serve("127.0.13.102", https(server_context(), reply(HSTS_OK), seen)) as recording:
        endpoint = scan_one(counted.port, counted.address)
        recorded = scan_one(recording.port, recording.address)
        total = counted.total
    assert endpoint.http is not None and endpoint.http.status == 200 and endpoint.http.error is None
    assert endpoint.http.hsts is not None and endpoint.http.hsts.max_age == 31536000
    assert endpoint.connections == total, "the HTTP connection is counted with the TLS scan's, and no other"
    assert http_rules(endpoint) == []  # one year, includeSubDomains, a certificate that validates
    [(alpn, sni, request)] = seen  # one request, on the connection that negotiated http/1.1
    assert (alpn, sni) == ("http/1.1", HOST)
    head = request.decode("latin-1").split("\r\n")
    assert head[0] == "GET / HTTP/1.1"
    assert f"Host: {HOST}:{recording.port}" in head  # the name, not the address
    assert recorded.http is not None and recorded.http.status == 200


def test_no_http_sends_no_request_and_both_counts_are_exact() -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []
    with serve_in_process("127.0.13.103", https(server_context(), reply(HSTS_OK))) as server, \
            serve("127.0.13.115", https(server_context(), reply(HSTS_OK), seen)) as recording:
        with_http = scan_one(server.port, server.address)
        first = server.total
        without = scan_one(server.port, server.address, no_http=True)
        second = server.total - first
        scan_one(recording.port, recording.address, no_http=True)
    assert with_http.connections == first and without.connections == second
    assert without.http is None and with_http.http is not None
    assert seen == []  # --no-http: not one request


def test_per_host_holds_for_the_http_connection() -> None:
    with serve_in_process("127.0.13.104", https(server_context(), reply(HSTS_OK))) as server, \
            EstablishedSampler(server.address, server.port) as sampler:
        endpoint = scan_one(server.port, server.address, per_host=1)
    assert sampler.peak == 1 and endpoint.http is not None and endpoint.http.status == 200


def test_a_hanging_server_ends_in_http_error_within_the_timeout_and_tls_results_stand() -> None:
    with serve("127.0.13.105", https(server_context(), hang)) as server:
        started = time.monotonic()
        endpoint = scan_one(server.port, server.address)
        took = time.monotonic() - started
    assert endpoint.http is not None and endpoint.http.status is None
    assert endpoint.http.error == "timeout: nothing within 2 s waiting for the response"
    assert endpoint.tls_versions["TLSv1.3"] and endpoint.certificates
    assert took < 6
    assert http_rules(endpoint) == []  # no answer: nothing to judge


def test_the_endpoint_deadline_bounds_the_request() -> None:
    with serve("127.0.13.106", https(server_context(), hang)) as server:
        doc = probe.scan([f"{HOST}:{server.port}"], resolve=[f"{HOST}:{server.port}:{server.address}"], timeout=30,
                         deadline=2.5)
    [endpoint] = doc.endpoints
    assert endpoint.status == "ok", endpoint.error  # the TLS scan finished in time: its results stand
    assert endpoint.http is not None and endpoint.http.error is not None
    assert endpoint.http.error.startswith("deadline: "), endpoint.http.error
    assert endpoint.duration_s < 5


@pytest.mark.parametrize(("answer", "error"), [
    (reply(b"garbage\r\n\r\n"), "protocol: "),
    (lambda tls, _: tls.close(), "protocol: "),  # closed without a response
    (reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"), "protocol: "),  # cut short: body error
])
def test_garbage_and_early_close_are_http_errors(answer: Callable[[ssl.SSLSocket, bytes], None], error: str) -> None:
    with serve("127.0.13.107", https(server_context(), answer)) as server:
        endpoint = scan_one(server.port, server.address)
    assert endpoint.http is not None and endpoint.http.error is not None
    assert endpoint.http.error.startswith(error), endpoint.http.error


def test_redirects_are_not_followed() -> None:
    moved = (b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.http.lab.test/\r\nContent-Length: 0\r\n"
             b"Connection: close\r\n\r\n")
    seen: list[tuple[str | None, str | None, bytes]] = []
    with serve("127.0.13.108", https(server_context(), reply(moved), seen)) as server:
        endpoint = scan_one(server.port, server.address)
    assert endpoint.http is not None and (endpoint.http.status, endpoint.http.error) == (301, None)
    assert len(seen) == 1
    assert http_rules(endpoint) == ["http.hsts.missing"]  # a redirect should carry HSTS too


def test_the_body_is_read_bounded() -> None:
    def endless(tls: ssl.SSLSocket, _: bytes) -> None:
        tls.sendall(HSTS_OK.replace(b"Content-Length: 2", b"Content-Length: 1000000000")[:-2])
        chunk = b"x" * 65536
        while True:
            tls.sendall(chunk)

    with serve("127.0.13.109", https(server_context(), endless)) as server:
        started = time.monotonic()
        endpoint = scan_one(server.port, server.address)
        took = time.monotonic() - started
    assert endpoint.http is not None and (endpoint.http.status, endpoint.http.error) == (200, None)
    assert endpoint.http.hsts is not None and took < 5


def test_https_by_port_or_listener_kind_without_alpn_and_not_https_otherwise() -> None:
    plain = server_context(alpn=False)
    with serve_in_process("127.0.13.110", https(plain, reply(HSTS_OK))) as server:
        not_https = scan_one(server.port, server.address)
        count = server.total
        cloudfront = Target(host=HOST, port=server.port, ip=server.address,
                            source=TargetSource(provider="aws", kind="cloudfront-alias"))
        [declared] = probe.scan([cloudfront], timeout=2, deadline=20).endpoints
    assert not_https.http is None and not_https.connections == count  # the ALPN check's handshake is counted
    assert declared.http is not None and declared.http.status == 200


def test_a_must_staple_certificate_without_a_stapled_response(tmp_path: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_key_and_cert(tmp_path, must_staple=True))  # Python's ssl never staples
    with serve("127.0.13.111", https(context, reply(HSTS_OK))) as server:
        endpoint = scan_one(server.port, server.address)
    [cert] = endpoint.certificates
    assert (cert.must_staple, cert.ocsp_stapled, cert.sct_count, cert.publicly_trusted) == (True, False, 0, False)
    staple = [f for f in endpoint.findings if f.rule == "cert.must_staple_unstapled"]
    assert [(f.severity, f.clause) for f in staple] == [(probe.Severity.HIGH, "OP-POL-001 3.3.1.2")]
    assert "cert.no_sct" not in {f.rule for f in endpoint.findings}  # a private CA: transparency is not asked


def test_an_ordinary_certificate_is_neither_must_staple_nor_public() -> None:
    with serve("127.0.13.112", https(server_context(), reply(HSTS_OK))) as server:
        endpoint = scan_one(server.port, server.address)
    [cert] = endpoint.certificates
    assert (cert.must_staple, cert.ocsp_stapled, cert.publicly_trusted) == (False, False, False)
    assert not {"cert.must_staple_unstapled", "cert.no_sct"} & {f.rule for f in endpoint.findings}


def test_sslyze_engine_gets_the_http_block_too() -> None:
    with serve("127.0.13.113", https(server_context(), reply(HSTS_OK))) as server:
        endpoint = scan_one(server.port, server.address, engine="sslyze")
    assert endpoint.engine == "sslyze" and endpoint.http is not None and endpoint.http.status == 200
