"""One probing handshake: the suite is read from the server's first flight; the handshake is never finished.

The server (Python's ssl, on loopback) records how each connection ended, so the test sees from the server's
side that the probe cost it no key exchange and no Finished: what makes a probe one round trip and gentle.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import pytest
import trustme
from nassl.ephemeral_key_info import OpenSslEcNidEnum

from probe.scan.fast.enumerate import ALL_GROUPS
from probe.scan.fast.handshake import ALL_TLS13_SUITES, Answer, Offer, handshake
from probe.scan.limits import ConnectionGate
from tests.servers import serve


def recording_tls_handler(context: ssl.SSLContext, outcomes: list[str]) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with context.wrap_socket(conn, server_side=True):
                outcomes.append("completed")
        except (ssl.SSLError, OSError) as exc:
            outcomes.append(f"failed: {type(exc).__name__}")

    return handle


@pytest.fixture(scope="module")
def server_context() -> ssl.SSLContext:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("probe.lab.tlsprobe.test", key_type=trustme.KeyType.RSA).configure_cert(context)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE+AESGCM")
    return context


@pytest.mark.parametrize(
    ("offer", "chosen"),
    [
        (Offer("TLSv1.2", legacy=False, ciphers=("ECDHE-RSA-AES128-GCM-SHA256",)), "ECDHE-RSA-AES128-GCM-SHA256"),
        (Offer("TLSv1.2", legacy=True, ciphers=("ECDHE-RSA-AES256-GCM-SHA384",)), "ECDHE-RSA-AES256-GCM-SHA384"),
        (Offer("TLSv1.3", legacy=False, ciphers=("TLS_AES_256_GCM_SHA384",)), "TLS_AES_256_GCM_SHA384"),
    ],
)
def test_a_probe_reads_the_choice_and_leaves_the_handshake_unfinished(
    server_context: ssl.SSLContext, offer: Offer, chosen: str
) -> None:
    outcomes: list[str] = []
    gate = ConnectionGate(per_host=1, rate=None, timeout=5)
    with serve("127.0.31.1", recording_tls_handler(server_context, outcomes)) as server:
        reply = handshake(gate, server.address, server.port, "probe.lab.tlsprobe.test", offer, timeout=5)
        assert reply.answer == Answer.ACCEPTED and reply.cipher == chosen, reply
        assert reply.group is not None  # the ephemeral key was read from the first flight
        ended = _wait_for(outcomes, 1)
    assert server.counter.total == 1
    assert ended and ended[0].startswith("failed"), ended  # the server never saw the client's Finished


def test_a_refused_offer_is_a_refusal_not_an_error(server_context: ssl.SSLContext) -> None:
    outcomes: list[str] = []
    gate = ConnectionGate(per_host=1, rate=None, timeout=5)
    with serve("127.0.31.2", recording_tls_handler(server_context, outcomes)) as server:
        offer = Offer("TLSv1.2", legacy=True, ciphers=("AES128-SHA",))  # RSA key exchange: not served
        reply = handshake(gate, server.address, server.port, "probe.lab.tlsprobe.test", offer, timeout=5)
    assert reply.answer == Answer.REFUSED and reply.alert, reply


def _wait_for(outcomes: list[str], count: int, seconds: float = 5.0) -> list[str]:
    until = time.monotonic() + seconds
    while len(outcomes) < count and time.monotonic() < until:
        time.sleep(0.01)
    return list(outcomes)


def test_a_tls13_probe_follows_a_hello_retry_to_the_group_the_server_wants() -> None:
    """The probe offers X25519 first (one key share); a server with P-384 only answers HelloRetryRequest."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("probe.lab.tlsprobe.test").configure_cert(context)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("secp384r1")
    outcomes: list[str] = []
    gate = ConnectionGate(per_host=1, rate=None, timeout=5)
    with serve("127.0.31.3", recording_tls_handler(context, outcomes)) as server:
        offer = Offer("TLSv1.3", legacy=False, ciphers=ALL_TLS13_SUITES, groups=ALL_GROUPS)
        reply = handshake(gate, server.address, server.port, "probe.lab.tlsprobe.test", offer, timeout=5)
    assert reply.answer == Answer.ACCEPTED and reply.group == OpenSslEcNidEnum.SECP384R1, reply


@pytest.mark.parametrize(
    ("offer", "chosen"),
    [
        (Offer("TLSv1.2", legacy=False, ciphers=("ECDHE-RSA-CHACHA20-POLY1305",)), "ECDHE-RSA-CHACHA20-POLY1305"),
        (Offer("TLSv1.2", legacy=True, ciphers=("ECDHE-RSA-AES128-GCM-SHA256",)), "ECDHE-RSA-AES128-GCM-SHA256"),
        (Offer("TLSv1.3", legacy=False, ciphers=("TLS_AES_128_GCM_SHA256",)), "TLS_AES_128_GCM_SHA256"),
    ],
)
def test_a_server_that_requires_a_client_certificate_still_names_its_suite(offer: Offer, chosen: str) -> None:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("probe.lab.tlsprobe.test", key_type=trustme.KeyType.RSA).configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    outcomes: list[str] = []
    gate = ConnectionGate(per_host=1, rate=None, timeout=5)
    with serve("127.0.31.5", recording_tls_handler(context, outcomes)) as server:
        reply = handshake(gate, server.address, server.port, "probe.lab.tlsprobe.test", offer, timeout=5)
        ended = _wait_for(outcomes, 1)
    assert reply.answer == Answer.ACCEPTED and reply.cipher == chosen, reply
    assert ended and ended[0].startswith("failed"), ended
    if offer.version == "TLSv1.3":  # the first offer tells sslyze's checks that a certificate is asked for
        assert reply.detail == "client certificate requested", reply
