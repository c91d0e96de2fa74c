"""Post-quantum key exchange with raw TLS 1.3 ClientHellos: supported by elimination, negotiated, HRR upgrade.

No ML-KEM implementation is needed: a probe reads the server's first message (ServerHello, HelloRetryRequest or
an alert) and closes. nassl's OpenSSL 1.1.1 knows none of these groups, so the hellos are built here.

- Supported, by elimination: offer TLS 1.3 only with every post-quantum group and no key share; a
  HelloRetryRequest names the server's choice; remove it and repeat until the server refuses (k supported groups
  cost k+1 connections). `illegal_parameter` or `decode_error` is inconclusive (some servers mishandle an empty
  share): the elimination goes on with a structurally valid share for each group offered (probe.scan.mlkem).
  Any other alert, or a close, means none of those offered is supported.
- Negotiated: a browser-like hello (X25519MLKEM768 and X25519 key shares, then P-256 and P-384): the group the
  server picks (by ServerHello, or by HelloRetryRequest).
- HRR upgrade: X25519MLKEM768 and X25519 offered with an X25519 share only: does the server ask for the hybrid
  by HelloRetryRequest? Probed only when X25519MLKEM768 is supported.

Every connection comes from the run's ConnectionGate (deadline, --per-host, --rate, counted).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import socket
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from probe.models import PostQuantum
from probe.scan import mlkem
from probe.scan.limits import ConnectionGate, DeadlineExceeded

__all__ = [
    "CLASSICAL_GROUPS",
    "HYBRID_GROUPS",
    "OBSOLETE_GROUPS",
    "PQ_GROUPS",
    "Kind",
    "PqProber",
    "ServerAnswer",
    "client_hello",
    "group_code",
    "group_label",
    "probe_pq",
    "read_answer",
    "send_hello",
]

# Post-quantum groups in the order the elimination offers them (IANA TLS Supported Groups registry names).
PQ_GROUPS: dict[int, str] = {
    mlkem.X25519_MLKEM768: "X25519MLKEM768",
    mlkem.SECP256R1_MLKEM768: "SecP256r1MLKEM768",
    mlkem.SECP384R1_MLKEM1024: "SecP384r1MLKEM1024",
    mlkem.X25519_KYBER768_DRAFT00: "X25519Kyber768Draft00",
    mlkem.MLKEM512: "MLKEM512",
    mlkem.MLKEM768: "MLKEM768",
    mlkem.MLKEM1024: "MLKEM1024",
}
# Only these count as post-quantum readiness: standardised hybrids (the draft Kyber hybrid is obsolete).
HYBRID_GROUPS: tuple[str, ...] = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
OBSOLETE_GROUPS: tuple[str, ...] = ("X25519Kyber768Draft00",)
# Classical groups under the names the scanner reports (probe.scan.settings.GROUP_NAMES).
CLASSICAL_GROUPS: dict[int, str] = {
    mlkem.X25519: "X25519", mlkem.SECP256R1: "secp256r1", mlkem.SECP384R1: "secp384r1",
    mlkem.SECP521R1: "secp521r1", mlkem.X448: "X448",
    0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x0102: "ffdhe4096", 0x0103: "ffdhe6144", 0x0104: "ffdhe8192",
}
_NAMES = {**CLASSICAL_GROUPS, **PQ_GROUPS}
_CODES = {name: code for code, name in _NAMES.items()}

TLS13_SUITES = (0x1302, 0x1303, 0x1301, 0x1304, 0x1305)
# Every TLS 1.3 signature scheme a server certificate may need (ECDSA, EdDSA, RSA-PSS, then PKCS#1 for chains).
_SIGNATURE_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B,
                      0x0401, 0x0501, 0x0601, 0x0203, 0x0201)
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
BROWSER_GROUPS = (mlkem.X25519_MLKEM768, mlkem.X25519, mlkem.SECP256R1, mlkem.SECP384R1)
BROWSER_SHARES = (mlkem.X25519_MLKEM768, mlkem.X25519)
INCONCLUSIVE_ALERTS = {47: "illegal_parameter", 50: "decode_error"}
_ALERT_NAMES = {10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure", 47: "illegal_parameter",
                50: "decode_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
                109: "missing_extension", 112: "unrecognized_name"}
_MAX_FIRST_FLIGHT = 65536  # bytes read at most before the first handshake message must be complete


def group_label(code: int) -> str:
    """The IANA name of a group code point (0x...: unknown)."""
    return _NAMES.get(code, f"0x{code:04x}")


def group_code(name: str) -> int:
    """The code point of a group name; KeyError for an unknown name."""
    return _CODES[name]


# ---------------------------------------------------------------------------------------------- the hello


def _vector(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def client_hello(sni: str | None, groups: Sequence[int], shares: Mapping[int, bytes] | None = None,
                 suites: Sequence[int] = TLS13_SUITES) -> bytes:
    """The records of a TLS 1.3-only ClientHello offering `groups`, with a key share for each group of `shares`
    (in `groups` order; none: an empty key_share list)."""
    shares = shares or {}
    extensions = b""
    if sni and not _is_ip(sni):
        name = sni.encode("idna") if not sni.isascii() else sni.encode()
        extensions += _extension(0, _vector(b"\x00" + _vector(name, 2), 2))
    extensions += _extension(10, _vector(b"".join(struct.pack("!H", g) for g in groups), 2))
    extensions += _extension(13, _vector(b"".join(struct.pack("!H", s) for s in _SIGNATURE_SCHEMES), 2))
    extensions += _extension(43, _vector(b"\x03\x04", 1))  # supported_versions: TLS 1.3 only
    extensions += _extension(45, _vector(b"\x01", 1))  # psk_key_exchange_modes: psk_dhe_ke
    entries = b"".join(struct.pack("!H", g) + _vector(shares[g], 2) for g in groups if g in shares)
    extensions += _extension(51, _vector(entries, 2))
    body = (
        b"\x03\x03" + secrets.token_bytes(32) + _vector(secrets.token_bytes(32), 1)
        + _vector(b"".join(struct.pack("!H", s) for s in suites), 2) + b"\x01\x00" + _vector(extensions, 2)
    )
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    records = b""
    for start in range(0, len(message), 16384):
        chunk = message[start : start + 16384]
        records += b"\x16\x03\x01" + struct.pack("!H", len(chunk)) + chunk
    return records


# ---------------------------------------------------------------------------------------------- the answer


class Kind(StrEnum):
    HRR = "hello_retry_request"
    SERVER_HELLO = "server_hello"
    ALERT = "alert"
    CLOSED = "closed"  # closed or reset without an alert
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # the TCP connection failed
    GARBAGE = "garbage"  # not a TLS answer, or not a TLS 1.3 one


@dataclass(frozen=True)
class ServerAnswer:
    """The server's first message to one ClientHello."""

    kind: Kind
    group: int | None = None  # the group a HelloRetryRequest or ServerHello names
    alert: int | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.kind in (Kind.HRR, Kind.SERVER_HELLO) and self.group is not None:
            return f"{self.kind.value} {group_label(self.group)}"
        if self.kind == Kind.ALERT and self.alert is not None:
            return f"alert {_ALERT_NAMES.get(self.alert, self.alert)}"
        return f"{self.kind.value} {self.detail}".strip()


