"""The HTTP layer of an HTTPS endpoint: one `GET /` with httpx, after the TLS scan, under the same limits.

`HttpLayer` wraps a back-end: once the TLS scan of an endpoint is done (and only when it succeeded) it opens one
more connection through the run's `ConnectionGate` (deadline, --per-host, --rate, counted in `connections`) to
the pinned address, shakes hands with Python's ssl (the name in SNI, ALPN offering http/1.1, no certificate
check: the TLS scan judges the certificate) and, when the endpoint is HTTPS, sends `GET /` over that connection
with httpx: no redirect followed, no DNS lookup, no second connection, the body read up to `MAX_BODY` bytes.

An endpoint is HTTPS when its port is 443, when it was discovered as a listener that only serves HTTPS (API
Gateway, CloudFront), or when the server picks http/1.1 (or h2) by ALPN in that handshake; otherwise the
connection is closed after the handshake and `http` stays None. A server that hangs, resets or answers
garbage gives `http.error` ("<kind>: <reason>"); the endpoint's TLS results stand.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import httpcore
import httpx

from probe.models import HttpInfo, Observation, Target
from probe.scan.engine import Backend
from probe.scan.hsts import first_hsts
from probe.scan.limits import ConnectionGate, DeadlineExceeded, EndpointBudget

__all__ = ["HTTPS_ALPN", "HTTPS_SOURCE_KINDS", "MAX_BODY", "HttpLayer", "get_root", "is_https_target"]

MAX_BODY = 64 * 1024  # bytes of the body read before the connection is closed
HTTPS_PORT = 443
HTTPS_ALPN = frozenset({"http/1.1", "h2"})
OFFERED_ALPN = ("http/1.1",)  # httpx speaks HTTP/2 only with the h2 package, not a dependency
# Discovered listeners that serve HTTPS and nothing else (ELB listeners may be TLS or HTTPS: port or ALPN decide).
HTTPS_SOURCE_KINDS = frozenset(
    {"apigateway-api", "apigateway-domain", "apigatewayv2-domain", "cloudfront-alias", "cloudfront-distribution"}
)
_CHUNK = 16384
_MESSAGE_LIMIT = 200
_HTTP_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.StreamError,
    httpcore.ProtocolError,
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ConnectionNotAvailable,
    httpcore.UnsupportedProtocol,
)
T = TypeVar("T")


def is_https_target(target: Target) -> bool:
    """HTTPS before any handshake: port 443, or a discovered listener that only serves HTTPS."""
    return target.port == HTTPS_PORT or target.source.kind in HTTPS_SOURCE_KINDS


@cache
def _user_agent() -> str:
    try:
        return f"tlsprobe/{version('tlsprobe')}"
    except PackageNotFoundError:
        return "tlsprobe"


@cache
def client_context() -> ssl.SSLContext:
    """The HTTP check's TLS client: any version and suite the server may insist on, no certificate check (the
    TLS scan judges the certificate; HSTS behind one that does not validate is judged ineffective)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.set_alpn_protocols(list(OFFERED_ALPN))
    return context


