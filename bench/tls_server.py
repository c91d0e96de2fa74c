"""A keep-alive HTTPS/1.1 server for the TLS bench, run as its own process.

``python -m probe.bench.tls_server --cert C --key K --host H`` prints ``READY <port>`` on stdout, then
answers ``cpu`` lines on stdin with ``CPU <ns>``: the process's CPU time (all threads, from
CLOCK_PROCESS_CPUTIME_ID), so the bench measures server CPU per handshake exactly, without /proc
tick granularity. It serves TLS 1.2 and 1.3 with session tickets (resumption) enabled, and exits on
``quit`` or end of stdin.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

BODY = b"x" * 256


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        return


class _TLSServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        super().__init__(addr, _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            _Handler(tls, client_address, self)
        except (ssl.SSLError, OSError):
            return

    def handle_error(self, request: object, client_address: object) -> None:
        return


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """TLS 1.2-1.3 server context with tickets on (two per TLS 1.3 handshake, OpenSSL's default)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = _TLSServer((args.host, 0), server_context(args.cert, args.key))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    print(f"READY {server.server_address[1]}", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "cpu":
            print(f"CPU {time.clock_gettime_ns(time.CLOCK_PROCESS_CPUTIME_ID)}", flush=True)
        elif cmd == "quit":
            break
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