def _parse_server_hello(message: bytes) -> ServerAnswer:
    """A ServerHello or HelloRetryRequest body (after the 4-byte handshake header)."""
    try:
        random = message[2:34]
        sid_len = message[34]
        at = 35 + sid_len + 3  # cipher suite (2) and compression (1)
        ext_len = int.from_bytes(message[at : at + 2], "big")
        extensions = message[at + 2 : at + 2 + ext_len]
        version, group = None, None
        while len(extensions) >= 4:
            kind, length = struct.unpack("!HH", extensions[:4])
            data, extensions = extensions[4 : 4 + length], extensions[4 + length :]
            if kind == 43 and len(data) >= 2:
                version = int.from_bytes(data[:2], "big")
            elif kind == 51 and len(data) >= 2:
                group = int.from_bytes(data[:2], "big")
    except IndexError:
        return ServerAnswer(Kind.GARBAGE, detail="truncated ServerHello")
    if version != 0x0304:
        return ServerAnswer(Kind.GARBAGE, detail="a ServerHello below TLS 1.3")
    return ServerAnswer(Kind.HRR if random == HRR_RANDOM else Kind.SERVER_HELLO, group=group)


def read_answer(sock: socket.socket) -> ServerAnswer:
    """Read records until the first handshake message is complete, or an alert, a close or a timeout."""
    buffer, handshake = b"", b""
    try:
        while len(buffer) + len(handshake) < _MAX_FIRST_FLIGHT:
            while len(buffer) >= 5:
                kind, length = buffer[0], int.from_bytes(buffer[3:5], "big")
                if kind not in (20, 21, 22) or buffer[1] != 3:
                    return ServerAnswer(Kind.GARBAGE, detail=f"not a TLS record ({buffer[:8]!r})")
                if len(buffer) < 5 + length:
                    break
                payload, buffer = buffer[5 : 5 + length], buffer[5 + length :]
                if kind == 21 and len(payload) >= 2:
                    return ServerAnswer(Kind.ALERT, alert=payload[1])
                if kind == 22:
                    handshake += payload
                    if len(handshake) >= 4:
                        size = int.from_bytes(handshake[1:4], "big")
                        if len(handshake) >= 4 + size:
                            if handshake[0] != 2:
                                return ServerAnswer(Kind.GARBAGE, detail=f"handshake message {handshake[0]} first")
                            return _parse_server_hello(handshake[4 : 4 + size])
            data = sock.recv(16384)
            if not data:
                return ServerAnswer(Kind.CLOSED, detail="closed")
            buffer += data
    except TimeoutError:
        return ServerAnswer(Kind.TIMEOUT, detail="timeout")
    except ConnectionError:
        return ServerAnswer(Kind.CLOSED, detail="reset")
    return ServerAnswer(Kind.GARBAGE, detail="no complete handshake message")


