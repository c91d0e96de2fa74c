"""Scale benchmark (`tlsprobe bench scale`): memory at any size and throughput on a Dask cluster.

A benchmark, not a test: it writes `bench-scale.md` and `bench-scale.csv` under the output directory.

1. Memory: `tlsprobe scan` of 10,000 and 100,000 targets spread over 127.0.0.0/8, mostly closed ports (plus a
   few lab endpoints behind the latency proxy), single-process with `--output x.json` and with JSON to stdout,
   then `--cluster local:2`: wall time, the client's peak RSS and CPU, each worker's (nanny included) apart, and
   whether every target was reported. Goal: RSS at 100,000 at most 1.25x RSS at 10,000, and at most 250 MB.
2. Throughput: a lab fleet of TLS endpoints (200 by default, on 127.0.150.x) behind the 20 ms latency proxy
   (127.0.151.x), single process against `--cluster local:2`, in one run: endpoints per minute, client CPU,
   RSS per worker, the lab servers' and the proxy's CPU (they share the machine's cores with the scan).
3. An extrapolation from the measured CPU and connections per endpoint: workers needed to sweep 1,000,000
   endpoints in an hour, and the scheduler traffic that implies.

Each run is a `python -m probe scan` subprocess; its process tree is sampled every 50 ms (psutil) for peak RSS
(VmHWM) and CPU per process, so the client is measured apart from its LocalCluster's nannies and workers.

`python -m probe.bench.scale [--sizes 10000,100000] [--fleet 200] [--rtt 20] [--output-dir reports]`
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from probe.lab.manager import LabState, running_lab
from probe.lab.paths import DEFAULT_DEFINITION

from .scan_bench import ProxyFleet, process_cpu_s

PYTHON = sys.executable
FLEET_OCTET, PROXY_OCTET = 150, 151  # 127.0.150.x lab servers, 127.0.151.x their latency proxies
ENDPOINTS_PER_HOUR_GOAL = 1_000_000
Progress = Callable[[str], None]


# --- targets ----------------------------------------------------------------------------------------------------


def closed_ports(count: int = 8) -> list[int]:
    """Ports no wildcard listener holds (so nothing answers on any 127.x.y.z)."""
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    taken = {int(m) for m in re.findall(r"(?:\*|0\.0\.0\.0|\[::\]):(\d+)\s", listening)}
    return [p for p in range(2000, 2200) if p not in taken][:count]


def spread_address(index: int) -> str:
    """The index-th address of a spread over 127.0.0.0/8, outside 127.0.x.x (the labs and test servers)."""
    return f"127.{1 + index % 250}.{(index // 250) % 256}.{1 + (index // 64000) % 250}"


def write_sweep_targets(path: Path, count: int, open_endpoints: Sequence[tuple[str, str, int]] = ()) -> Path:
    """A CSV of `count` targets: `open_endpoints` (host, ip, port) spread among closed ones, written as it goes."""
    ports = closed_ports()
    step = max(1, count // (len(open_endpoints) + 1))
    opened = list(open_endpoints)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("host,port,ip\n")
        for index in range(count):
            if opened and index % step == step // 2:
                host, ip, port = opened.pop()
            else:
                ip, port = spread_address(index), ports[index % len(ports)]
                host = f"closed-{index}.scale.tlsprobe.test"
            handle.write(f"{host},{port},{ip}\n")
    return path


def fleet_definitions(count: int) -> list[dict[str, Any]]:
    """`count` TLS endpoints cycling through the lab's TLS endpoints, each on its own 127.0.150.x address."""
    source = yaml.safe_load(DEFAULT_DEFINITION.read_text(encoding="utf-8"))["endpoints"]
    kinds = [e for e in source if e.get("server", {}).get("kind", "tls") == "tls"]
    return [{"name": f"{kinds[i % len(kinds)]['name']}-{i}", "host": f"fleet-{i}.scale.tlsprobe.test",
             "address": f"127.0.{FLEET_OCTET}.{i + 1}", "server": kinds[i % len(kinds)]["server"]}
            for i in range(count)]


