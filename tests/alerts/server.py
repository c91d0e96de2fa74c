"""A real webhook receiver on loopback: answers from a script of status codes, records every body."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, statuses: list[int], delay_s: float = 0.0) -> None:
        self.statuses = statuses  # answer i-th request with statuses[i] (the last one repeats)
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.url = ""


@contextmanager
def webhook_server(statuses: list[int], *, host: str = "127.0.0.1", delay_s: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(statuses, delay_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            index = len(receiver.requests)
            receiver.requests.append(json.loads(body))
            receiver.paths.append(self.path)
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://{host}:{server.server_address[1]}/hooks/T0KEN-s3cr3t-9f8e7d"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
