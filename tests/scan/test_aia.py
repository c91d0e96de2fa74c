"""--fetch-aia's fetcher (probe/scan/aia.py) against a real HTTP server on loopback: what it parses, what it
refuses (redirects, other schemes, oversized answers), that every request goes through the run's resolver and
ConnectionGate (counted against the endpoint scanned) and that each URL is asked once per run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from probe.lab.hostile_certs import make_ca_cert
from probe.resolve import Overrides, StaticResolver
from probe.scan.aia import MAX_BYTES, AiaFetcher
from probe.scan.limits import ConnectionGate, EndpointBudget

ADDRESS = "127.0.12.201"
NAME = "ca.aia.tlsprobe.test"
ROOT = make_ca_cert("tlsprobe aia test root", None)
INTERMEDIATE = make_ca_cert("tlsprobe aia test intermediate", ROOT)
DER = INTERMEDIATE[0].public_bytes(serialization.Encoding.DER)
PEM = INTERMEDIATE[0].public_bytes(serialization.Encoding.PEM)
P7C = pkcs7.serialize_certificates([INTERMEDIATE[0], ROOT[0]], serialization.Encoding.DER)


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        Handler.requests.append(self.path)
        bodies = {"/i.der": DER, "/i.pem": PEM, "/bundle.p7c": P7C, "/big.der": b"\x30" * (MAX_BYTES + 10)}
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", f"http://{ADDRESS}:{self.server.server_address[1]}/i.der")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(DER), 500):
                piece = DER[start : start + 500]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path in bodies:
            self.send_response(200)
            self.send_header("Content-Length", str(len(bodies[self.path])))
            self.end_headers()
            self.wfile.write(bodies[self.path])
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def http() -> Iterator[int]:
    server = ThreadingHTTPServer((ADDRESS, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def setup(port: int, seconds: float = 10.0) -> tuple[AiaFetcher, ConnectionGate, EndpointBudget]:
    """A fetcher resolving NAME by --resolve (no DNS), and an endpoint scan's gate and budget."""
    fetcher = AiaFetcher(StaticResolver(), Overrides.parse([f"{NAME}:{port}:{ADDRESS}"]))
    budget = EndpointBudget(deadline_at=0)
    budget.start(seconds)
    return fetcher, ConnectionGate(per_host=2, rate=None, timeout=2.0), budget


@pytest.mark.parametrize(("path", "count"), [("/i.der", 1), ("/i.pem", 1), ("/bundle.p7c", 2), ("/chunked", 1)])
def test_the_certificates_at_the_url_in_each_form(http: int, path: str, count: int) -> None:
    fetcher, gate, budget = setup(http)
    got = fetcher.fetch(f"http://{NAME}:{http}{path}", gate, budget, 2.0)
    assert isinstance(got, list) and len(got) == count and INTERMEDIATE[0] in got
    assert budget.connections == 1, "the fetch is a connection of the endpoint being scanned"


def test_each_url_is_asked_once_per_run(http: int) -> None:
    fetcher, gate, budget = setup(http)
    before = len(Handler.requests)
    url = f"http://{NAME}:{http}/i.der"
    assert fetcher.fetch(url, gate, budget, 2.0) == fetcher.fetch(url, gate, budget, 2.0)
    assert len(Handler.requests) - before == 1 and fetcher.requests == 1


@pytest.mark.parametrize(("path", "reason"), [
    ("/moved", "HTTP 301: redirects are not followed"),
    ("/missing.der", "HTTP 404"),
    ("/big.der", "answer larger than 64 KiB"),
])
def test_what_is_refused_is_said(http: int, path: str, reason: str) -> None:
    fetcher, gate, budget = setup(http)
    before = len(Handler.requests)
    assert fetcher.fetch(f"http://{NAME}:{http}{path}", gate, budget, 2.0) == reason
    assert Handler.requests[before:] == [path], "one request, the redirect not followed"


def test_only_plain_http_is_fetched_and_names_resolve_only_as_the_run_resolves(http: int) -> None:
    fetcher, gate, budget = setup(http)
    assert fetcher.fetch(f"https://{NAME}:{http}/i.der", gate, budget, 2.0) == (
        "not fetched: only http:// AIA URLs are fetched, not https")
    assert fetcher.fetch("ldap://ldap.example/cn=ca", gate, budget, 2.0).startswith("not fetched")
    assert fetcher.fetch(f"http://other.aia.tlsprobe.test:{http}/i.der", gate, budget, 2.0) == (
        "dns: other.aia.tlsprobe.test: not in the static name map")
    assert budget.connections == 0


def test_a_refused_connection_is_a_reason(http: int) -> None:
    fetcher, gate, budget = setup(http)
    assert fetcher.fetch(f"http://{ADDRESS}:1/i.der", gate, budget, 2.0) == "refused: connection refused"
    assert budget.connections == 1


def test_past_the_endpoints_deadline_nothing_is_opened_and_nothing_kept(http: int) -> None:
    fetcher, gate, budget = setup(http, seconds=0.01)
    time.sleep(0.05)
    url = f"http://{NAME}:{http}/i.der"
    assert fetcher.fetch(url, gate, budget, 2.0) == "timeout: the endpoint's deadline passed"
    assert budget.connections == 0
    _, _, fresh = setup(http)
    assert isinstance(fetcher.fetch(url, gate, fresh, 2.0), list), "a later endpoint with time left fetches it"
