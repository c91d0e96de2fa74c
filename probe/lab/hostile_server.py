"""One hostile lab endpoint as its own process: `python -m probe.lab.hostile_server SPEC.json`.

Kinds: tarpit, slow_drip, reset_after_hello, garbage, fatal_alert, accept_close, ssh_banner, counter
(counts connections into `count_file`, answers nothing), aia (plain HTTP: GET /NAME answers the file NAME of
`aia_dir`, as a CA's AIA CA Issuers server does, counting requests into `count_file`) and tls (versions, cipher
string and DH parameters from the spec; optionally requiring SNI, optionally answering every HTTP request with a
301 to `redirect_to`). Binds the spec's address (IPv4 or IPv6), writes `ready_file` ({"port", "pid"}), then serves
until killed.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probe.lab.server import accept_forever

HOLD_S = 600.0
DRIP_INTERVAL_S = 1.0
MAX_CONNECTIONS = 512
# A ServerHello record header promising 16 KiB: a client waits for the rest, one byte a second.
DRIP_BYTES = b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03" + bytes(range(32)) * 8
ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"


def _hold(conn: socket.socket) -> None:
    conn.settimeout(HOLD_S)
    deadline = time.monotonic() + HOLD_S
    with contextlib.suppress(OSError):
        while time.monotonic() < deadline and conn.recv(4096):
            pass


def serve_tarpit(conn: socket.socket) -> None:
    _hold(conn)


def serve_slow_drip(conn: socket.socket) -> None:
    conn.settimeout(HOLD_S)
    for byte in DRIP_BYTES:
        conn.sendall(bytes([byte]))
        time.sleep(DRIP_INTERVAL_S)
    _hold(conn)


def serve_reset_after_hello(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def garbage(seed: int, size: int = 512) -> bytes:
    """Random bytes that start like no protocol (first byte 0x80-0xff: no TLS record, no banner)."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    data[0] |= 0x80
    return bytes(data)


def serve_garbage(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(garbage(int(time.monotonic_ns())))


def serve_fatal_alert(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(ALERT_HANDSHAKE_FAILURE)


def serve_accept_close(conn: socket.socket) -> None:
    return None


def serve_ssh_banner(conn: socket.socket) -> None:
    conn.sendall(SSH_BANNER)
    conn.recv(4096)  # an SSH server drops a peer that speaks something else
    conn.sendall(b"Invalid SSH identification string.\r\n")


def _counter(count_file: Path) -> Callable[[socket.socket], None]:
    lock = threading.Lock()
    count = [0]

    def serve_counter(conn: socket.socket) -> None:
        with lock:
            count[0] += 1
            tmp = count_file.with_suffix(".tmp")
            tmp.write_text(str(count[0]), encoding="utf-8")
            tmp.replace(count_file)
        _hold(conn)

    count_file.write_text("0", encoding="utf-8")
    return serve_counter


_VERSIONS = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1, "TLSv1.2": ssl.TLSVersion.TLSv1_2,
             "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def _tls_context(spec: dict[str, Any]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
        ctx.minimum_version = _VERSIONS[spec.get("min_version") or "TLSv1.2"]
        ctx.maximum_version = _VERSIONS[spec.get("max_version") or "TLSv1.3"]
    ctx.set_ciphers(spec.get("ciphers") or "ECDHE+AESGCM")
    ctx.options |= ssl.OP_NO_COMPRESSION
    if spec.get("dh_params"):
        ctx.load_dh_params(spec["dh_params"])
    for cert in spec["certificates"]:
        ctx.load_cert_chain(cert["cert"], cert["key"])
    if spec.get("sni_required"):
        wanted = spec.get("sni_name")

        def need_sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> int | None:
            if name is None or (wanted and name != wanted):
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            return None

        ctx.sni_callback = need_sni
    return ctx


def _read_request(tls: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _tls(spec: dict[str, Any]) -> Callable[[socket.socket], None]:
    ctx = _tls_context(spec)
    location = spec.get("redirect_to")
    if location:
        answer = (f"HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n").encode()
    else:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def serve_tls(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            if _read_request(tls):
                tls.sendall(answer)

    return serve_tls


def _aia(directory: Path, count_file: Path) -> Callable[[socket.socket], None]:
    lock = threading.Lock()
    count = [0]

    def serve_aia(conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 8192:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        with lock:
            count[0] += 1
            tmp = count_file.with_suffix(".tmp")
            tmp.write_text(str(count[0]), encoding="utf-8")
            tmp.replace(count_file)
        parts = request.split(b" ", 2)
        name = parts[1].decode("ascii", errors="replace").lstrip("/") if len(parts) > 1 else ""
        path = directory / name
        if parts[0] != b"GET" or "/" in name or not name or not path.is_file():
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        body = path.read_bytes()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    count_file.write_text("0", encoding="utf-8")
    return serve_aia


HANDLERS: dict[str, Callable[[socket.socket], None]] = {
    "tarpit": serve_tarpit,
    "slow_drip": serve_slow_drip,
    "reset_after_hello": serve_reset_after_hello,
    "garbage": serve_garbage,
    "fatal_alert": serve_fatal_alert,
    "accept_close": serve_accept_close,
    "ssh_banner": serve_ssh_banner,
}


def make_handler(spec: dict[str, Any]) -> Callable[[socket.socket], None]:
    kind = spec["kind"]
    if kind == "tls":
        return _tls(spec)
    if kind == "counter":
        return _counter(Path(spec["count_file"]))
    if kind == "aia":
        return _aia(Path(spec["aia_dir"]), Path(spec["count_file"]))
    if kind in HANDLERS:
        return HANDLERS[kind]
    raise ValueError(f"unknown hostile endpoint kind {kind!r}")


def serve(spec: dict[str, Any]) -> None:
    """Serve one hostile endpoint (30 s per read: the slow ones must outlast the scanner's deadline)."""
    accept_forever(spec, make_handler(spec), max_connections=MAX_CONNECTIONS, io_timeout=30.0)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m probe.lab.hostile_server SPEC.json", file=sys.stderr)
        return 2
    serve(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
