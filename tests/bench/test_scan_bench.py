"""The scan bench's own arithmetic and its network floor (the scenarios themselves run in `make bench`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from probe.bench.scan_bench import Endpoint, agreement, client_hello, goals, network_floor_s

HOLD_S = 0.05


class CountingServer:
    """A TCP server on loopback that answers each ClientHello with one byte and counts connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.77.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.total = self.open = self.most = 0
        self.first_bytes: set[int] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = conn.recv(1)
            with self.lock:  # counted from the ClientHello until the answer, which the client waits for
                self.total += 1
                self.open += 1
                self.most = max(self.most, self.open)
                self.first_bytes.add(data[0] if data else -1)
            threading.Event().wait(HOLD_S)  # hold the probe so that overlapping ones are seen
            with self.lock:
                self.open -= 1
            conn.sendall(b"\x16")
            conn.recv(1024)


@pytest.fixture()
def server() -> Iterator[CountingServer]:
    counting = CountingServer()
    yield counting
    counting.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
    counting.listener.close()


def test_network_floor_makes_every_probe_within_the_per_host_limit(server: CountingServer) -> None:
    seconds = network_floor_s(Endpoint("floor.test", "127.0.77.1", server.port), connections=12, per_host=3)
    assert server.total == 12
    assert 1 < server.most <= 3
    assert server.first_bytes == {0x16}  # each probe opened with a TLS handshake record
    assert seconds >= 4 * HOLD_S  # 12 probes, 3 at a time, each held by the server


def test_client_hello_is_a_tls_handshake_record() -> None:
    hello = client_hello()
    assert hello[0] == 0x16 and hello[5] == 0x01  # handshake record carrying a ClientHello
    assert int.from_bytes(hello[3:5], "big") == len(hello) - 5


def test_agreement_is_mean_jaccard_per_endpoint() -> None:
    reference = {"a": {("TLSv1.2", "X"), ("TLSv1.2", "Y")}, "b": {("TLSv1.3", "Z")}}
    assert agreement(reference, reference) == 1.0
    assert agreement({"a": {("TLSv1.2", "X")}, "b": {("TLSv1.3", "Z")}}, reference) == 0.75
    assert agreement({}, reference) == 0.0


def test_goals_state_the_floor_and_the_verdict() -> None:
    tlsprobe = {"scenario": "legacy", "tool": "tlsprobe", "wall_s": 1.6, "wall_ratio": 0.3, "connections": 90,
                "connections_ratio": 0.15, "agreement": 1.0, "net_wall_ratio": 0.25, "startup_s": 0.4,
                "network_floor_s": 0.9}
    lines = goals([tlsprobe])
    assert "NOT met" in lines[0]
    floor = next(line for line in lines if line.startswith("legacy network floor"))
    assert "1.30 s against the goal's 1.07 s" in floor  # 0.9 + 0.4; 0.2 x (1.6 / 0.3)
    lines = goals([{**tlsprobe, "wall_ratio": 0.19}])
    assert lines[0].endswith("tlsprobe starts in 0.4 s)") and ": met" in lines[0]
