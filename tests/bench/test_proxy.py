"""The latency proxy adds at least the configured delay and counts connections and bytes."""

from __future__ import annotations

import socket
import socketserver
import threading
import time

from probe.bench.proxy import ThreadedProxy, jittered_rtt


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


def _echo_server() -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.77.9.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _round_trip(sock: socket.socket, payload: bytes) -> float:
    t0 = time.perf_counter()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += sock.recv(4096)
    assert got == payload
    return time.perf_counter() - t0


def test_proxy_adds_rtt_keeps_alive_and_counts() -> None:
    server = _echo_server()
    try:
        with ThreadedProxy(server.server_address, 60.0, listen_host="127.77.9.2") as proxy:
            with socket.create_connection(proxy.address) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                first = _round_trip(sock, b"hello")  # one RTT plus the emulated TCP handshake RTT
                later = [_round_trip(sock, b"again") for _ in range(3)]  # same connection: kept alive
            with socket.create_connection(proxy.address) as sock2:
                _round_trip(sock2, b"x" * 1000)
            time.sleep(0.1)
            stats = proxy.stats.snapshot()
    finally:
        server.shutdown()
        server.server_close()
    assert first >= 0.120 * 0.95
    assert all(t >= 0.060 * 0.95 for t in later)
    assert stats["connections"] == 2
    assert stats["bytes_up"] == 5 + 3 * 5 + 1000
    assert stats["bytes_down"] == stats["bytes_up"]


def test_jittered_rtt_is_never_negative() -> None:
    draw = jittered_rtt(5.0, 50.0, seed=1)
    values = [draw() for _ in range(500)]
    assert min(values) >= 0.0
    assert max(values) > 5.0
