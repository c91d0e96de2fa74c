"""tlsprobe's raw Heartbleed, CCS injection and ROBOT probes (probe/scan/fast/vulns.py) and their record reader.

No server at hand is vulnerable (OpenSSL 3 is not), so a raw TLS record server on loopback plays each behaviour at
the record level: it sends a real certificate of 1001 SANs over several records, then echoes heartbeats or not,
tries to decrypt after an early ChangeCipherSpec or not, and answers ROBOT's paddings alike or differently (it
decrypts the ClientKeyExchange with its RSA key). The probes must say True, False, or why they cannot decide."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from probe.lab.certs import make_ca
from probe.lab.hostile_certs import make_leaf, thousand_sans
from probe.models import Target
from probe.scan.fast import vulns
from probe.scan.fast.records import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    HEARTBEAT,
    Flight,
    RecordReader,
    handshake_message,
    read_first_flight,
    record,
)
from probe.scan.limits import ConnectionGate, EndpointBudget
from probe.scan.settings import ScanSettings

ADDRESS = "127.0.12.200"
HOST = "raw.hostile.tlsprobe.test"


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, rsa.RSAPrivateKey]:
    """A 1001-SAN RSA leaf from a lab CA (DER), and its key."""
    ca = make_ca(tmp_path_factory.mktemp("raw-ca"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf, _ = make_leaf(HOST, (ca.cert, ca.key), sans=thousand_sans(HOST), key=key)
    return leaf.public_bytes(serialization.Encoding.DER), key


def flight(version: int, cipher: int, certificate: bytes) -> bytes:
    """ServerHello, Certificate, ServerHelloDone in records of at most 16384 bytes (the certificate spans several)."""
    hello = version.to_bytes(2, "big") + bytes(32) + b"\x00" + cipher.to_bytes(2, "big") + b"\x00"
    chain = len(certificate).to_bytes(3, "big") + certificate
    stream = (handshake_message(2, hello) + handshake_message(11, len(chain).to_bytes(3, "big") + chain)
              + handshake_message(14, b""))
    return b"".join(record(HANDSHAKE, version, stream[i : i + 16384]) for i in range(0, len(stream), 16384))


def client_version(hello: bytes) -> int:
    return min(int.from_bytes(hello[9:11], "big"), 0x0303)


def valid_padding(block: bytes) -> bool:
    return block[:2] == b"\x00\x02" and b"\x00" not in block[2:-49] and block[-49] == 0


class RawServer:
    """One behaviour per server: heartbleed | patched | ccs | robot-oracle | robot-patched | refuse."""

    def __init__(self, behaviour: str, identity: tuple[bytes, rsa.RSAPrivateKey]) -> None:
        self.behaviour = behaviour
        self.certificate, self.key = identity
        self.listener = socket.create_server((ADDRESS, 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            reader = RecordReader(conn)
            hello = reader.next()
            if hello is None:
                return
            if self.behaviour == "refuse":
                conn.sendall(record(ALERT, 0x0301, b"\x02\x28"))
                return
            version = client_version(record(hello.content_type, hello.version, hello.payload))
            conn.sendall(flight(version, 0x009C, self.certificate))
            try:
                self._after_flight(conn, reader, version)
            except OSError:
                return

    def _after_flight(self, conn: socket.socket, reader: RecordReader, version: int) -> None:
        padding_ok: bool | None = None
        while (rec := reader.next()) is not None:
            if rec.content_type == HEARTBEAT and self.behaviour == "heartbleed":
                length = int.from_bytes(rec.payload[1:3], "big")
                conn.sendall(record(HEARTBEAT, version, b"\x02" + rec.payload[1 : 3 + length] + bytes(16)))
            elif rec.content_type == HEARTBEAT:
                continue  # a patched server discards a heartbeat without padding, silently
            elif rec.content_type == CHANGE_CIPHER_SPEC and self.behaviour != "ccs" and padding_ok is None:
                conn.sendall(record(ALERT, version, b"\x02\x0a"))  # unexpected_message: the early CCS refused
                return
            elif rec.content_type == APPLICATION_DATA and self.behaviour == "ccs":
                conn.sendall(record(ALERT, version, b"\x02\x14"))  # it tried to decrypt: bad_record_mac
                return
            elif rec.content_type == HANDSHAKE and rec.payload[:1] == b"\x10":  # ClientKeyExchange
                encrypted = int.from_bytes(rec.payload[6:], "big")
                numbers = self.key.private_numbers()
                block = pow(encrypted, numbers.d, numbers.public_numbers.n).to_bytes(256, "big")
                padding_ok = valid_padding(block)
                if self.behaviour == "robot-oracle" and not padding_ok:
                    conn.sendall(record(ALERT, version, b"\x02\x33"))  # decrypt_error: the oracle
                    return
            elif rec.content_type == HANDSHAKE and padding_ok is not None:  # the (garbage) Finished
                conn.sendall(record(ALERT, version, b"\x02\x14"))
                return

    def connect(self) -> socket.socket:
        return socket.create_connection((ADDRESS, self.port), timeout=3)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server(identity: tuple[bytes, rsa.RSAPrivateKey]) -> Iterator[Callable[[str], RawServer]]:
    started: list[RawServer] = []

    def start(behaviour: str) -> RawServer:
        started.append(RawServer(behaviour, identity))
        return started[-1]

    yield start
    for running in started:
        running.close()


@pytest.mark.parametrize(("behaviour", "verdict"), [("heartbleed", True), ("patched", False)])
def test_heartbleed(server: Callable[[str], RawServer], behaviour: str, verdict: bool) -> None:
    decision = vulns.heartbleed(server(behaviour).connect, HOST, timeout=0.5)
    assert decision.vulnerable is verdict, decision


@pytest.mark.parametrize(("behaviour", "verdict"), [("ccs", True), ("patched", False)])
def test_ccs_injection(server: Callable[[str], RawServer], behaviour: str, verdict: bool) -> None:
    decision = vulns.ccs_injection(server(behaviour).connect, HOST, timeout=0.5)
    assert decision.vulnerable is verdict, decision
    if not verdict:
        assert decision.detail == "TLSv1.2: the early ChangeCipherSpec was refused (alert unexpected_message)"


def test_robot_finds_an_oracle_and_confirms_it(server: Callable[[str], RawServer]) -> None:
    oracle = server("robot-oracle")
    decision = vulns.robot(oracle.connect, HOST, timeout=1.0)
    assert decision.vulnerable is True, decision
    assert decision.detail == (  # the three malformed paddings answered alike: a weak oracle (the ROBOT paper's)
        "weak oracle: valid alert bad_record_mac, wrong_first_two_bytes alert decrypt_error, wrong_position_00 alert "
        "decrypt_error, no_00_in_the_middle alert decrypt_error, wrong_version_number alert bad_record_mac")
    assert oracle.connections == 15, "three rounds of five paddings"


def test_robot_without_an_oracle_stops_after_one_round(server: Callable[[str], RawServer]) -> None:
    patched = server("robot-patched")
    decision = vulns.robot(patched.connect, HOST, timeout=1.0)
    assert decision == vulns.Decision(False, "the same answer to every padding (alert bad_record_mac)")
    assert patched.connections == 5


@pytest.mark.parametrize("probe", [vulns.heartbleed, vulns.ccs_injection])
def test_a_refused_hello_is_undecided_and_says_why(server: Callable[[str], RawServer], probe: Any) -> None:
    decision = probe(server("refuse").connect, HOST, timeout=0.5)
    assert decision == vulns.Decision(None, "the server answered the probe's ClientHello with alert "
                                            "handshake_failure")


def test_robot_on_a_server_without_rsa_key_exchange_is_not_vulnerable(server: Callable[[str], RawServer]) -> None:
    assert vulns.robot(server("refuse").connect, HOST, timeout=0.5) == vulns.Decision(
        False, "no RSA key exchange (alert handshake_failure)")


def test_the_adapter_notes_an_undecided_check(server: Callable[[str], RawServer]) -> None:
    from probe.scan.sslyze_adapter import SslyzeScanner

    refuse = server("refuse")
    gate = ConnectionGate(per_host=5, rate=None, timeout=1.0)
    budget = EndpointBudget(deadline_at=0)
    budget.start(10)
    gate.register(ADDRESS, refuse.port, budget)
    notes: list[str] = []
    target = Target(host=HOST, port=refuse.port, ip=ADDRESS, sni=HOST)
    scanner = SslyzeScanner(gate, ScanSettings(timeout=1.0))
    assert scanner._raw_probe("heartbleed", target, "BUG_IN_SSLYZE ValueError", notes) is None
    assert notes == ["heartbleed: undecided: sslyze's check failed (BUG_IN_SSLYZE ValueError) and tlsprobe's raw "
                     "probe could not decide: the server answered the probe's ClientHello with alert "
                     "handshake_failure"]
    assert budget.connections == 1


def test_the_flight_is_reassembled_across_records_however_they_are_cut(identity: tuple[bytes, Any]) -> None:
    certificate = identity[0]
    stream = b"".join(record(HANDSHAKE, 0x0303, rec[5:][i : i + 777])
                      for rec in _records(flight(0x0303, 0x009C, certificate)) for i in range(0, len(rec) - 5, 777))
    left, right = socket.socketpair()
    with left, right:
        left.sendall(stream)
        left.shutdown(socket.SHUT_WR)
        got: Flight = read_first_flight(RecordReader(right))
    assert (got.version, got.cipher, got.done, got.certificates) == (0x0303, 0x009C, True, [certificate])
    assert len(certificate) > 16384, "the certificate message alone needs several records"


def _records(data: bytes) -> list[bytes]:
    out = []
    while data:
        size = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:size])
        data = data[size:]
    return out
