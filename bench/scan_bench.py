"""Scan benchmark: tlsprobe (fast, default), tlsprobe --engine sslyze, the sslyze CLI and sslscan, side by side.

Every tool scans lab endpoints through the latency proxy (bench/proxy.py, in a process of its own) at the
same RTT; the proxy counts the TCP connections. Each tool runs as a subprocess, so wall time, CPU seconds
and peak RSS (os.wait4) are its own. Ratios are against the sslyze CLI. Three scenarios:

- legacy: one endpoint pinned as RSA-3072, TLS 1.0-1.3, `ALL:@SECLEVEL=0`;
- fleet: 50 lab endpoints on distinct loopback addresses (sslscan, which scans one target per process, runs
  ten processes at once, as tlsprobe's default --concurrency);
- sweep: 10,000 targets, mostly closed loopback ports plus a few lab endpoints (tlsprobe only: peak RSS).

`python -m probe.bench.scan_bench [--rtt 20] [--fleet 50] [--sweep 10000] [--output-dir reports]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import multiprocessing
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

import probe
from probe.lab.manager import LabState, running_lab
from probe.lab.paths import DEFAULT_DEFINITION
from probe.targets import write_csv

PYTHON = sys.executable
TOOLS = ("tlsprobe", "tlsprobe-sslyze", "sslyze-cli", "sslyze-checks", "sslscan")
# The checks tlsprobe leaves to sslyze (certificates and vulnerabilities; no suites, no curves), run by the
# sslyze CLI: what the "checks stay on sslyze" costs when sslyze schedules them itself.
SSLYZE_CHECK_FLAGS = ["--certinfo", "--robot", "--heartbleed", "--openssl_ccs", "--reneg", "--compression",
                      "--fallback"]
Suites = set[tuple[str, str]]  # (version, IANA suite)


# --- lab definitions ----------------------------------------------------------------------------------------


def legacy_definition() -> dict[str, Any]:
    return {
        "name": "legacy-pinned",
        "host": "legacy-pinned.bench.tlsprobe.test",
        "address": "127.0.60.1",
        "description": "one RSA-3072 certificate, TLS 1.0-1.3, ALL:@SECLEVEL=0",
        "server": {
            "min_version": "TLSv1.0",
            "max_version": "TLSv1.3",
            "ciphers": "ALL:@SECLEVEL=0",
            "certificates": [{"key": "rsa", "bits": 3072}],
        },
    }


def fleet_definitions(count: int) -> list[dict[str, Any]]:
    """`count` endpoints cycling through the TLS endpoints of targets/lab.yaml, each on its own address."""
    source = yaml.safe_load(DEFAULT_DEFINITION.read_text(encoding="utf-8"))["endpoints"]
    kinds = [e for e in source if e.get("server", {}).get("kind", "tls") == "tls"]
    result = []
    for i in range(count):
        base = kinds[i % len(kinds)]
        name = f"{base['name']}-{i}"
        result.append(
            {
                "name": name,
                "host": f"{name}.bench.tlsprobe.test",
                "address": f"127.0.61.{i + 1}",
                "server": base["server"],
            }
        )
    return result


def write_definition(path: Path, endpoints: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"profile": "op-pol-001", "endpoints": endpoints}), encoding="utf-8")
    return path


# --- the latency proxy, in its own process ------------------------------------------------------------------


def _serve_proxies(conn: Connection, routes: list[tuple[str, str, int]], rtt_ms: float) -> None:
    from .proxy import LatencyProxy

    async def main() -> None:
        proxies = [LatencyProxy((host, port), rtt_ms, listen_host=listen) for listen, host, port in routes]
        for proxy in proxies:
            await proxy.start()
        conn.send([p.address for p in proxies])
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message == "count":
                conn.send(sum(p.stats.snapshot()["connections"] for p in proxies))
            else:
                for proxy in proxies:
                    await proxy.stop()
                conn.send("stopped")
                return

    asyncio.run(main())


class ProxyFleet:
    """One latency proxy per lab endpoint, on 127.0.70.x, in a child process; counts connections."""

    def __init__(self, lab: LabState, rtt_ms: float, first_octet: int = 70) -> None:
        self.routes = [(f"127.0.{first_octet}.{i + 1}", e.address, e.port) for i, e in enumerate(lab.endpoints)]
        self.rtt_ms = rtt_ms

    def __enter__(self) -> ProxyFleet:
        ours, theirs = multiprocessing.Pipe()
        self._conn = ours
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_proxies, args=(theirs, self.routes, self.rtt_ms), daemon=True
        )
        self._process.start()
        self.addresses: list[tuple[str, int]] = ours.recv()
        return self

    def connections(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
            self._conn.recv()
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()


# --- running the tools ----------------------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    rss_mb: float
    returncodes: list[int] = field(default_factory=list)


def run_processes(commands: Sequence[list[str]], parallel: int = 1) -> Run:
    """Run commands (at most `parallel` at once); wall time, summed CPU and the largest peak RSS."""
    cpu, rss, codes = 0.0, 0.0, []
    started = time.monotonic()

    def one(command: list[str]) -> tuple[float, float, int]:
        with open(os.devnull, "wb") as null:
            proc = subprocess.Popen(command, stdout=null, stderr=subprocess.PIPE)
            assert proc.stderr is not None
            err = proc.stderr.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode not in (0, 1):
                sys.stderr.write(f"{command[:4]} exited {proc.returncode}: {err.decode(errors='replace')[-400:]}\n")
            return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, proc.returncode

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for c, r, code in pool.map(one, commands):
            cpu, rss = cpu + c, max(rss, r)
            codes.append(code)
    return Run(time.monotonic() - started, cpu, rss, codes)


def process_cpu_s(pids: Iterable[int]) -> float:
    """utime + stime of live processes (lab servers, proxy), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Endpoint:
    host: str
    ip: str
    port: int


