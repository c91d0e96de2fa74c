"""One lab endpoint as its own process: `python -m probe.lab.server SPEC.json`.

Kinds: `tls` (Python ssl, answers one HTTP request after the handshake), `https` (the same, picking http/1.1
by ALPN and answering with the spec's header lines, or reading the request and never answering), `plain_http`
(HTTP on a TLS port), `tarpit` (accepts TCP, never answers). Binds the spec's 127.x address and port (0 = free port),
then writes `ready_file` ({"port", "pid"}) and serves until killed. Failed handshakes are silent.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_VERSIONS = {
    "TLSv1.0": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ")
IO_TIMEOUT_S = 10.0
TARPIT_HOLD_S = 600.0
MAX_CONNECTIONS = 256


def http_response(status: str, body: str, headers: Sequence[str] = ()) -> bytes:
    """A minimal HTTP/1.1 response that closes the connection, with extra header lines ("Name: value")."""
    payload = body.encode()
    extra = "".join(f"{line}\r\n" for line in headers)
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n"
        f"{extra}\r\n"
    )
    return head.encode("latin-1") + payload


def build_context(spec: dict[str, Any]) -> ssl.SSLContext:
    """The server's SSLContext from the spec: versions, cipher string, DH params, certificates, client auth."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated: the point here
        ctx.minimum_version = _VERSIONS[spec["min_version"]]
        ctx.maximum_version = _VERSIONS[spec["max_version"]]
    ctx.set_ciphers(spec["ciphers"])  # before loading keys: @SECLEVEL=0 admits RSA-1024, SHA-1, small DH
    ctx.options |= ssl.OP_NO_COMPRESSION
    if spec.get("cipher_preference", "server") == "server":
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE  # Python sets it by default on server contexts
    if spec.get("dh_params"):
        ctx.load_dh_params(spec["dh_params"])
    for cert in spec["certificates"]:
        ctx.load_cert_chain(cert["cert"], cert["key"])
    if spec.get("client_ca"):
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(spec["client_ca"])
    if spec.get("alpn"):
        ctx.set_alpn_protocols(spec["alpn"])
    return ctx


def _read_request(sock: socket.socket | ssl.SSLSocket, limit: int = 16384) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def first_record_length(conn: socket.socket) -> int | None:
    """Length of the first TLS record the client sent (peeked, not consumed); None if it is not a TLS record."""
    head = b""
    deadline = time.monotonic() + IO_TIMEOUT_S
    while len(head) < 5 and time.monotonic() < deadline:
        head = conn.recv(5, socket.MSG_PEEK)
        if not head:
            return None
        if len(head) < 5:
            time.sleep(0.001)
    if len(head) < 5 or head[0] != 0x16:
        return None
    return int.from_bytes(head[3:5], "big")


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a device that drops an oversized ClientHello does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def serve_tls(conn: socket.socket, ctx: ssl.SSLContext, reset_sizes: tuple[int, int] | None = None) -> None:
    if reset_sizes is not None:
        length = first_record_length(conn)
        if length is not None and reset_sizes[0] <= length <= reset_sizes[1]:
            reset(conn)
            return
    with ctx.wrap_socket(conn, server_side=True) as tls:
        request = _read_request(tls)
        if request:
            tls.sendall(http_response("200 OK", "tlsprobe lab\n"))
        with contextlib.suppress(OSError, ValueError):
            tls.unwrap()


def serve_https(conn: socket.socket, ctx: ssl.SSLContext, headers: Sequence[str], hang: bool) -> None:
    """Answer GET with the configured header lines; or, hanging, read the request and never answer (the client
    gives up, or the I/O timeout ends the connection)."""
    with ctx.wrap_socket(conn, server_side=True) as tls:
        request = _read_request(tls)
        if not request:
            return
        if hang:
            while tls.recv(4096):
                pass
            return
        tls.sendall(http_response("200 OK", "tlsprobe lab\n", headers))
        with contextlib.suppress(OSError, ValueError):
            tls.unwrap()


def serve_plain_http(conn: socket.socket) -> None:
    """Answer HTTP requests with 200; anything else (a TLS ClientHello) at once with 400, as web servers do."""
    first = conn.recv(4096)
    if not first:
        return
    if not first.startswith(_HTTP_METHODS):
        conn.sendall(http_response("400 Bad Request", "this port speaks plain HTTP\n"))
        return
    request = first if b"\r\n\r\n" in first else first + _read_request(conn)
    if request:
        conn.sendall(http_response("200 OK", "plain http on a TLS port\n"))


def serve_tarpit(conn: socket.socket) -> None:
    conn.settimeout(TARPIT_HOLD_S)
    deadline = time.monotonic() + TARPIT_HOLD_S
    while time.monotonic() < deadline and conn.recv(4096):
        pass  # read and discard; never answer


def _guarded(
    handler: Callable[[socket.socket], None], conn: socket.socket, slots: threading.BoundedSemaphore, io_timeout: float
) -> None:
    try:
        conn.settimeout(io_timeout)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        handler(conn)
    except (OSError, ssl.SSLError, ValueError):
        pass  # a scanner's failed handshake is normal traffic
    finally:
        conn.close()
        slots.release()


def make_handler(spec: dict[str, Any]) -> Callable[[socket.socket], None]:
    kind = spec["kind"]
    if kind == "tls":
        ctx = build_context(spec)
        sizes = spec.get("reset_hello_sizes")
        window = (int(sizes[0]), int(sizes[1])) if sizes else None
        return lambda conn: serve_tls(conn, ctx, window)
    if kind == "https":
        https_ctx = build_context(spec)
        headers = tuple(spec.get("http_headers") or ())
        hang = spec.get("http_response") == "hang"
        return lambda conn: serve_https(conn, https_ctx, headers, hang)
    if kind == "plain_http":
        return serve_plain_http
    if kind == "tarpit":
        return serve_tarpit
    raise ValueError(f"unknown endpoint kind {kind!r}")


def accept_forever(
    spec: dict[str, Any],
    handler: Callable[[socket.socket], None],
    *,
    max_connections: int = MAX_CONNECTIONS,
    io_timeout: float = IO_TIMEOUT_S,
) -> None:
    """Bind (IPv4 or IPv6), announce the port through the ready file, accept forever (a thread per connection)."""
    family = socket.AF_INET6 if ":" in spec["address"] else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((spec["address"], int(spec["port"])))
    listener.listen(max_connections)
    ready = Path(spec["ready_file"])
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": listener.getsockname()[1], "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(ready)
    slots = threading.BoundedSemaphore(max_connections)
    while True:
        conn, _ = listener.accept()
        if not slots.acquire(blocking=False):
            conn.close()
            continue
        threading.Thread(target=_guarded, args=(handler, conn, slots, io_timeout), daemon=True).start()


def serve(spec: dict[str, Any]) -> None:
    """Serve one lab endpoint as its spec says."""
    accept_forever(spec, make_handler(spec))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m probe.lab.server SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    serve(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
