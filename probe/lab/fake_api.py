"""A loopback HTTPS server for emulated cloud APIs (probe.lab.azure_fake, probe.lab.gcp_fake): the real SDK clients
talk to it over TLS, trusting the CA it writes. No cloud API has an emulator, so this one answers from fixtures
shaped as the documented REST responses, and is strict where the service is: the handler decides.

    with FakeApi(handler, directory) as api:      # api.url = https://127.0.0.1:PORT, api.ca_file = its CA (PEM)
        ...
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ApiRequest", "ApiResponse", "FakeApi"]


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    base_url: str

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], ApiResponse]


class FakeApi:
    """Serves `handler` over HTTPS on `address` (a free port), with a certificate for 127.0.0.1 and localhost from a
    trustme CA written to `directory/<name>-ca.pem`. Counts requests by (method, path)."""

    def __init__(self, handler: Handler, directory: Path, *, name: str = "api", address: str = "127.0.0.1",
                 token: str = "") -> None:
        import trustme

        self.handler = handler
        self.token = token  # the bearer token the handler accepts (a fixture, not a secret)
        self.requests: list[ApiRequest] = []
        self._lock = threading.Lock()
        ca = trustme.CA(organization_name=f"tlsprobe fake {name} API")
        leaf = ca.issue_cert(address, "localhost")
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / f"{name}-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        self._server = ThreadingHTTPServer((address, 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://{address}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{name}-api", daemon=True)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def seen(self, path_part: str) -> int:
        """How many requests had `path_part` in their path."""
        with self._lock:
            return sum(path_part in r.path for r in self.requests)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                request = ApiRequest(self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()},
                                     api.url)
                with api._lock:
                    api.requests.append(request)
                try:
                    response = api.handler(request)
                except Exception as exc:  # a fixture bug: say so, as a 500
                    response = ApiResponse(500, {"error": {"code": "FakeApiBug", "message": repr(exc)}})
                payload = b"" if response.body is None else json.dumps(response.body).encode()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        return Handler