def tlsprobe_command(targets_csv: Path, ca: str, out: Path, db: Path, engine: str | None) -> list[str]:
    command = [PYTHON, "-m", "probe", "scan", "--targets", str(targets_csv), "--ca-file", ca, "--format", "json",
               "--output", str(out), "--db", str(db), "--dns-server", "static", "--timeout", "5"]
    return command + (["--engine", engine] if engine else [])


def write_targets(path: Path, endpoints: Iterable[Endpoint]) -> Path:
    return write_csv(path, ((e.host, e.port, e.ip) for e in endpoints))


# --- reading results ------------------------------------------------------------------------------------------

_SSLYZE_FIELDS = {
    "ssl_2_0_cipher_suites": "SSLv2", "ssl_3_0_cipher_suites": "SSLv3", "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1", "tls_1_2_cipher_suites": "TLSv1.2", "tls_1_3_cipher_suites": "TLSv1.3",
}


def tlsprobe_suites(path: Path) -> dict[str, Suites]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        e["target"]["host"]: {(v, s) for v, names in e["cipher_suites"].items() for s in names}
        for e in document["endpoints"]
    }


def sslyze_suites(path: Path) -> dict[str, Suites]:
    document = json.loads(path.read_text(encoding="utf-8"))
    result: dict[str, Suites] = {}
    for server in document["server_scan_results"]:
        found: Suites = set()
        for attr, version in _SSLYZE_FIELDS.items():
            attempt = (server.get("scan_result") or {}).get(attr) or {}
            for accepted in (attempt.get("result") or {}).get("accepted_cipher_suites", []):
                found.add((version, accepted["cipher_suite"]["name"]))
        result[server["server_location"]["hostname"]] = found
    return result


