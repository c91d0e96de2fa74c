"""Raw TLS records (SSL 3.0 to TLS 1.2) for the probes that must see what a TLS library hides: Heartbleed, CCS
injection, ROBOT (probe/scan/fast/vulns.py).

The server's first flight is read record by record and its handshake messages are reassembled across records: a
certificate message of 40 KB (a thousand SANs) spans three records, and one record may hold several messages. That
reassembly is what sslyze's record parser lacks (its Heartbleed, CCS injection and ROBOT checks fail with ValueError
on such servers). Reading stops at ServerHelloDone, an alert, the end of the connection or MAX_FLIGHT bytes.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

__all__ = ["Flight", "RecordReader", "client_hello", "read_first_flight", "record"]

VERSIONS = {"SSLv3": 0x0300, "TLSv1.0": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303}
VERSION_NAMES = {number: name for name, number in VERSIONS.items()}
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
SERVER_HELLO, CERTIFICATE, SERVER_HELLO_DONE = 2, 11, 14
MAX_FLIGHT = 1 << 20  # bytes of a first flight read before giving up (OpenSSL clients refuse 100 KiB of certificates)
ALERT_NAMES = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow", 40: "handshake_failure",
    42: "bad_certificate", 47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback", 112: "unrecognized_name",
}

# Suites up to TLS 1.2 (ECDHE, DHE, RSA key exchange; AES-GCM, ChaCha20, AES-CBC, 3DES, RC4), so that any server
# of those versions finds one; and the RSA key-exchange suites alone (ROBOT).
RSA_SUITES = (0x009C, 0x009D, 0x003C, 0x003D, 0x002F, 0x0035, 0x000A, 0x0005, 0x0004)
ALL_SUITES = (
    0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009F, 0xCCAA, 0xC023, 0xC024, 0xC027, 0xC028,
    0xC009, 0xC00A, 0xC013, 0xC014, 0x0067, 0x006B, 0x0033, 0x0039, 0x0032, 0x0038, 0xC012, 0x0016, 0x0013,
    0xC011, 0xC007, *RSA_SUITES,
)  # fmt: skip
_GROUPS = (29, 23, 24, 25, 30)  # x25519, secp256r1, secp384r1, secp521r1, x448
_SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201)


def record(content_type: int, version: int, payload: bytes) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(payload).to_bytes(2, "big") + payload


def handshake_message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _vector(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _extension(kind: int, data: bytes) -> bytes:
    return kind.to_bytes(2, "big") + _vector(data, 2)


def _is_ip(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
    except OSError:
        return False
    return True


def client_hello(version: str, suites: tuple[int, ...], sni: str | None, *, heartbeat: bool = False) -> bytes:
    """One ClientHello record offering `version` (SSLv3 to TLSv1.2) and `suites`; the heartbeat extension
    (RFC 6520, peer allowed to send) when `heartbeat` is set."""
    number = VERSIONS[version]
    ciphers = b"".join(s.to_bytes(2, "big") for s in (*suites, 0x00FF))  # + TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    extensions = b""
    if sni and not _is_ip(sni):
        name = sni.encode("idna") if not sni.isascii() else sni.encode("ascii")
        extensions += _extension(0, _vector(b"\x00" + _vector(name, 2), 2))
    extensions += _extension(10, _vector(b"".join(g.to_bytes(2, "big") for g in _GROUPS), 2))
    extensions += _extension(11, b"\x01\x00")  # EC point formats: uncompressed
    if number >= VERSIONS["TLSv1.2"]:
        extensions += _extension(13, _vector(b"".join(a.to_bytes(2, "big") for a in _SIGNATURE_ALGORITHMS), 2))
    if heartbeat:
        extensions += _extension(15, b"\x01")
    body = (number.to_bytes(2, "big") + os.urandom(32) + b"\x00" + _vector(ciphers, 2) + b"\x01\x00"
            + (_vector(extensions, 2) if number > VERSIONS["SSLv3"] else b""))
    return record(HANDSHAKE, VERSIONS["TLSv1.0"], handshake_message(1, body))


@dataclass(frozen=True)
class Record:
    content_type: int
    version: int
    payload: bytes


class RecordReader:
    """Records from a socket; `next()` is None once the peer closes. Socket errors propagate."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.read = 0  # bytes received so far

    def _fill(self, wanted: int) -> bool:
        while len(self.buffer) < wanted:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.read += len(chunk)
            self.buffer += chunk
        return True

    def next(self) -> Record | None:
        if not self._fill(5):
            return None
        length = int.from_bytes(self.buffer[3:5], "big")
        if not self._fill(5 + length):
            return None
        head, self.buffer = self.buffer[: 5 + length], self.buffer[5 + length :]
        return Record(head[0], int.from_bytes(head[1:3], "big"), head[5:])