def send_hello(gate: ConnectionGate, ip: str, port: int, hello: bytes, timeout: float) -> ServerAnswer:
    """One gated connection: send `hello`, read the first answer, close. Raises DeadlineExceeded only."""
    try:
        sock = gate.open(ip, port, timeout)
    except DeadlineExceeded:
        raise
    except TimeoutError:
        return ServerAnswer(Kind.UNREACHABLE, detail="timeout")
    except OSError as exc:
        return ServerAnswer(Kind.UNREACHABLE, detail=exc.strerror or str(exc))
    try:
        sock.sendall(hello)
        return read_answer(sock)
    except TimeoutError:
        return ServerAnswer(Kind.TIMEOUT, detail="timeout")
    except OSError as exc:
        return ServerAnswer(Kind.CLOSED, detail=exc.strerror or str(exc))
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------------- the prober

Send = Callable[[bytes], ServerAnswer]


@dataclass
class PqProber:
    """The post-quantum probes of one endpoint; `send` sends one hello on a new connection."""

    send: Send
    sni: str | None
    notes: list[str] = field(default_factory=list)

    def eliminate(self) -> tuple[list[str], list[str]]:
        """(supported groups in the order the server chose them, groups left undecided)."""
        left = list(PQ_GROUPS)
        supported: list[str] = []
        valid_shares = False
        while left:
            shares = {g: mlkem.key_share(g) for g in left} if valid_shares else None
            answer = self.send(client_hello(self.sni, left, shares))
            if answer.kind in (Kind.HRR, Kind.SERVER_HELLO) and answer.group in left:
                assert answer.group is not None
                supported.append(group_label(answer.group))
                left.remove(answer.group)
                continue
            if answer.kind in (Kind.HRR, Kind.SERVER_HELLO):
                self.notes.append(f"post-quantum: the server chose {answer.describe()}, which was not offered")
                return supported, [group_label(g) for g in left]
            if answer.kind == Kind.ALERT and answer.alert in INCONCLUSIVE_ALERTS:
                if not valid_shares:
                    valid_shares = True
                    self.notes.append(f"post-quantum: {answer.describe()} to empty key shares; "
                                      "retried with valid key shares")
                    continue
                self.notes.append(f"post-quantum: {answer.describe()} to valid key shares; "
                                  f"undecided: {', '.join(group_label(g) for g in left)}")
                return supported, [group_label(g) for g in left]
            if answer.kind in (Kind.TIMEOUT, Kind.UNREACHABLE, Kind.GARBAGE):
                self.notes.append(f"post-quantum: {answer.describe()}; undecided: "
                                  f"{', '.join(group_label(g) for g in left)}")
                return supported, [group_label(g) for g in left]
            if answer.kind == Kind.CLOSED:
                self.notes.append(f"post-quantum: the server closed ({answer.detail}) when offered "
                                  f"{', '.join(group_label(g) for g in left)}: taken as not supported")
            return supported, []  # a refusal: none of those left is supported
        return supported, []

    def negotiated(self) -> str | None:
        """The group the server picks under a browser-like hello; None when it picks none."""
        shares = {g: mlkem.key_share(g) for g in BROWSER_SHARES}
        answer = self.send(client_hello(self.sni, BROWSER_GROUPS, shares))
        if answer.kind in (Kind.HRR, Kind.SERVER_HELLO) and answer.group in BROWSER_GROUPS:
            assert answer.group is not None
            return group_label(answer.group)
        self.notes.append(f"post-quantum: browser-like hello: {answer.describe()}")
        return None

    def hrr_upgrade(self) -> bool | None:
        """True when the server answers an X25519 share by asking for X25519MLKEM768; None when undecided."""
        groups = (mlkem.X25519_MLKEM768, mlkem.X25519)
        answer = self.send(client_hello(self.sni, groups, {mlkem.X25519: mlkem.key_share(mlkem.X25519)}))
        if answer.kind == Kind.HRR and answer.group == mlkem.X25519_MLKEM768:
            return True
        if answer.kind == Kind.SERVER_HELLO and answer.group == mlkem.X25519:
            return False
        self.notes.append(f"post-quantum: hello with an X25519 share only: {answer.describe()}")
        return None

    def run(self) -> PostQuantum:
        supported, undecided = self.eliminate()
        negotiated = self.negotiated()
        upgrade = self.hrr_upgrade() if "X25519MLKEM768" in supported else None
        return PostQuantum(supported=tuple(supported), negotiated=negotiated, hrr_upgrade=upgrade,
                           undecided=tuple(undecided))


def probe_pq(
    gate: ConnectionGate, ip: str, port: int, sni: str | None, timeout: float
) -> tuple[PostQuantum, list[str]]:
    """The post-quantum block of one endpoint that accepts TLS 1.3, and notes. Raises DeadlineExceeded only."""
    prober = PqProber(lambda hello: send_hello(gate, ip, port, hello, timeout), sni)
    return prober.run(), prober.notes