def openssl_code_names() -> dict[int, str]:
    """Cipher code -> IANA name, from the system OpenSSL (sslscan's own library)."""
    text = subprocess.run(["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                          capture_output=True, text=True, check=False).stdout
    names = {}
    for line in text.splitlines():
        match = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)", line)
        if match:
            names[int(match.group(1) + match.group(2), 16)] = match.group(3)
    return names


def sslscan_suites(path: Path, codes: dict[int, str]) -> Suites:
    found: Suites = set()
    if not path.exists():
        return found
    for cipher in ET.parse(path).getroot().iter("cipher"):
        if cipher.get("status") not in ("accepted", "preferred"):
            continue
        version = cipher.get("sslversion", "").replace("TLSv1 ", "TLSv1.0")
        version = "TLSv1.0" if version == "TLSv1" else version
        code = int(cipher.get("id", "0x0"), 16)
        found.add((version, codes.get(code, cipher.get("cipher", "?"))))
    return found


def agreement(mine: dict[str, Suites], reference: dict[str, Suites]) -> float:
    """Mean Jaccard similarity of accepted (version, suite) sets per endpoint (1.0 = identical everywhere)."""
    scores = []
    for host, ref in reference.items():
        got = mine.get(host, set())
        union = got | ref
        scores.append(len(got & ref) / len(union) if union else 1.0)
    return sum(scores) / len(scores) if scores else 0.0


STARTUP_COMMANDS = {
    "tlsprobe": [PYTHON, "-m", "probe", "--help"],
    "tlsprobe-sslyze": [PYTHON, "-m", "probe", "--help"],
    "sslyze-cli": [PYTHON, "-m", "sslyze", "--help"],
    "sslyze-checks": [PYTHON, "-m", "sslyze", "--help"],
    "sslscan": ["sslscan", "--version"],
}


def startup_s(tool: str) -> float:
    """Wall time of the tool doing nothing (interpreter and imports), best of three."""
    return min(run_processes([STARTUP_COMMANDS[tool]]).wall_s for _ in range(3))


# --- one scenario ----------------------------------------------------------------------------------------------


def warm_up(endpoints: Sequence[Endpoint]) -> None:
    """One handshake per endpoint through its proxy before any tool is timed, so that the first tool does not
    pay for servers that have just started (the connection deltas exclude these)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    def one(endpoint: Endpoint) -> None:
        with contextlib.suppress(OSError), socket.create_connection((endpoint.ip, endpoint.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=endpoint.host):
            pass

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(one, endpoints))


def client_hello() -> bytes:
    """A ClientHello as Python's ssl module writes it, for the network floor."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="floor.bench.tlsprobe.test")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def network_floor_s(endpoint: Endpoint, connections: int, per_host: int = 5) -> float:
    """Wall time of `connections` bare probes, `per_host` at a time: TCP set-up, a ClientHello, the first byte
    of the server's answer. No scanner can make that many connections faster (start-up aside)."""
    hello = client_hello()

    def one(_: int) -> None:
        with socket.create_connection((endpoint.ip, endpoint.port), timeout=5) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(hello)
            sock.recv(1)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=per_host) as pool:
        list(pool.map(one, range(connections)))
    return time.monotonic() - started


