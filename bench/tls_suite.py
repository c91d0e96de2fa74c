"""TLS suite: handshake and request latency, throughput and server CPU per handshake.

For each key type a server process (``probe.bench.tls_server``) runs on 127.77.1.1; for each RTT a
LatencyProxy on 127.77.1.2 sits in front of it. Client strategies:

- ``full``: a new TCP connection and a full handshake per request (no session offered);
- ``resume``: a new TCP connection per request offering the last session (tickets in 1.2, PSK in 1.3);
- ``keepalive``: one httpx client (connection pool), every request on the kept-alive connection.

Request latency is what the client waits per request, connection set-up included where the
strategy opens one; handshake latency is TCP connect plus TLS handshake. Every socket has TCP_NODELAY.
"""

from __future__ import annotations

import math
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .certs import KEY_TYPES, SERVER_NAME, CertFiles, write_certificates
from .child import ChildServer
from .proxy import ThreadedProxy
from .stats import aggregate_runs, percentiles_ms

STRATEGIES = ("full", "resume", "keepalive")
VERSIONS = ("1.2", "1.3")
SERVER_HOST = "127.77.1.1"
PROXY_HOST = "127.77.1.2"
REQUEST = f"GET / HTTP/1.1\r\nHost: {SERVER_NAME}\r\n\r\n".encode()
TLS_HEADLINE = ("p50_ms", "hs_p50_ms", "requests_per_s", "server_cpu_ms_per_handshake")


@dataclass
class TLSConfig:
    """One TLS bench run: the grid and how many requests per cell."""

    rtts_ms: list[float] = field(default_factory=lambda: [0.0, 20.0, 80.0])
    keys: list[str] = field(default_factory=lambda: list(KEY_TYPES))
    versions: list[str] = field(default_factory=lambda: list(VERSIONS))
    strategies: list[str] = field(default_factory=lambda: list(STRATEGIES))
    requests: int = 500
    repeat: int = 1


