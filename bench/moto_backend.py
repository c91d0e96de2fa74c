"""moto's KMS as a keep-alive HTTP/1.1 server in its own process, for the KMS bench.

moto's ``ThreadedMotoServer`` serves its WSGI app with werkzeug's development server, which sends
``Connection: close`` on every response (werkzeug 3 hard-codes it, whatever the protocol version),
so connection reuse to KMS could not be studied. Here the same WSGI app
(``DomainDispatcherApplication(create_backend_app)``) is served by a small keep-alive WSGI server
of our own: ``http.server.ThreadingHTTPServer`` with ``protocol_version = "HTTP/1.1"``, reading each
request body by Content-Length and answering with a Content-Length, so boto3's connection pool
keeps its connection open. The server runs in a child process (``python -m probe.bench.moto_backend
--host H``, which prints ``READY <port>``) so that its Python work does not share the bench
client's GIL; it exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .child import ChildServer

MOTO_HOST = "127.77.2.1"


class MotoProcess(ChildServer):
    """A keep-alive moto server child process on ``host``; ``endpoint`` is its URL."""

    def __init__(self, host: str = MOTO_HOST) -> None:
        super().__init__("probe.bench.moto_backend", [], host, "moto server")

    @property
    def endpoint(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def __enter__(self) -> MotoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_wsgi_keepalive(app: Any, host: str) -> ThreadingHTTPServer:
    """A threaded HTTP/1.1 keep-alive server for a WSGI ``app`` (buffered responses with Content-Length)."""

    port = 0

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _wsgi(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            environ: dict[str, Any] = {
                "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": urllib.parse.unquote(path),
                "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length), "SERVER_NAME": host, "SERVER_PORT": str(port),
                "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
                "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
            status_headers: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                status_headers[:] = [status, headers]
                return lambda data: None

            result = app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            status, headers = status_headers
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _wsgi

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    port = server.server_port
    server.daemon_threads = True
    return server


def main() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default=MOTO_HOST)
    args = parser.parse_args()
    server = serve_wsgi_keepalive(DomainDispatcherApplication(create_backend_app), args.host)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(f"READY {server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
