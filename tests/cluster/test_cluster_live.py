"""Scans on a real Dask cluster on loopback, no mocks: a LocalCluster (`--cluster local:2`) and a separately
started `dask scheduler` with two `dask worker` processes (one thread each, nannies restart killed workers).

Faults are real: a server kills (SIGKILL) the worker process that connects to it, once or every time.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from typer.testing import CliRunner

import probe
from probe.cli.main import app
from probe.lab.manager import LabState, running_lab
from tests.cluster.daskprocs import DaskProcesses, dask_processes, free_port, killing_handler
from tests.servers import EstablishedSampler, serve_in_process, tls_handler

pytestmark = pytest.mark.live

LAB = ["compliant", "legacy", "rsa1024", "self-signed", "plain-http", "weak-dh"]
HOST = "cluster.lab.test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab"), names=LAB) as state:
        yield state


@pytest.fixture(scope="module")
def processes() -> Iterator[DaskProcesses]:
    with dask_processes(2, allowed_failures=1) as cluster:
        yield cluster


@pytest.fixture
def dask(processes: DaskProcesses) -> DaskProcesses:
    """The module's scheduler with both workers up (a test that killed one waits for its nanny's restart)."""
    processes.wait_for_workers(2)
    return processes


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


def _context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(HOST, "*.cluster.lab.test").configure_cert(context)
    return context


def _essence(document: probe.ScanDocument) -> dict[str, Any]:
    """What a scan found per endpoint, without timings."""
    return {
        e.endpoint: {
            "status": e.status, "error": e.error.kind if e.error else None, "versions": e.tls_versions,
            "suites": e.cipher_suites, "groups": e.key_exchange_groups, "compliant": e.compliant,
            "findings": sorted((f.rule, f.severity.value, f.waived) for f in e.findings),
            "certificates": [c.fingerprint_sha256 for c in e.certificates],
        }
        for e in document.endpoints
    }  # fmt: skip


def test_local_2_finds_what_one_process_finds(lab: LabState) -> None:
    options: dict[str, Any] = {"targets_file": lab.targets_csv, "ca_file": lab.ca_file, "timeout": 3, "deadline": 60}
    single = probe.scan(**options)
    clustered = probe.scan(cluster="local:2", chunk_size=2, **options)
    assert len(clustered.endpoints) == len(LAB)
    assert _essence(clustered) == _essence(single)
    assert clustered.summary == single.summary


def test_a_separately_started_scheduler_and_two_workers_serve_a_sweep(
    lab: LabState, dask: DaskProcesses, tmp_path: Path
) -> None:
    out = tmp_path / "sweep.json"
    result = CliRunner().invoke(app, [
        "sweep", "--provider", "file", "--targets", lab.targets_csv, "--ca-file", lab.ca_file, "--timeout", "3",
        "--cluster", dask.address, "--chunk-size", "1", "--db", str(tmp_path / "h.db"), "--output", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert sorted(e["target"]["host"] for e in document["endpoints"]) == sorted(e.host for e in lab.endpoints)
    assert {e["target"]["host"].split(".")[0]: e["status"] for e in document["endpoints"]}["plain-http"] == "error"
    with dask.client() as client:  # both workers scanned chunks
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(count > 0 for count in executed.values()), executed


def _closed(address: str, count: int) -> list[str]:
    return [f"{address}:{free_port(address)}" for _ in range(count)]


def test_a_worker_killed_mid_chunk_loses_nothing_and_repeats_nothing(
    dask: DaskProcesses, ca: tuple[trustme.CA, Path]
) -> None:
    kills = multiprocessing.get_context("fork").Value("i", 0)
    handler = killing_handler(kills, os.getpid(), tls_handler(_context(ca[0])), times=1)
    with serve_in_process("127.0.16.1", handler) as server:
        victim = f"victim.cluster.lab.test:{server.port}"
        targets = [*_closed("127.0.16.10", 3), victim, *_closed("127.0.16.11", 3), *_closed("127.0.16.12", 3)]
        entries = list(probe.iter_scan(targets, resolve=[f"{victim}:{server.address}"], ca_file=ca[1], timeout=3,
                                       deadline=60, cluster=dask.address, chunk_size=2))
    assert kills.value == 1, "the server killed the worker that scanned it first"
    keys = [e.endpoint for e in entries]
    assert len(keys) == len(set(keys)) == len(targets), "every target reported exactly once"
    by_host = {e.target.host: e for e in entries}
    assert by_host["victim.cluster.lab.test"].status == "ok", "its chunk was scanned again on a live worker"
    assert {e.error.kind for e in entries if e.error} == {"refused"}


def test_a_chunk_that_kills_every_worker_ends_with_its_targets_errored(
    dask: DaskProcesses, ca: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    kills = multiprocessing.get_context("fork").Value("i", 0)
    handler = killing_handler(kills, os.getpid(), tls_handler(_context(ca[0])))
    with serve_in_process("127.0.16.2", handler) as server:
        poison = f"poison.cluster.lab.test:{server.port}"
        same_stream = _closed("127.0.16.2", 2)  # same address: same stream, same chunk
        elsewhere = _closed("127.0.16.13", 2)
        doc = probe.scan([poison, *same_stream, *elsewhere], resolve=[f"{poison}:{server.address}"], ca_file=ca[1],
                         timeout=3, deadline=60, cluster=dask.address, chunk_size=3, db=tmp_path / "h.db")
    assert kills.value == 2, "allowed failures 1: the chunk ran twice, each time killing its worker"
    status = {e.endpoint.split("@")[0]: e for e in doc.endpoints}
    assert len(doc.endpoints) == 5
    for target in (poison, *same_stream):
        entry = status[target]
        assert entry.status == "error" and entry.error is not None and entry.error.kind == "internal", entry.error
        assert "lost with every worker" in entry.error.message
    assert all(status[t].error.kind == "refused" for t in elsewhere)  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / "h.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM endpoints").fetchone() == (5,)


def test_the_per_host_cap_holds_across_two_workers(dask: DaskProcesses, ca: tuple[trustme.CA, Path]) -> None:
    context = _context(ca[0])
    with serve_in_process("127.0.16.3", tls_handler(context, delay=0.02)) as one, \
            serve_in_process("127.0.16.4", tls_handler(context, delay=0.02)) as two:
        targets, pins = [], []
        for server in (one, two):
            for i in range(4):
                name = f"n{i}-{server.address.rsplit('.', 1)[1]}.cluster.lab.test"
                targets.append(f"{name}:{server.port}")
                pins.append(f"{name}:{server.port}:{server.address}")
        with EstablishedSampler(one.address, one.port) as first, EstablishedSampler(two.address, two.port) as second:
            doc = probe.scan(targets, resolve=pins, ca_file=ca[1], timeout=5, deadline=120, per_host=2,
                             concurrency=4, cluster=dask.address, chunk_size=2, no_http=True)
        totals = (one.total, two.total)
    assert all(e.status == "ok" for e in doc.endpoints), [e.error for e in doc.endpoints]
    assert first.peak <= 2 and second.peak <= 2, (first.peak, second.peak)
    assert first.peak >= 1 and second.peak >= 1
    counted = {ip: sum(e.connections for e in doc.endpoints if e.target.ip == ip) for ip in (one.address, two.address)}
    assert (counted[one.address], counted[two.address]) == totals, "every connection counted, once"


def test_a_killed_client_resumes_and_scans_only_what_is_missing(
    lab: LabState, dask: DaskProcesses, tmp_path: Path
) -> None:
    from tests.servers import serve, tarpit

    db, targets = tmp_path / "history.db", tmp_path / "targets.csv"

    def stored() -> dict[str, str]:
        if not db.exists():
            return {}
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                return dict(conn.execute("SELECT e.key, o.observation_json FROM endpoints e JOIN observations o"
                                         " ON o.endpoint_id = e.id"))  # fmt: skip
        except sqlite3.Error:
            return {}

    with serve("127.0.16.14", tarpit) as slow:  # holds a worker for the deadline: the client dies before the end
        targets.write_text(Path(lab.targets_csv).read_text() + f"slow.cluster.lab.test,{slow.port},{slow.address}\n")
        command = [sys.executable, "-m", "probe", "scan", "--targets", str(targets), "--ca-file", lab.ca_file,
                   "--db", str(db), "--timeout", "3", "--deadline", "3", "--format", "json", "--cluster",
                   dask.address, "--chunk-size", "1", "--concurrency", "1"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(stored()) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the sweep finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        before = stored()
        assert 2 <= len(before) <= len(LAB)
        with sqlite3.connect(db) as conn:
            [(sweep_id,)] = conn.execute("SELECT id FROM sweeps").fetchall()
        resumed = subprocess.run([*command, "--resume", str(sweep_id)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming sweep {sweep_id}: {len(before)} endpoints already done" in resumed.stderr
    after = stored()
    hosts = sorted([*(e.host for e in lab.endpoints), "slow.cluster.lab.test"])
    assert sorted(key.split(":")[0] for key in after) == hosts, "every target exactly once"
    for key, observation in before.items():
        assert after[key] == observation, f"{key} was scanned again"


def test_a_worker_with_another_tlsprobe_is_named_at_start(dask: DaskProcesses, tmp_path: Path) -> None:
    other = tmp_path / "site" / "tlsprobe-9.9.9.dist-info"
    other.mkdir(parents=True)
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: tlsprobe\nVersion: 9.9.9\n")
    extra = dask.start_worker(env={"PYTHONPATH": str(other.parent)})
    try:
        dask.wait_for_workers(3)
        result = CliRunner().invoke(app, ["scan", "127.0.16.5:1", "--cluster", dask.address, "--db",
                                          str(tmp_path / "h.db")])
    finally:
        dask.stop(extra)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "runs tlsprobe 9.9.9" in lines[0] and "worker tcp://127.0.0.1:" in lines[0], lines
    assert not (tmp_path / "h.db").exists(), "the cluster is checked before anything is stored"


def test_a_tls_scheduler_serves_a_scan_with_the_cluster_tls_settings(tmp_path: Path) -> None:
    from distributed import Security

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    issued.cert_chain_pems[0].write_to_path(str(cert_file))
    issued.private_key_pem.write_to_path(str(key_file))
    tls = {"tls-ca-file": str(ca_file), "tls-cert": str(cert_file), "tls-key": str(key_file)}
    security = Security(tls_ca_file=str(ca_file), tls_client_cert=str(cert_file), tls_client_key=str(key_file),
                        require_encryption=True)
    with dask_processes(1, tls=tls, security=security) as cluster:
        assert cluster.address.startswith("tls://127.0.0.1:")
        result = CliRunner().invoke(app, [
            "scan", "127.0.16.8:1", "--cluster", cluster.address, "--cluster-tls-ca", str(ca_file),
            "--cluster-tls-cert", str(cert_file), "--cluster-tls-key", str(key_file), "--db", str(tmp_path / "h.db"),
            "--format", "json", "--no-http",
        ])  # fmt: skip
    assert result.exit_code == 0, result.output
    [endpoint] = json.loads(result.stdout)["endpoints"]
    assert endpoint["error"]["kind"] == "refused"


def test_max_duration_reports_what_is_left_as_errored_not_dropped(dask: DaskProcesses) -> None:
    from tests.servers import serve, tarpit

    with serve("127.0.16.9", tarpit) as server:
        targets = [f"n{i}.cluster.lab.test:{server.port}" for i in range(6)]
        pins = [f"{t}:{server.address}" for t in targets]
        started = time.monotonic()
        doc = probe.scan(targets, resolve=pins, timeout=1, deadline=30, max_duration=2, concurrency=1,
                         cluster=dask.address, chunk_size=2, no_http=True)
        elapsed = time.monotonic() - started
    assert len(doc.endpoints) == 6 and elapsed < 20
    assert all(e.status == "error" and e.error is not None and e.error.kind == "timeout" for e in doc.endpoints)
    assert any("before this endpoint" in e.error.message for e in doc.endpoints if e.error)