# --- measuring a process tree -----------------------------------------------------------------------------------


@dataclass
class Sample:
    role: str
    rss_mb: float = 0.0
    cpu_s: float = 0.0


@dataclass
class Measured:
    wall_s: float
    returncode: int
    client: Sample
    others: dict[int, Sample] = field(default_factory=dict)  # nannies, workers, helpers: by pid
    nanny_of: dict[int, int] = field(default_factory=dict)  # worker pid -> its nanny's pid

    def workers(self) -> list[tuple[float, float]]:
        """(RSS of worker + its nanny in MB, CPU of the worker in s) per worker."""
        out = []
        for pid, sample in self.others.items():
            if sample.role == "worker":
                nanny = self.others.get(self.nanny_of.get(pid, -1))
                out.append((sample.rss_mb + (nanny.rss_mb if nanny else 0.0), sample.cpu_s))
        return sorted(out)


def _hwm_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else None


def measure(command: list[str], *, stdout: Path | None = None, interval: float = 0.05) -> Measured:
    """Run `command`; wall time, and the peak RSS and CPU of the process and of each of its descendants."""
    import psutil

    out = stdout.open("wb") if stdout is not None else open(os.devnull, "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    samples: dict[int, Sample] = {process.pid: Sample("client")}
    parents: dict[int, int] = {}
    stderr_lines: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []), daemon=True)
    reader.start()
    usage = None
    while True:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for proc in tree:
            try:
                times = proc.cpu_times()
                parent = proc.ppid()
            except psutil.Error:
                continue
            sample = samples.get(proc.pid)
            if sample is None:
                try:
                    helper = "resource_tracker" in " ".join(proc.cmdline())
                except psutil.Error:
                    helper = False
                role = "helper" if helper else "worker" if parent == process.pid else "other"
                sample = samples[proc.pid] = Sample(role)
                parents[proc.pid] = parent
            hwm = _hwm_mb(proc.pid)
            if hwm is not None:
                sample.rss_mb = max(sample.rss_mb, hwm)
            sample.cpu_s = max(sample.cpu_s, times.user + times.system)
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            usage = rusage
            break
        time.sleep(interval)
    wall = time.monotonic() - started
    out.close()
    reader.join(5)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        sys.stderr.write(f"{command[:5]} exited {process.returncode}: "
                         f"{b''.join(stderr_lines).decode(errors='replace')[-600:]}\n")
    client = samples.pop(process.pid)
    # A LocalCluster's nannies live in the client process (its RSS includes them) and start the worker
    # processes, its direct children; what a worker starts in turn is counted as "other".
    nanny_of: dict[int, int] = {}
    if usage is not None and not samples:  # no children: the kernel's own peak for the process is exact
        client.rss_mb = max(client.rss_mb, usage.ru_maxrss / 1024)
        client.cpu_s = max(client.cpu_s, usage.ru_utime + usage.ru_stime)
    return Measured(wall, process.returncode, client, samples, nanny_of)


def reported(path: Path) -> int:
    """Endpoints in a JSON scan document, counted line by line (the document itself may be large)."""
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            count += line.startswith('      "endpoint": ')
    return count