class _TlsStream(httpcore.NetworkStream):
    """TLS (ssl.SSLObject over memory BIOs) on a socket from the gate: every read and write goes through the
    gated socket, so the endpoint's deadline bounds it and closing it gives the per-host slot back."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.sock = sock
        self.context = context
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=False,
                                     server_hostname=server_hostname)

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self.sock.sendall(data)

    def _pump(self, operation: Callable[[], T]) -> T:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(_CHUNK)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            self._flush()
            return result

    def handshake(self) -> None:
        self._pump(self._tls.do_handshake)

    @property
    def alpn(self) -> str | None:
        return self._tls.selected_alpn_protocol()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.sock.settimeout(timeout)
        try:
            return self._pump(lambda: self._tls.read(max_bytes))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""  # closed, with or without close_notify: the HTTP layer decides whether that was early
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sock.settimeout(timeout)
        view = memoryview(buffer)
        try:
            while view:
                written = self._pump(partial(self._tls.write, view))
                view = view[written:]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        self.sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return self  # the handshake is done: it told whether the endpoint speaks HTTP

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls
        if info == "socket":
            return self.sock
        if info == "is_readable":
            return False
        return None


class _OneConnection(httpcore.NetworkBackend):
    """httpcore's network: the one connection already open, never a second (no retry, no DNS)."""

    def __init__(self, stream: _TlsStream) -> None:
        self._stream: _TlsStream | None = stream

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream, self._stream = self._stream, None
        if stream is None:
            raise httpcore.ConnectError("the HTTP check opens one connection per endpoint")
        return stream


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _Transport(httpx.BaseTransport):
    """httpx over httpcore over the one TLS stream."""

    def __init__(self, stream: _TlsStream) -> None:
        self._pool = httpcore.ConnectionPool(ssl_context=stream.context, network_backend=_OneConnection(stream),
                                             max_connections=1, retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(status_code=response.status, headers=response.headers, stream=_Body(response.stream),
                              extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _describe(exc: BaseException, budget: EndpointBudget, timeout: float, during: str) -> str:
    """'<kind>: <reason>' for a failure of the HTTP check."""
    causes = [exc]
    while causes[-1].__cause__ is not None and len(causes) < 5:
        causes.append(causes[-1].__cause__)
    if isinstance(exc, DeadlineExceeded) or budget.cancelled.is_set() or budget.remaining() <= 0:
        return f"deadline: the endpoint's deadline was reached {during}"
    if any(isinstance(c, TimeoutError | httpcore.TimeoutException | httpx.TimeoutException) for c in causes):
        return f"timeout: nothing within {timeout:g} s {during}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "refused: connection refused"
    if any(isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes):
        return f"reset: the server reset the connection {during}"
    if any(isinstance(c, ssl.SSLEOFError | ssl.SSLZeroReturnError) for c in causes):
        return f"closed: the server closed the connection {during}"
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        return _clip(f"tls: {tls.reason or tls} {during}")
    if isinstance(exc, httpcore.RemoteProtocolError | httpx.RemoteProtocolError):
        return _clip(f"protocol: {exc}")
    return _clip(f"error: {type(exc).__name__}: {exc} {during}")


def _server_name(target: Target) -> str:
    return target.sni or target.host


def _sni(name: str) -> str | None:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return None  # no SNI for an address


def _request(stream: _TlsStream, target: Target, timeout: float, budget: EndpointBudget) -> HttpInfo:
    """`GET /` on the open TLS stream: status, the first Strict-Transport-Security header, a bounded body."""
    url = httpx.URL(scheme="https", host=_server_name(target), port=target.port, path="/")
    headers = {"User-Agent": _user_agent(), "Accept": "*/*", "Connection": "close"}
    with httpx.Client(transport=_Transport(stream), timeout=httpx.Timeout(timeout), follow_redirects=False,
                      trust_env=False) as client:
        try:
            with client.stream("GET", url, headers=headers) as response:
                hsts = first_hsts(response.headers.get_list("strict-transport-security"))
                info = HttpInfo(status=response.status_code, hsts=hsts.header if hsts else None)
                read = 0
                try:
                    for chunk in response.iter_raw():
                        read += len(chunk)
                        if read >= MAX_BODY:
                            break  # enough: closing the response closes the connection
                except _HTTP_ERRORS as exc:
                    return info.model_copy(update={"error": _describe(exc, budget, timeout, "reading the body")})
                return info
        except _HTTP_ERRORS as exc:
            return HttpInfo(error=_describe(exc, budget, timeout, "waiting for the response"))
        finally:
            stream.close()


def get_root(gate: ConnectionGate, target: Target, budget: EndpointBudget, *, timeout: float
             ) -> tuple[HttpInfo | None, str | None]:
    """The HTTP check of one endpoint: (its `http` block, None when it is not HTTPS; a note for the report)."""
    assert target.ip is not None, "targets are resolved before scanning"
    https = is_https_target(target)
    gate.register(target.ip, target.dial_port, budget)
    try:
        try:
            sock = gate.open(target.ip, target.dial_port, timeout)
        except OSError as exc:
            error = _describe(exc, budget, timeout, "connecting")
            return (HttpInfo(error=error), None) if https else (None, f"http: not checked ({error})")
        stream = _TlsStream(sock, client_context(), _sni(_server_name(target)))
        try:
            stream.handshake()
        except OSError as exc:
            stream.close()
            error = _describe(exc, budget, timeout, "in the TLS handshake")
            return (HttpInfo(error=error), None) if https else (None, f"http: not checked ({error})")
        if not (https or stream.alpn in HTTPS_ALPN):
            stream.close()
            return None, None  # no HTTP by ALPN, not port 443: not an HTTPS endpoint
        return _request(stream, target, timeout, budget), None
    finally:
        gate.unregister(target.ip, target.dial_port, budget)


class HttpLayer:
    """A back-end that runs another back-end's TLS scan, then the HTTP check of the endpoint (`--no-http`
    leaves this layer out)."""

    def __init__(self, inner: Backend, gate: ConnectionGate, *, timeout: float) -> None:
        self.inner = inner
        self.engine = inner.engine
        self.gate = gate
        self.timeout = timeout

    def scan(self, target: Target, budget: EndpointBudget) -> Observation:
        observation = self.inner.scan(target, budget)
        if observation.status != "ok":
            return observation
        started = time.monotonic()
        try:
            http, note = get_root(self.gate, target, budget, timeout=self.timeout)
        except Exception as exc:  # a bug here must not lose the TLS results: it is the check's error, reported
            http, note = HttpInfo(error=_clip(f"internal: {type(exc).__name__}: {exc}")), None
        update: dict[str, Any] = {
            "http": http,
            "connections": budget.connections,
            "duration_s": round(observation.duration_s + time.monotonic() - started, 3),
        }
        if note is not None:
            update["notes"] = (*observation.notes, note)
        return observation.model_copy(update=update)