@dataclass
class Flight:
    """What the server sent in answer to a ClientHello, up to its ServerHelloDone."""

    version: int | None = None  # from the ServerHello
    cipher: int | None = None
    certificates: list[bytes] = field(default_factory=list)  # DER, leaf first
    done: bool = False  # ServerHelloDone arrived
    alert: tuple[int, int] | None = None  # (level, description) of the alert that ended it
    heartbeats: list[bytes] = field(default_factory=list)  # payloads of heartbeat records received
    ended: str = ""  # why reading stopped before ServerHelloDone: closed, reset, timeout, not TLS, too large

    @property
    def hello(self) -> bool:
        return self.version is not None

    def describe(self) -> str:
        if self.alert is not None:
            return f"alert {ALERT_NAMES.get(self.alert[1], self.alert[1])}"
        return self.ended or ("ServerHelloDone" if self.done else "an incomplete flight")


def _server_hello(body: bytes, flight: Flight) -> None:
    if len(body) < 38:
        raise ValueError("short ServerHello")
    flight.version = int.from_bytes(body[0:2], "big")
    session = body[34]
    flight.cipher = int.from_bytes(body[35 + session : 37 + session], "big")


def _certificates(body: bytes) -> list[bytes]:
    total = int.from_bytes(body[0:3], "big")
    data, certificates = body[3 : 3 + total], []
    while len(data) >= 3:
        size = int.from_bytes(data[0:3], "big")
        certificates.append(data[3 : 3 + size])
        data = data[3 + size :]
    return certificates


def read_first_flight(reader: RecordReader, limit: int = MAX_FLIGHT) -> Flight:
    """Read up to ServerHelloDone (or an alert, the end, `limit` bytes), reassembling handshake messages."""
    flight = Flight()
    stream = b""  # handshake bytes not yet parsed into a message
    while not flight.done:
        try:
            rec = reader.next()
        except TimeoutError:
            flight.ended = "timeout"
            return flight
        except ConnectionResetError:
            flight.ended = "reset"
            return flight
        if rec is None:
            flight.ended = "closed"
            return flight
        if rec.content_type == ALERT and len(rec.payload) >= 2:
            flight.alert = (rec.payload[0], rec.payload[1])
            return flight
        if rec.content_type == HEARTBEAT:
            flight.heartbeats.append(rec.payload)
            continue
        if rec.content_type != HANDSHAKE or rec.version >> 8 != 3:
            flight.ended = f"not TLS (record type {rec.content_type})"
            return flight
        stream += rec.payload
        while len(stream) >= 4:
            size = int.from_bytes(stream[1:4], "big")
            if len(stream) < 4 + size:
                break
            kind, body, stream = stream[0], stream[4 : 4 + size], stream[4 + size :]
            if kind == SERVER_HELLO:
                _server_hello(body, flight)
            elif kind == CERTIFICATE:
                flight.certificates = _certificates(body)
            elif kind == SERVER_HELLO_DONE:
                flight.done = True
        if reader.read > limit:
            flight.ended = f"the flight exceeds {limit // 1024} KiB"
            return flight
    return flight