def _ok(path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line == '      "status": "ok",\n':
                count += 1
    return count


def scan_command(targets: Path, db: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "probe", "scan", "--targets", str(targets), "--db", str(db), "--dns-server", "static",
            "--no-http", *extra]


# --- scenarios --------------------------------------------------------------------------------------------------


def _row(scenario: str, mode: str, targets: int, run: Measured, **more: Any) -> dict[str, Any]:
    workers = run.workers()
    return {
        "scenario": scenario, "mode": mode, "targets": targets, "wall_s": round(run.wall_s, 1),
        "endpoints_per_min": round(targets / run.wall_s * 60, 1) if run.wall_s else None,
        "client_rss_mb": round(run.client.rss_mb, 1), "client_cpu_s": round(run.client.cpu_s, 1),
        "worker_rss_mb": " ".join(f"{rss:.0f}" for rss, _ in workers) or None,
        "worker_cpu_s": " ".join(f"{cpu:.1f}" for _, cpu in workers) or None,
        "exit": run.returncode, **more,
    }  # fmt: skip


def memory_runs(work: Path, sizes: Sequence[int], open_endpoints: Sequence[tuple[str, str, int]],
                progress: Progress, cluster: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    flags = ["--concurrency", "200", "--timeout", "2"]
    for size in sizes:
        targets = write_sweep_targets(work / f"sweep-{size}.csv", size, open_endpoints)
        modes: list[tuple[str, list[str], bool]] = [
            ("single, --output x.json", [], True), ("single, JSON to stdout", [], False)]
        if cluster and size == max(sizes):
            modes.append((f"--cluster {cluster}, --output x.json", ["--cluster", cluster], True))
        for mode, extra, to_file in modes:
            progress(f"memory: {size:,} targets, {mode}")
            out = work / f"sweep-{size}-{len(rows)}.json"
            db = work / f"sweep-{size}-{len(rows)}.db"
            if to_file:
                run = measure(scan_command(targets, db, *flags, *extra, "--output", str(out)))
            else:
                run = measure(scan_command(targets, db, *flags, *extra, "--format", "json"), stdout=out)
            count = reported(out) if out.exists() else 0
            rows.append(_row("memory", mode, size, run, reported=count, ok=_ok(out) if out.exists() else 0))
            out.unlink(missing_ok=True)
            db.unlink(missing_ok=True)
    return rows


def fleet_runs(work: Path, lab: LabState, fleet: ProxyFleet, progress: Progress,
               cluster: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    endpoints = [(e.host, ip, port) for e, (ip, port) in zip(lab.endpoints, fleet.addresses, strict=True)]
    targets = work / "fleet.csv"
    targets.write_text("host,port,ip\n" + "".join(f"{h},{p},{ip}\n" for h, ip, p in endpoints), encoding="utf-8")
    servers = [e.pid for e in lab.endpoints] + [fleet.pid]
    modes = [("single process, --concurrency 20", ["--concurrency", "20"])]
    if cluster:
        modes.append((f"--cluster {cluster}, --concurrency 10 per worker", ["--concurrency", "10", "--cluster",
                                                                             cluster]))
    if cluster:  # what starting and stopping the cluster costs, apart from scanning
        progress(f"fleet: --cluster {cluster} start-up, one closed target")
        one = write_sweep_targets(work / "one.csv", 1)
        run = measure(scan_command(one, work / "one.db", "--cluster", cluster, "--output", str(work / "one.json")))
        rows.append(_row("fleet", f"--cluster {cluster} start-up, 1 closed target", 1, run,
                         reported=reported(work / "one.json"), ok=0, connections=0, observation_bytes=0))
    for mode, extra in modes:
        progress(f"fleet: {len(endpoints)} endpoints, {mode}")
        out, db = work / f"fleet-{len(rows)}.json", work / f"fleet-{len(rows)}.db"
        before_conn, before_cpu = fleet.connections(), process_cpu_s(servers)
        run = measure(scan_command(targets, db, "--ca-file", lab.ca_file, "--timeout", "5", *extra,
                                   "--output", str(out)))
        connections = fleet.connections() - before_conn
        with sqlite3.connect(db) as conn:
            [(size,)] = conn.execute("SELECT AVG(LENGTH(observation_json)) FROM observations").fetchall()
        rows.append(_row("fleet", mode, len(endpoints), run, reported=reported(out), ok=_ok(out),
                         lab_cpu_s=round(process_cpu_s(servers) - before_cpu, 1), connections=connections,
                         observation_bytes=round(size or 0)))
    return rows


def extrapolate(rows: Sequence[dict[str, Any]], chunk_size: int = 40) -> list[str]:
    """Workers for 1,000,000 endpoints an hour from the cluster fleet row (and the single-process one)."""
    fleet = [r for r in rows if r["scenario"] == "fleet"]
    clustered = next((r for r in fleet if "cluster" in r["mode"] and "start-up" not in r["mode"]), None)
    start = next((r for r in fleet if "start-up" in r["mode"]), None)
    single = next((r for r in fleet if "single" in r["mode"]), None)
    if clustered is None or single is None:
        return ["no cluster fleet run: nothing to extrapolate from"]
    n = clustered["targets"]
    rate = ENDPOINTS_PER_HOUR_GOAL / 3600

    def cpu(row: dict[str, Any] | None, column: str) -> float:
        return sum(float(c) for c in str((row or {}).get(column) or "0").split())

    # per endpoint, without what starting and stopping the cluster costs (the start-up row)
    worker_cpu = max(0.0, cpu(clustered, "worker_cpu_s") - cpu(start, "worker_cpu_s")) / n
    client_cpu = max(0.0, cpu(clustered, "client_cpu_s") - cpu(start, "client_cpu_s")) / n
    conns = clustered["connections"] / n
    single_cpu = single["client_cpu_s"] / n
    per_worker_rate = 1 / worker_cpu if worker_cpu else float("inf")  # one thread: at most one core's worth
    workers = rate / per_worker_rate
    result_bytes = rate * clustered["observation_bytes"]
    return [
        f"measured (cluster start-up taken off): {worker_cpu * 1000:.0f} ms of worker CPU, {client_cpu * 1000:.1f} ms "
        "of client CPU (the LocalCluster's scheduler included) and "
        f"{conns:.1f} connections per endpoint on the cluster (single process: {single_cpu * 1000:.0f} ms of CPU "
        f"per endpoint)",
        f"1,000,000 endpoints in an hour is {rate:.0f} endpoints/s: {rate * worker_cpu:.0f} worker cores, so at "
        f"least {workers * 1.25:.0f} one-thread workers with 25% headroom (each does at most "
        f"{per_worker_rate:.1f} endpoints/s when CPU-bound; at a 20 ms RTT a worker with --concurrency 10 keeps 10 "
        "endpoints in flight, so latency is not the limit before CPU is)",
        f"the client: {rate * client_cpu:.2f} cores for resolving, judging and storing "
        + ("(fits one client process)" if rate * client_cpu < 0.8 else
           "(more than one client process can give: split the sweep over several clients)"),
        f"scheduler traffic: {rate / chunk_size:.1f} chunks/s of {chunk_size} targets (default --chunk-size at "
        f"--concurrency 10; a few scheduler messages each), {result_bytes / 1e6:.2f} MB/s of results back "
        f"(observations of {clustered['observation_bytes']} bytes on average); the targets scanned see "
        f"{rate * conns:,.0f} new TLS connections/s in all",
    ]


def goals(rows: Sequence[dict[str, Any]], sizes: Sequence[int]) -> list[str]:
    lines = []
    small, large = min(sizes), max(sizes)
    for mode in ("single, --output x.json", "single, JSON to stdout"):
        a = next((r for r in rows if r["mode"] == mode and r["targets"] == small), None)
        b = next((r for r in rows if r["mode"] == mode and r["targets"] == large), None)
        if a and b and small != large:
            ratio = b["client_rss_mb"] / a["client_rss_mb"]
            ok = ratio <= 1.25 and b["client_rss_mb"] <= 250
            lines.append(f"{mode}: peak RSS {a['client_rss_mb']} MB at {small:,}, {b['client_rss_mb']} MB at "
                         f"{large:,} ({ratio:.2f}x; goal <= 1.25x and <= 250 MB): {'met' if ok else 'NOT met'}")
    for row in rows:
        if row["scenario"] == "memory" and row["reported"] != row["targets"]:
            lines.append(f"{row['mode']} at {row['targets']:,}: only {row['reported']:,} targets reported")
    return lines


COLUMNS = ["scenario", "mode", "targets", "wall_s", "endpoints_per_min", "client_rss_mb", "client_cpu_s",
           "worker_rss_mb", "worker_cpu_s", "lab_cpu_s", "connections", "reported", "ok", "exit"]


def markdown(rows: Sequence[dict[str, Any]], met: Sequence[str], estimate: Sequence[str], rtt: float) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join("| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in COLUMNS) + " |\n"
                   for r in rows)
    return (f"# Scale benchmark ({os.cpu_count()} cores, {rtt:g} ms RTT through the latency proxy)\n\n"
            "client_rss_mb is the peak RSS (VmHWM) of the tlsprobe process (with --cluster local:N it holds the "
            "scheduler and the workers' nannies too); worker_rss_mb is each Dask worker process's peak; CPU is "
            "user + system seconds of each process. lab_cpu_s "
            "is the lab servers' and the latency proxy's CPU during the run: they run on the same cores. "
            "Memory runs: closed ports spread over 127.0.0.0/8 with a few lab endpoints, --concurrency 200 "
            "--timeout 2; `reported` counts the endpoints in the JSON document.\n\n" + head + body
            + "\n## Goals\n\n" + "".join(f"- {g}\n" for g in met)
            + "\n## Extrapolation\n\n" + "".join(f"- {e}\n" for e in estimate))


def run_scale(output_dir: Path, sizes: Sequence[int] = (10_000, 100_000), fleet_size: int = 200, rtt: float = 20.0,
              cluster: str | None = "local:2", progress: Progress = lambda s: None) -> dict[str, Any]:
    """Run both scenarios; write bench-scale.csv and bench-scale.md into `output_dir`."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "probe")],
                   check=False, capture_output=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tlsprobe-bench-scale-") as tmp:
        work = Path(tmp)
        definition = work / "fleet.yaml"
        definition.write_text(yaml.safe_dump({"profile": "op-pol-001", "endpoints": fleet_definitions(fleet_size)}),
                              encoding="utf-8")
        progress(f"starting {fleet_size} lab endpoints and their latency proxies")
        with running_lab(work / "lab", definition=definition) as lab, ProxyFleet(lab, rtt, PROXY_OCTET) as fleet:
            rows += fleet_runs(work, lab, fleet, progress, cluster)
            few = [(e.host, ip, port) for e, (ip, port) in zip(lab.endpoints, fleet.addresses, strict=True)][:10]
            rows += memory_runs(work, sizes, few, progress, cluster)
    met = goals(rows, sizes)
    estimate = extrapolate(rows)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "bench-scale.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "observation_bytes"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (output_dir / "bench-scale.md").write_text(markdown(rows, met, estimate, rtt), encoding="utf-8")
    return {"rows": rows, "goals": met, "estimate": estimate}


def table(rows: Iterable[dict[str, Any]]) -> str:
    cells = [COLUMNS] + [["" if r.get(c) is None else str(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000", help="targets of the memory runs, comma-separated")
    parser.add_argument("--fleet", type=int, default=200, help="lab TLS endpoints of the throughput runs")
    parser.add_argument("--rtt", type=float, default=20.0, help="round-trip time through the proxy, ms")
    parser.add_argument("--cluster", default="local:2", help="the cluster runs' --cluster ('' to skip them)")
    parser.add_argument("--output-dir", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    result = run_scale(args.output_dir, [int(s) for s in args.sizes.split(",") if s], args.fleet, args.rtt,
                       args.cluster or None, progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    print(table(result["rows"]))
    for line in [*result["goals"], *result["estimate"]]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
