"""A lab endpoint that fakes post-quantum answers: `python -m probe.lab.pq_fake SPEC.json`.

It peeks at each ClientHello. A hello that offers a post-quantum group it fakes gets a canned answer (a
HelloRetryRequest, a ServerHello whose key share is random bytes, or an alert) and the connection closes; every
other hello is served by the ordinary lab TLS server (Python's ssl, OpenSSL 3.0: no ML-KEM), so the rest of a scan
sees a real endpoint. Modes (`pq_fake` in the spec):

- `kyber-draft`: the obsolete X25519Kyber768Draft00 (0x6399), which OpenSSL never shipped and Go removed: a hello
  offering it without a share draws a HelloRetryRequest for it, with a valid share a ServerHello, with a malformed
  share (the Kyber key fails the modulus check) illegal_parameter.
- `empty-share-intolerant`: X25519MLKEM768 from a server that mishandles empty key shares: a hello offering a
  post-quantum group with no key share (or an empty one) draws decode_error; a valid X25519MLKEM768 share a
  ServerHello; a malformed one illegal_parameter. A hello with other shares only goes to the real server.
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.lab.server import IO_TIMEOUT_S, accept_forever, build_context, serve_tls
from probe.models import PostQuantum
from probe.scan import mlkem

__all__ = ["MODES", "Hello", "answer_for", "fake_truth", "parse_client_hello"]

MODES = ("kyber-draft", "empty-share-intolerant")
PQ_CODES = (0x11EC, 0x11EB, 0x11ED, 0x6399, 0x0200, 0x0201, 0x0202)
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
ILLEGAL_PARAMETER, DECODE_ERROR = 47, 50
_SERVER_SHARE = {0x6399: 32 + 1088, 0x11EC: 1088 + 32}  # ciphertext || X25519 (random: nobody decapsulates)


@dataclass
class Hello:
    session_id: bytes = b""
    suites: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    shares: dict[int, bytes] = field(default_factory=dict)


def parse_client_hello(message: bytes) -> Hello | None:
    """The parts of a ClientHello handshake message (type 1 + length + body) the fake needs; None if garbled."""
    try:
        if message[0] != 1:
            return None
        body = message[4 : 4 + int.from_bytes(message[1:4], "big")]
        at = 34
        sid = body[at + 1 : at + 1 + body[at]]
        at += 1 + body[at]
        suites_len = int.from_bytes(body[at : at + 2], "big")
        suites = [int.from_bytes(body[at + 2 + i : at + 4 + i], "big") for i in range(0, suites_len, 2)]
        at += 2 + suites_len
        at += 1 + body[at]
        ext_total = int.from_bytes(body[at : at + 2], "big")
        raw = body[at + 2 : at + 2 + ext_total]
        hello = Hello(session_id=sid, suites=suites)
        while len(raw) >= 4:
            kind, length = struct.unpack("!HH", raw[:4])
            data, raw = raw[4 : 4 + length], raw[4 + length :]
            if kind == 10:
                hello.groups = [int.from_bytes(data[i : i + 2], "big") for i in range(2, len(data), 2)]
            elif kind == 51:
                entries = data[2:]
                while len(entries) >= 4:
                    group, size = struct.unpack("!HH", entries[:4])
                    hello.shares[group] = entries[4 : 4 + size]
                    entries = entries[4 + size :]
        return hello
    except IndexError:
        return None


def _valid(group: int, share: bytes) -> bool:
    if group == 0x6399:
        return len(share) == 1216 and mlkem.encapsulation_key_valid(share[32:], 768)
    if group == 0x11EC:
        return len(share) == 1216 and mlkem.encapsulation_key_valid(share[:1184], 768)
    return False


def _record(kind: int, payload: bytes) -> bytes:
    return bytes((kind, 3, 3)) + len(payload).to_bytes(2, "big") + payload


def _alert(description: int) -> bytes:
    return _record(21, bytes((2, description)))


def _server_hello(hello: Hello, group: int, retry: bool) -> bytes:
    suite = next((s for s in (0x1302, 0x1301, 0x1303) if s in hello.suites), 0x1301)
    key_share = struct.pack("!H", group) if retry else (
        struct.pack("!HH", group, _SERVER_SHARE[group]) + secrets.token_bytes(_SERVER_SHARE[group]))
    extensions = struct.pack("!HHH", 43, 2, 0x0304) + struct.pack("!HH", 51, len(key_share)) + key_share
    body = (b"\x03\x03" + (HRR_RANDOM if retry else secrets.token_bytes(32)) + bytes((len(hello.session_id),))
            + hello.session_id + struct.pack("!H", suite) + b"\x00" + struct.pack("!H", len(extensions)) + extensions)
    return _record(22, b"\x02" + len(body).to_bytes(3, "big") + body)


def answer_for(mode: str, hello: Hello) -> bytes | None:
    """The canned answer of `mode` to `hello`; None: the real server answers."""
    if mode == "kyber-draft":
        if 0x6399 not in hello.groups:
            return None
        if 0x6399 not in hello.shares:
            return _server_hello(hello, 0x6399, retry=True)
        return _server_hello(hello, 0x6399, retry=False) if _valid(0x6399, hello.shares[0x6399]) else _alert(
            ILLEGAL_PARAMETER)
    if mode == "empty-share-intolerant":
        if not any(g in PQ_CODES for g in hello.groups):
            return None
        if not hello.shares or any(len(share) == 0 for share in hello.shares.values()):
            return _alert(DECODE_ERROR)
        if 0x11EC in hello.shares:
            return _server_hello(hello, 0x11EC, retry=False) if _valid(0x11EC, hello.shares[0x11EC]) else _alert(
                ILLEGAL_PARAMETER)
        return None
    raise ValueError(f"unknown pq_fake mode {mode!r}")


def fake_truth(mode: str, classical_groups: tuple[str, ...]) -> PostQuantum:
    """What a fake in `mode` answers, from its configuration: the canned part, and the real server's classical
    choice (X25519 when configured) for the hellos it passes on."""
    negotiated = "X25519" if "X25519" in classical_groups else None
    if mode == "kyber-draft":
        return PostQuantum(supported=("X25519Kyber768Draft00",), negotiated=negotiated, hrr_upgrade=None)
    return PostQuantum(supported=("X25519MLKEM768",), negotiated="X25519MLKEM768", hrr_upgrade=False)


def _peek_hello(conn: socket.socket) -> bytes | None:
    """The first handshake message, peeked (left in the socket for the real server); None if not a TLS hello."""
    deadline = time.monotonic() + IO_TIMEOUT_S
    while time.monotonic() < deadline:
        data = conn.recv(65536, socket.MSG_PEEK)
        if not data or data[0] != 0x16:
            return None
        message, at = b"", 0
        while at + 5 <= len(data):  # the hello may span several records
            length = int.from_bytes(data[at + 3 : at + 5], "big")
            if at + 5 + length > len(data):
                break
            message += data[at + 5 : at + 5 + length]
            at += 5 + length
        if len(message) >= 4 and len(message) >= 4 + int.from_bytes(message[1:4], "big"):
            return message
        if len(data) >= 65536:
            return None
        time.sleep(0.002)
    return None


def serve(spec: dict[str, Any]) -> None:
    ctx = build_context(spec)
    mode = spec["pq_fake"]

    def handle(conn: socket.socket) -> None:
        message = _peek_hello(conn)
        hello = parse_client_hello(message) if message else None
        canned = answer_for(mode, hello) if hello is not None else None
        if canned is not None:
            conn.recv(65536)  # consume the hello, answer, close
            conn.sendall(canned)
            return
        serve_tls(conn, ctx)

    accept_forever(spec, handle)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m probe.lab.pq_fake SPEC.json", file=sys.stderr)
        return 2
    serve(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
