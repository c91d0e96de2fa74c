"""Name why a handshake failed: send one ClientHello and look at what comes back.

Used only after the scanner back-end could not connect, so it costs one extra connection on a
failing endpoint and none on a healthy one.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

from probe.models import ErrorKind, ScanError
from probe.scan.limits import ConnectionGate, DeadlineExceeded

CLIENT_MAX_CERT_LIST = 100 * 1024  # OpenSSL's default limit on a peer's certificate list (nassl and ssl use it)
ALERTS = {
    10: "unexpected_message",
    20: "bad_record_mac",
    40: "handshake_failure",
    42: "bad_certificate",
    47: "illegal_parameter",
    48: "unknown_ca",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}


def client_hello(sni: str | None) -> bytes:
    """Bytes of a real ClientHello (TLS 1.0-1.3, broad cipher list) from Python's ssl."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_name = sni if sni and not _is_ip(sni) else None
    obj = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def _is_ip(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
    except OSError:
        return False
    return True


def _printable(data: bytes) -> str:
    text = data[:40].decode("ascii", errors="replace")
    return "".join(c if c.isprintable() else "." for c in text)


def classify_reply(data: bytes) -> ScanError:
    """Map the first bytes a server answered to a ClientHello to an error kind."""
    if not data:
        return ScanError(kind=ErrorKind.CLOSED, message="server closed the connection after the ClientHello")
    if data[0] == 0x15 and len(data) >= 7:
        code = data[6]
        name = ALERTS.get(code, f"alert {code}")
        hint = " (the server wants a known SNI name: try --sni)" if code == 112 else ""
        return ScanError(kind=ErrorKind.TLS_ALERT, message=f"server sent fatal TLS alert {name}{hint}")
    if data[0] == 0x16 and data[1:2] == b"\x03":
        return ScanError(
            kind=ErrorKind.TLS_ALERT,
            message="server answered the handshake but no TLS version or cipher suite could be agreed",
        )
    if data.startswith(b"SSH-"):
        return ScanError(kind=ErrorKind.NOT_TLS, message=f"not TLS: SSH banner {_printable(data)!r}")
    if data[:5] in (b"HTTP/", b"<html", b"<!DOC"):
        return ScanError(kind=ErrorKind.NOT_TLS, message=f"not TLS: plain HTTP answer {_printable(data)!r}")
    return ScanError(kind=ErrorKind.NOT_TLS, message=f"not TLS: server sent {_printable(data)!r}")


def _flight_size(sock: socket.socket, data: bytes) -> int:
    """Bytes the server sends after our ClientHello before it falls silent (capped just past the limit)."""
    size = len(data)
    sock.settimeout(0.5)
    with contextlib.suppress(OSError):
        while size <= CLIENT_MAX_CERT_LIST:
            chunk = sock.recv(65536)
            if not chunk:
                break
            size += len(chunk)
    return size


def diagnose(gate: ConnectionGate, ip: str, port: int, sni: str | None, timeout: float) -> ScanError | None:
    """Open one connection, send a ClientHello, classify the reply; None when nothing can be said."""
    try:
        sock = gate.open(ip, port, timeout)
    except DeadlineExceeded:
        return ScanError(kind=ErrorKind.TIMEOUT, message="deadline reached before the server completed a handshake")
    except ConnectionRefusedError:
        return ScanError(kind=ErrorKind.REFUSED, message="connection refused")
    except TimeoutError:
        return ScanError(kind=ErrorKind.TIMEOUT, message="TCP connection timed out")
    except OSError as exc:
        return ScanError(kind=ErrorKind.INTERNAL, message=f"connect failed: {exc.strerror or exc}")
    try:
        banner = b""
        sock.settimeout(min(timeout, 0.3))
        with contextlib.suppress(TimeoutError):  # servers such as SSH speak first
            banner = sock.recv(256)
        if banner:
            return classify_reply(banner)
        sock.settimeout(timeout)
        sock.sendall(client_hello(sni))
        data = b""
        while len(data) < 7:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        if data[:1] == b"\x16" and _flight_size(sock, data) > CLIENT_MAX_CERT_LIST:
            return ScanError(
                kind=ErrorKind.TLS_ALERT,
                message="server's handshake flight exceeds the 100 KiB a TLS client accepts "
                "(certificate chain too large): no handshake could complete",
            )
        return classify_reply(data)
    except ConnectionResetError:
        return ScanError(kind=ErrorKind.RESET, message="connection reset by the server during the handshake")
    except TimeoutError:
        return ScanError(kind=ErrorKind.TIMEOUT, message=f"no answer to the ClientHello within {timeout:g} s")
    except OSError as exc:
        return ScanError(kind=ErrorKind.INTERNAL, message=f"handshake probe failed: {exc.strerror or exc}")
    finally:
        sock.close()
