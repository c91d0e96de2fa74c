"""Post-quantum probes without a server: ML-KEM key shares, the raw TLS 1.3 ClientHello, reading the answer, and
the elimination's logic (k+1 hellos, the inconclusive retry with valid shares) against scripted answers."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

import pytest

from probe.scan import mlkem
from probe.scan.fast import pq
from probe.scan.fast.pq import HRR_RANDOM, Kind, PqProber, ServerAnswer


def test_byte_encode12_round_trips_and_packs_two_coefficients_in_three_bytes() -> None:
    coefficients = [0, 1, 3328, 4095, 1234, 2345]
    packed = mlkem.byte_encode12(coefficients)
    assert len(packed) == 9
    assert mlkem.byte_decode12(packed) == coefficients
    assert mlkem.byte_encode12([0x123, 0xABC]) == bytes((0x23, 0xC1, 0xAB))  # FIPS 203 bit order


@pytest.mark.parametrize("parameter_set,length", [(512, 800), (768, 1184), (1024, 1568)])
def test_encapsulation_keys_pass_the_modulus_check_and_random_bytes_do_not(parameter_set: int, length: int) -> None:
    key = mlkem.encapsulation_key(parameter_set)
    assert len(key) == length
    assert mlkem.encapsulation_key_valid(key, parameter_set)
    assert not mlkem.encapsulation_key_valid(b"\xff" * length, parameter_set)
    assert not mlkem.encapsulation_key_valid(key[:-1], parameter_set)


@pytest.mark.parametrize(
    "group,length",
    [(mlkem.X25519_MLKEM768, 1216), (mlkem.SECP256R1_MLKEM768, 1249), (mlkem.SECP384R1_MLKEM1024, 1665),
     (mlkem.X25519_KYBER768_DRAFT00, 1216), (mlkem.MLKEM512, 800), (mlkem.MLKEM768, 1184), (mlkem.MLKEM1024, 1568),
     (mlkem.X25519, 32), (mlkem.SECP256R1, 65)],
)
def test_key_share_layouts(group: int, length: int) -> None:
    share = mlkem.key_share(group)
    assert len(share) == length == mlkem.share_length(group)
    if group == mlkem.X25519_MLKEM768:
        assert mlkem.encapsulation_key_valid(share[:1184], 768)  # encapsulation key first, X25519 last
    if group == mlkem.SECP256R1_MLKEM768:
        assert share[0] == 4 and mlkem.encapsulation_key_valid(share[65:], 768)  # uncompressed point first
    if group == mlkem.SECP384R1_MLKEM1024:
        assert share[0] == 4 and mlkem.encapsulation_key_valid(share[97:], 1024)
    if group == mlkem.X25519_KYBER768_DRAFT00:
        assert mlkem.encapsulation_key_valid(share[32:], 768)  # X25519 first


def _extensions(records: bytes) -> dict[int, bytes]:
    message = b""
    while records:
        length = int.from_bytes(records[3:5], "big")
        assert records[0] == 0x16
        message, records = message + records[5 : 5 + length], records[5 + length :]
    assert message[0] == 1 and int.from_bytes(message[1:4], "big") == len(message) - 4
    body = message[4:]
    at = 2 + 32
    at += 1 + body[at]
    at += 2 + int.from_bytes(body[at : at + 2], "big")
    at += 1 + body[at]
    total = int.from_bytes(body[at : at + 2], "big")
    raw, found = body[at + 2 : at + 2 + total], {}
    while raw:
        kind, length = struct.unpack("!HH", raw[:4])
        found[kind] = raw[4 : 4 + length]
        raw = raw[4 + length :]
    return found


def test_client_hello_offers_tls13_only_with_the_groups_and_shares_asked_for() -> None:
    groups = list(pq.PQ_GROUPS)
    empty = _extensions(pq.client_hello("pq.lab.tlsprobe.test", groups))
    assert empty[43] == b"\x02\x03\x04"
    assert empty[10][2:] == b"".join(struct.pack("!H", g) for g in groups)
    assert empty[51] == b"\x00\x00"  # empty key_share list
    assert b"pq.lab.tlsprobe.test" in empty[0]
    shares = {g: mlkem.key_share(g) for g in groups}
    full = pq.client_hello("127.0.14.1", groups, shares)  # an IP address: no server_name
    found = _extensions(full)
    assert 0 not in found
    assert len(found[51]) == 2 + sum(4 + len(s) for s in shares.values())


def _record(kind: int, payload: bytes) -> bytes:
    return bytes((kind, 3, 3)) + len(payload).to_bytes(2, "big") + payload


def _server_hello(group: int, hrr: bool, version: int = 0x0304) -> bytes:
    key_share = struct.pack("!H", group) if hrr else struct.pack("!HH", group, 3) + b"abc"
    extensions = struct.pack("!HHH", 43, 2, version) + struct.pack("!HH", 51, len(key_share)) + key_share
    body = (b"\x03\x03" + (HRR_RANDOM if hrr else b"\x01" * 32) + b"\x20" + b"\x00" * 32 + b"\x13\x02\x00"
            + len(extensions).to_bytes(2, "big") + extensions)
    return _record(22, b"\x02" + len(body).to_bytes(3, "big") + body)


def _answer(data: bytes, split: int = 7) -> ServerAnswer:
    left, right = socket.socketpair()
    with left, right:
        right.settimeout(2)
        left.sendall(data[:split])
        left.sendall(data[split:])
        left.shutdown(socket.SHUT_WR)
        return pq.read_answer(right)


def test_read_answer_tells_hrr_server_hello_alert_close_and_garbage_apart() -> None:
    assert _answer(_server_hello(0x11EC, hrr=True)) == ServerAnswer(Kind.HRR, group=0x11EC)
    assert _answer(_server_hello(0x001D, hrr=False), split=60) == ServerAnswer(Kind.SERVER_HELLO, group=0x001D)
    assert _answer(_record(21, b"\x02\x2f")) == ServerAnswer(Kind.ALERT, alert=47)
    assert _answer(b"").kind == Kind.CLOSED
    assert _answer(b"HTTP/1.1 400 Bad Request\r\n\r\n").kind == Kind.GARBAGE
    assert _answer(_server_hello(0x001D, hrr=False, version=0x0303)).kind == Kind.GARBAGE


Script = Callable[[list[int], dict[int, int]], ServerAnswer]


def scripted(answer: Script) -> tuple[Callable[[bytes], ServerAnswer], list[tuple[list[int], dict[int, int]]]]:
    """A `send` that decodes each hello (groups, share lengths) and answers as `answer` says."""
    seen: list[tuple[list[int], dict[int, int]]] = []

    def send(hello: bytes) -> ServerAnswer:
        found = _extensions(hello)
        groups = [int.from_bytes(found[10][i : i + 2], "big") for i in range(2, len(found[10]), 2)]
        raw, shares = found[51][2:], {}
        while raw:
            group, length = struct.unpack("!HH", raw[:4])
            shares[group] = length
            raw = raw[4 + length :]
        seen.append((groups, shares))
        return answer(groups, shares)

    return send, seen


def server(supported: list[int], *, empty_alert: int | None = None, hrr: bool = True) -> Script:
    """A server supporting `supported` (its order); `empty_alert` answers hellos without shares."""

    def answer(groups: list[int], shares: dict[int, int]) -> ServerAnswer:
        if empty_alert is not None and not shares:
            return ServerAnswer(Kind.ALERT, alert=empty_alert)
        offered = [g for g in supported if g in groups]
        if not offered:
            return ServerAnswer(Kind.ALERT, alert=40)
        if hrr:  # insists on its preferred group
            return ServerAnswer(Kind.SERVER_HELLO if offered[0] in shares else Kind.HRR, group=offered[0])
        with_share = [g for g in offered if g in shares]  # takes any share it can use
        return ServerAnswer(Kind.SERVER_HELLO, group=with_share[0]) if with_share else ServerAnswer(
            Kind.HRR, group=offered[0])

    return answer


def test_elimination_costs_k_plus_one_hellos() -> None:
    send, seen = scripted(server([0x11EB, 0x11EC, 0x001D]))
    prober = PqProber(send, "x.test")
    assert prober.eliminate() == (["SecP256r1MLKEM768", "X25519MLKEM768"], [])
    assert len(seen) == 3
    assert all(shares == {} for _, shares in seen)
    assert seen[1][0] == [g for g in pq.PQ_GROUPS if g != 0x11EB]


def test_no_post_quantum_group_costs_one_hello_and_the_whole_block() -> None:
    send, seen = scripted(server([0x001D]))
    result = PqProber(send, "x.test").run()
    assert (result.supported, result.negotiated, result.hrr_upgrade) == ((), "X25519", None)
    assert len(seen) == 2  # the elimination's refusal and the browser-like hello; no HRR probe


@pytest.mark.parametrize("alert", [47, 50])
def test_an_inconclusive_alert_is_retried_with_valid_shares(alert: int) -> None:
    send, seen = scripted(server([0x11EC, 0x001D], empty_alert=alert))
    prober = PqProber(send, "x.test")
    assert prober.eliminate() == (["X25519MLKEM768"], [])
    assert len(seen) == 3  # the inconclusive hello, then k+1 with shares
    assert seen[1][1] == {g: mlkem.share_length(g) for g in pq.PQ_GROUPS}
    assert "retried with valid key shares" in prober.notes[0]


def test_inconclusive_even_with_valid_shares_leaves_the_groups_undecided() -> None:
    send, seen = scripted(lambda groups, shares: ServerAnswer(Kind.ALERT, alert=47))
    prober = PqProber(send, "x.test")
    result = prober.run()
    assert result.supported == () and set(result.undecided) == set(pq.PQ_GROUPS.values())
    assert result.negotiated is None
    assert len(seen) == 3


def test_negotiated_and_hrr_upgrade() -> None:
    send, seen = scripted(server([0x11EC, 0x001D]))
    result = PqProber(send, "x.test").run()
    assert (result.supported, result.negotiated, result.hrr_upgrade) == (("X25519MLKEM768",), "X25519MLKEM768", True)
    browser, upgrade = seen[-2], seen[-1]
    assert browser[0][:2] == [0x11EC, 0x001D] and browser[1] == {0x11EC: 1216, 0x001D: 32}
    assert upgrade == ([0x11EC, 0x001D], {0x001D: 32})
    send, _ = scripted(server([0x11EC, 0x001D], hrr=False))
    assert PqProber(send, "x.test").run().hrr_upgrade is False


def test_a_close_is_a_refusal_and_a_timeout_leaves_groups_undecided() -> None:
    send, _ = scripted(lambda groups, shares: ServerAnswer(Kind.CLOSED, detail="reset"))
    prober = PqProber(send, "x.test")
    assert prober.eliminate() == ([], [])
    assert "taken as not supported" in prober.notes[0]
    send, _ = scripted(lambda groups, shares: ServerAnswer(Kind.TIMEOUT, detail="timeout"))
    supported, undecided = PqProber(send, "x.test").eliminate()
    assert supported == [] and len(undecided) == len(pq.PQ_GROUPS)