def scan_all_tools(
    name: str, lab: LabState, fleet: ProxyFleet, work: Path, tools: Sequence[str], progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    endpoints = [Endpoint(e.host, ip, port) for e, (ip, port) in zip(lab.endpoints, fleet.addresses, strict=True)]
    targets_csv = write_targets(work / f"{name}-targets.csv", endpoints)
    servers = [e.pid for e in lab.endpoints] + [fleet.pid]
    rows: list[dict[str, Any]] = []
    suites: dict[str, dict[str, Suites]] = {}
    startups = {tool: startup_s(tool) for tool in tools}
    warm_up(endpoints)
    for tool in tools:
        progress(f"{name}: {tool}")
        out = work / f"{name}-{tool}"
        out.mkdir(exist_ok=True)
        before_conn, before_cpu = fleet.connections(), process_cpu_s(servers)
        if tool.startswith("tlsprobe"):
            engine = "sslyze" if tool == "tlsprobe-sslyze" else None
            run = run_processes([tlsprobe_command(targets_csv, lab.ca_file, out / "scan.json", out / "h.db", engine)])
            suites[tool] = tlsprobe_suites(out / "scan.json")
        elif tool in ("sslyze-cli", "sslyze-checks"):
            servers_args = [f"{e.host}:{e.port}{{{e.ip}}}" for e in endpoints]
            only = SSLYZE_CHECK_FLAGS if tool == "sslyze-checks" else []
            run = run_processes([[PYTHON, "-m", "sslyze", "--quiet", *only, "--json_out", str(out / "scan.json"),
                                  "--certinfo_ca_file", lab.ca_file, *servers_args]])
            suites[tool] = sslyze_suites(out / "scan.json")
        else:
            commands = [["sslscan", "--no-colour", f"--sni-name={e.host}", f"--xml={out / f'{i}.xml'}",
                         f"{e.ip}:{e.port}"] for i, e in enumerate(endpoints)]
            run = run_processes(commands, parallel=10)
            codes = openssl_code_names()
            suites[tool] = {e.host: sslscan_suites(out / f"{i}.xml", codes) for i, e in enumerate(endpoints)}
        rows.append({
            "scenario": name, "tool": tool, "endpoints": len(endpoints), "wall_s": round(run.wall_s, 2),
            "connections": fleet.connections() - before_conn, "cpu_s": round(run.cpu_s, 2),
            "server_cpu_s": round(process_cpu_s(servers) - before_cpu, 2), "peak_rss_mb": round(run.rss_mb, 1),
            "endpoints_per_min": round(len(endpoints) / run.wall_s * 60, 1),
            "startup_s": round(startups[tool], 2),
        })
    for row in rows:
        if row["tool"] == "tlsprobe" and len(endpoints) == 1:
            row["network_floor_s"] = round(min(network_floor_s(endpoints[0], row["connections"]) for _ in range(3)), 2)
    reference = suites.get("sslyze-cli")
    base = next((r for r in rows if r["tool"] == "sslyze-cli"), None)
    for row in rows:
        row["suites_accepted"] = sum(len(s) for s in suites[row["tool"]].values())
        compares = row["tool"] != "sslyze-checks"  # that row enumerates no suites
        row["agreement"] = (
            round(agreement(suites[row["tool"]], reference), 3) if reference is not None and compares else None
        )
        if base:
            row["wall_ratio"] = round(row["wall_s"] / base["wall_s"], 3)
            row["connections_ratio"] = round(row["connections"] / max(1, base["connections"]), 3)
            row["throughput_ratio"] = round(row["endpoints_per_min"] / base["endpoints_per_min"], 2)
            row["net_wall_ratio"] = round(
                (row["wall_s"] - row["startup_s"]) / max(0.01, base["wall_s"] - base["startup_s"]), 3
            )
    return rows


def closed_ports(count: int) -> list[tuple[str, int]]:
    """Loopback (address, port) pairs nothing listens on (ports with a wildcard listener are skipped)."""
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    taken = {int(m) for m in re.findall(r"(?:\*|0\.0\.0\.0|\[::\]):(\d+)\s", listening)}
    ports = [p for p in range(2000, 2100) if p not in taken][:40]
    return [(f"127.0.{90 + i // (250 * len(ports))}.{1 + (i // len(ports)) % 250}", ports[i % len(ports)])
            for i in range(count)]


def sweep(lab: LabState, fleet: ProxyFleet, work: Path, count: int, progress: Callable[[str], None]) -> dict[str, Any]:
    progress(f"sweep: {count} targets")
    endpoints = [Endpoint(e.host, ip, port) for e, (ip, port) in zip(lab.endpoints, fleet.addresses, strict=True)]
    endpoints = endpoints[:10]
    closed = [Endpoint(f"closed-{i}.bench.tlsprobe.test", address, port)
              for i, (address, port) in enumerate(closed_ports(count - len(endpoints)))]
    mixed = closed[: len(closed) // 2] + endpoints + closed[len(closed) // 2 :]
    targets_csv = write_targets(work / "sweep-targets.csv", mixed)
    before = fleet.connections()
    out = work / "sweep"
    out.mkdir(exist_ok=True)
    run = run_processes([tlsprobe_command(targets_csv, lab.ca_file, out / "scan.json", out / "h.db", None)])
    document = json.loads((out / "scan.json").read_text(encoding="utf-8"))
    ok = sum(1 for e in document["endpoints"] if e["status"] == "ok")
    return {
        "scenario": "sweep", "tool": "tlsprobe", "endpoints": len(mixed), "wall_s": round(run.wall_s, 2),
        "connections": fleet.connections() - before, "cpu_s": round(run.cpu_s, 2), "server_cpu_s": None,
        "peak_rss_mb": round(run.rss_mb, 1), "endpoints_per_min": round(len(mixed) / run.wall_s * 60, 1),
        "suites_accepted": None, "agreement": None, "ok": ok, "reported": len(document["endpoints"]),
    }


# --- report ---------------------------------------------------------------------------------------------------

COLUMNS = ["scenario", "tool", "endpoints", "wall_s", "wall_ratio", "startup_s", "net_wall_ratio", "connections",
           "connections_ratio",
           "endpoints_per_min", "throughput_ratio", "agreement", "suites_accepted", "cpu_s", "server_cpu_s",
           "peak_rss_mb", "network_floor_s"]


def markdown(rows: list[dict[str, Any]], rtt: float, goals: list[str]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join("| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in COLUMNS) + " |\n"
                   for r in rows)
    return (f"# Scan benchmark ({rtt:g} ms RTT through the latency proxy)\n\n"
            "Ratios are against the sslyze CLI (default checks). Connections are counted at the proxy. "
            "agreement = mean Jaccard similarity of accepted (version, suite) sets with the sslyze CLI's. "
            "cpu_s is the tool's own CPU (os.wait4); server_cpu_s the lab servers' and the proxy's. "
            "startup_s is the tool's wall time doing nothing (interpreter and imports); net_wall_ratio compares "
            "wall times without it. "
            "The machine (2 cores) is shared with the lab servers, the proxy and other work running at the "
            "same time, so absolute times are indicative.\n\n" + head + body + "\n## Goals (issue 6)\n\n"
            + "".join(f"- {g}\n" for g in goals))


def goals(rows: list[dict[str, Any]]) -> list[str]:
    def row(scenario: str, tool: str) -> dict[str, Any] | None:
        return next((r for r in rows if r["scenario"] == scenario and r["tool"] == tool), None)

    lines = []
    legacy = row("legacy", "tlsprobe")
    if legacy and "wall_ratio" in legacy:
        ok = legacy["wall_ratio"] <= 0.2 and legacy["connections_ratio"] <= 0.2 and legacy["agreement"] == 1.0
        lines.append(f"legacy: wall {legacy['wall_ratio']:.3f} and connections {legacy['connections_ratio']:.3f} "
                     f"of the sslyze CLI (goal <= 0.2 each), agreement {legacy['agreement']} (goal 1.0): "
                     f"{'met' if ok else 'NOT met'} (without start-up: {legacy['net_wall_ratio']:.3f}; "
                     f"tlsprobe starts in {legacy['startup_s']} s)")
        checks = row("legacy", "sslyze-checks")
        if checks and "wall_ratio" in checks:
            lines.append(f"legacy floor: the sslyze CLI running only the checks tlsprobe leaves to sslyze takes "
                         f"{checks['wall_ratio']:.3f} of the full sslyze CLI's wall time ({checks['wall_s']} s, "
                         f"{checks['connections']} connections); tlsprobe takes "
                         f"{legacy['wall_s'] / max(0.01, checks['wall_s']):.2f}x that")
        if "network_floor_s" in legacy:
            floor = legacy["network_floor_s"] + legacy["startup_s"]
            goal = 0.2 * legacy["wall_s"] / legacy["wall_ratio"]
            lines.append(f"legacy network floor: {legacy['connections']} bare probes (TCP set-up, ClientHello, first "
                         f"byte of the answer), 5 at a time, take {legacy['network_floor_s']} s; with tlsprobe's "
                         f"start-up ({legacy['startup_s']} s) that is {floor:.2f} s against the goal's {goal:.2f} s; "
                         f"tlsprobe took {legacy['wall_s']} s")
    fleet = row("fleet", "tlsprobe")
    if fleet and "throughput_ratio" in fleet:
        ok = fleet["throughput_ratio"] >= 5 and fleet["connections_ratio"] <= 0.2
        lines.append(f"fleet: {fleet['throughput_ratio']}x the sslyze CLI's endpoints per minute (goal >= 5x), "
                     f"connections {fleet['connections_ratio']:.3f} (goal <= 0.2), agreement {fleet['agreement']}: "
                     f"{'met' if ok else 'NOT met'}")
    swept = row("sweep", "tlsprobe")
    if swept:
        ok = swept["peak_rss_mb"] < 500 and swept["wall_s"] < 600 and swept.get("reported") == swept["endpoints"]
        lines.append(f"sweep: {swept['endpoints']} targets in {swept['wall_s']} s, peak RSS {swept['peak_rss_mb']} MB "
                     f"(goal < 500 MB, minutes), {swept.get('reported')} reported, {swept.get('ok')} ok: "
                     f"{'met' if ok else 'NOT met'}")
    return lines


def run_bench(rtt: float, fleet_size: int, sweep_size: int, output_dir: Path, tools: Sequence[str],
              progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the three scenarios; write bench-scan.csv and bench-scan.md into `output_dir`."""
    rows: list[dict[str, Any]] = []
    # Byte-code as an installed package has it (pip compiles on install; this checkout may run with
    # PYTHONDONTWRITEBYTECODE), so that tlsprobe's start-up is not charged for compiling its own sources.
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(Path(probe.__file__).resolve().parent)], check=True)
    with tempfile.TemporaryDirectory(prefix="tlsprobe-bench-scan-") as tmp:
        work = Path(tmp)
        definition = write_definition(work / "legacy.yaml", [legacy_definition()])
        with running_lab(work / "lab-legacy", definition=definition) as lab, ProxyFleet(lab, rtt, 70) as fleet:
            rows += scan_all_tools("legacy", lab, fleet, work, tools, progress)
        definition = write_definition(work / "fleet.yaml", fleet_definitions(fleet_size))
        with running_lab(work / "lab-fleet", definition=definition) as lab, ProxyFleet(lab, rtt, 71) as fleet:
            rows += scan_all_tools("fleet", lab, fleet, work, tools, progress)
            if sweep_size:
                rows.append(sweep(lab, fleet, work, sweep_size, progress))
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "bench-scan.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "ok", "reported"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    met = goals(rows)
    (output_dir / "bench-scan.md").write_text(markdown(rows, rtt, met), encoding="utf-8")
    return {"rows": rows, "goals": met}


def table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the rows (for the terminal)."""
    cols = ["scenario", "tool", "wall_s", "wall_ratio", "startup_s", "net_wall_ratio", "connections",
            "connections_ratio", "endpoints_per_min",
            "throughput_ratio", "agreement", "cpu_s", "server_cpu_s", "peak_rss_mb"]
    cells = [cols] + [["" if r.get(c) is None else str(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rtt", type=float, default=20.0, help="round-trip time through the proxy, ms")
    parser.add_argument("--fleet", type=int, default=50, help="lab endpoints in the fleet scenario")
    parser.add_argument("--sweep", type=int, default=10000, help="targets in the sweep scenario (0: skip)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ", ".join(TOOLS))
    parser.add_argument("--output-dir", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    result = run_bench(args.rtt, args.fleet, args.sweep, args.output_dir, tools,
                       progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    print(table(result["rows"]))
    for line in result["goals"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