class ServerProcess(ChildServer):
    """A probe.bench.tls_server child process; ``cpu_ns()`` reads its CPU time."""

    def __init__(self, certs: CertFiles, host: str = SERVER_HOST) -> None:
        super().__init__(
            "probe.bench.tls_server", ["--cert", str(certs.cert), "--key", str(certs.key)], host, "TLS bench server"
        )

    def cpu_ns(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("cpu\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline().split()[1])


def client_context(ca: Path, version: str) -> ssl.SSLContext:
    """Client context pinned to one TLS version, trusting the bench CA."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ver = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ver
    ctx.maximum_version = ver
    return ctx


def _read_response(tls: ssl.SSLSocket) -> None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = tls.recv(4096)
        if not chunk:
            raise ConnectionError("server closed before the response headers")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = tls.recv(4096)
        if not chunk:
            raise ConnectionError("server closed mid-body")
        body += chunk


def _socket_strategy(addr: tuple[str, int], ctx: ssl.SSLContext, n: int, resume: bool) -> dict[str, Any]:
    req_s: list[float] = []
    hs_s: list[float] = []
    resumed = 0
    session: ssl.SSLSession | None = None
    for _ in range(n):
        t0 = time.perf_counter()
        raw = socket.create_connection(addr)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = ctx.wrap_socket(raw, server_hostname=SERVER_NAME, session=session if resume else None)
        t_hs = time.perf_counter()
        resumed += int(bool(tls.session_reused))
        tls.sendall(REQUEST)
        _read_response(tls)
        t1 = time.perf_counter()
        if resume:
            session = tls.session  # in TLS 1.3 the ticket arrives with the response
        tls.close()
        hs_s.append(t_hs - t0)
        req_s.append(t1 - t0)
    return {"req": req_s, "hs": hs_s, "handshakes": n, "resumed": resumed}


def _keepalive_strategy(addr: tuple[str, int], ctx: ssl.SSLContext, n: int) -> dict[str, Any]:
    req_s: list[float] = []
    hs_s: list[float] = []
    marks: dict[str, float] = {}

    def trace(event: str, _info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.started":
            marks["start"] = time.perf_counter()
        elif event == "connection.start_tls.complete":
            hs_s.append(time.perf_counter() - marks.pop("start", time.perf_counter()))

    transport = httpx.HTTPTransport(verify=ctx, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    url = f"https://{addr[0]}:{addr[1]}/"
    ext = {"sni_hostname": SERVER_NAME, "trace": trace}
    with httpx.Client(transport=transport, headers={"Host": SERVER_NAME}) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            resp = client.get(url, extensions=ext)
            resp.read()
            req_s.append(time.perf_counter() - t0)
            resp.raise_for_status()
    return {"req": req_s, "hs": hs_s, "handshakes": len(hs_s), "resumed": 0}


def run_cell(server: ServerProcess, ca: Path, key: str, version: str, strategy: str, rtt_ms: float,
             requests: int) -> dict[str, Any]:
    """Run one (key, version, strategy, RTT) cell through a fresh proxy and return its row."""
    ctx = client_context(ca, version)
    with ThreadedProxy(server.address, rtt_ms, listen_host=PROXY_HOST) as proxy:
        cpu0 = server.cpu_ns()
        t0 = time.perf_counter()
        if strategy == "keepalive":
            res = _keepalive_strategy(proxy.address, ctx, requests)
        else:
            res = _socket_strategy(proxy.address, ctx, requests, resume=strategy == "resume")
        wall = time.perf_counter() - t0
        time.sleep(0.02)  # let the server finish closing connections before reading its CPU
        cpu_ms = (server.cpu_ns() - cpu0) / 1e6
        conns = proxy.stats.snapshot()["connections"]
    req = percentiles_ms(res["req"])
    hs = {f"hs_{k}": v for k, v in percentiles_ms(res["hs"]).items()}
    handshakes = int(res["handshakes"])
    return {
        "key": key, "version": version, "strategy": strategy, "rtt_ms": rtt_ms, "requests": requests,
        **req, **hs,
        "requests_per_s": requests / wall if wall > 0 else math.nan,
        "connections": conns, "handshakes": handshakes, "resumed": int(res["resumed"]),
        "server_cpu_ms": cpu_ms,
        "server_cpu_ms_per_handshake": cpu_ms / handshakes if handshakes else math.nan,
        "server_cpu_ms_per_request": cpu_ms / requests,
        "_samples_ms": [s * 1000 for s in res["req"]],
    }


@contextmanager
def servers(keys: list[str]) -> Iterator[tuple[dict[str, ServerProcess], Path]]:
    """Certificates and one server process per key type; all stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="tlsprobe-bench-") as tmp:
        certs = write_certificates(Path(tmp), tuple(keys))
        started: dict[str, ServerProcess] = {}
        try:
            for key in keys:
                started[key] = ServerProcess(certs[key])
            yield started, certs[keys[0]].ca
        finally:
            for srv in started.values():
                srv.stop()


def run_tls(config: TLSConfig, progress: Callable[[str], None] | None = None
            ) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Run the grid; return aggregated rows and request-latency samples (ms) per strategy label."""
    rows: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {}
    with servers(config.keys) as (procs, ca):
        for rtt in config.rtts_ms:
            for key in config.keys:
                for version in config.versions:
                    for strategy in config.strategies:
                        runs = []
                        for _ in range(config.repeat):
                            row = run_cell(procs[key], ca, key, version, strategy, rtt, config.requests)
                            samples.setdefault(f"{strategy} {key} TLS{version} rtt={rtt:g}ms", []).extend(
                                row.pop("_samples_ms"))
                            runs.append(row)
                            if progress:
                                progress(f"tls {key} {version} {strategy} rtt={rtt:g}")
                        rows.append(aggregate_runs(runs, TLS_HEADLINE))
    return rows, samples
