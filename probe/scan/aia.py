"""The certificate an AIA "CA Issuers" URL names (RFC 5280 4.2.2.1), fetched only with --fetch-aia.

It is a request to a third party, so it is opt-in and goes the way every connection of a run goes: the URL's host is
resolved by the run's resolver and --resolve/--connect-to, the TCP connection is opened through the run's
ConnectionGate (counted against the endpoint being scanned, within its deadline, --per-host and --rate). Plain
`http://` only (what CAs publish; `ldap://` and `https://` are not fetched), one GET, the answer bounded to
MAX_BYTES, HTTP redirects not followed, each URL fetched at most once per run. A failure is a value: the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.parse
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from probe.resolve import Overrides, ResolutionError, Resolver, is_ip
from probe.scan.limits import ConnectionGate, DeadlineExceeded, EndpointBudget

__all__ = ["MAX_BYTES", "AiaFetcher", "parse_certificates"]

MAX_BYTES = 64 * 1024  # a CA certificate is 1-2 KB; a PKCS#7 bundle of a few is well below this
_MAX_HEADER = 16 * 1024

Result = list[x509.Certificate] | str


def parse_certificates(body: bytes) -> list[x509.Certificate]:
    """The certificates of an AIA answer: one DER certificate (RFC 5280), a DER PKCS#7 bundle (.p7c) or PEM;
    ValueError when it is none of these."""
    with contextlib.suppress(ValueError):
        return [x509.load_der_x509_certificate(body)]
    with contextlib.suppress(ValueError):
        return list(pkcs7.load_der_pkcs7_certificates(body))
    if b"-----BEGIN" in body:
        with contextlib.suppress(ValueError):
            return list(pkcs7.load_pem_pkcs7_certificates(body))
        return x509.load_pem_x509_certificates(body)
    raise ValueError("not a certificate (DER, PKCS#7 or PEM)")


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


class AiaFetcher:
    """Fetches AIA CA Issuers URLs for one run (results kept per URL, so each is asked at most once)."""

    def __init__(self, resolver: Resolver, overrides: Overrides | None = None) -> None:
        self.resolver = resolver
        self.overrides = overrides or Overrides()
        self.requests = 0  # GET requests sent over the network
        self._results: dict[str, Result] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def for_endpoint(self, gate: ConnectionGate, budget: EndpointBudget, timeout: float) -> Callable[[str], Result]:
        """The fetch function `probe.scan.trust.assess` takes, within one endpoint's scan."""
        return lambda url: self.fetch(url, gate, budget, timeout)

    def fetch(self, url: str, gate: ConnectionGate, budget: EndpointBudget, timeout: float) -> Result:
        """The certificates at `url`, or why there are none."""
        with self._lock:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            cached = self._results.get(url)
            if cached is not None:
                return cached
            try:
                result = self._fetch(url, gate, budget, timeout)
            except DeadlineExceeded:
                return "timeout: the endpoint's deadline passed"  # not kept: another endpoint has time left
            self._results[url] = result
            return result

    def _route(self, host: str, port: int, timeout: float) -> tuple[str, int]:
        route = self.overrides.route(host, port)
        if route is not None:
            target, port = route.address, route.port
            if is_ip(target):
                return target, port
            host = target
        pinned = self.overrides.addresses(host, port)
        if pinned:
            return pinned[0], port
        if is_ip(host):
            return host, port
        addresses = asyncio.run(asyncio.wait_for(self.resolver.resolve(host), timeout))  # this worker has no loop
        return addresses[0], port

    def _fetch(self, url: str, gate: ConnectionGate, budget: EndpointBudget, timeout: float) -> Result:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() != "http":
            return f"not fetched: only http:// AIA URLs are fetched, not {parts.scheme or 'this'}"
        try:
            host, port = parts.hostname, parts.port or 80
        except ValueError:
            return "invalid URL"
        if not host:
            return "invalid URL: no host"
        try:
            ip, dial_port = self._route(host, port, timeout)
        except (ResolutionError, TimeoutError) as exc:
            return f"dns: {exc or 'resolution timed out'}"
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        authority = host if port == 80 else f"{host}:{port}"
        request = (f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: tlsprobe\r\nAccept: */*\r\n"
                   "Connection: close\r\n\r\n").encode("ascii", errors="replace")
        gate.register(ip, dial_port, budget)  # the connection counts against the endpoint being scanned
        try:
            try:
                sock = gate.open(ip, dial_port, timeout)
            except DeadlineExceeded:
                raise
            except ConnectionRefusedError:
                return "refused: connection refused"
            except TimeoutError:
                return "timeout: TCP connection timed out"
            except OSError as exc:
                return f"connect failed: {exc.strerror or exc}"
            self.requests += 1
            try:
                sock.sendall(request)
                data = b""
                while len(data) <= MAX_BYTES + _MAX_HEADER:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except TimeoutError:
                return "timeout: no complete answer"
            except OSError as exc:
                return f"read failed: {exc.strerror or exc}"
            finally:
                sock.close()
        finally:
            gate.unregister(ip, dial_port, budget)
        return self._answer(data)

    @staticmethod
    def _answer(data: bytes) -> Result:
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            return "not an HTTP answer" if data else "the server closed without answering"
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
            return "not an HTTP answer"
        code = int(status[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if 300 <= code < 400:
            return f"HTTP {code}: redirects are not followed"
        if code != 200:
            return f"HTTP {code}"
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = _dechunk(body)
        elif b"content-length" in headers and headers[b"content-length"].isdigit():
            body = body[: int(headers[b"content-length"])]
        if len(body) > MAX_BYTES:
            return f"answer larger than {MAX_BYTES // 1024} KiB"
        try:
            certificates = parse_certificates(body)
        except ValueError as exc:
            return str(exc)
        return certificates or "no certificate in the answer"
