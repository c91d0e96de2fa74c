"""Start, inspect and stop the local lab: one server process (own process group) per endpoint.

`start_lab` writes into the state directory: state.json (pids, addresses, ports, ground truth, expected
findings, file paths), ca.pem (the lab CA to trust), targets.csv (host,port,ip,name) and the certificates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from probe.errors import TlsProbeError
from probe.lab.certs import KeyCache, LabCA, issue_client_cert, issue_leaf, make_ca, write_dh_params
from probe.lab.definition import (
    EndpointDef,
    Expect,
    ExpectedFinding,
    load_definition,
)
from probe.lab.node_server import measure_endpoint, node_binary, node_script
from probe.lab.paths import DEFAULT_DEFINITION, child_env
from probe.lab.truth import CertTruth, EndpointTruth, cert_truth, endpoint_truth
from probe.targets import write_csv

STATE_FORMAT = "tlsprobe.lab/1"
SERVER_MODULE = "probe.lab.server"
PQ_FAKE_MODULE = "probe.lab.pq_fake"  # kind pq_fake; kind node runs node_server.js (probe/lab/node_server.py)


class LabError(TlsProbeError):
    """The lab cannot be started, read or stopped."""


class EndpointState(BaseModel):
    """A started endpoint: where it listens, its process and what a scan of it must find."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    host: str
    address: str
    port: int
    kind: Literal["tls", "https", "plain_http", "tarpit", "node", "pq_fake"]
    description: str = ""
    pid: int
    spec_file: str
    log_file: str
    openssl_conf: str | None = None
    truth: EndpointTruth | None
    expect: Expect


class LabState(BaseModel):
    """The content of `<state_dir>/state.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = STATE_FORMAT
    state_dir: str
    definition: str
    profile: str
    started_at: dt.datetime
    ca_file: str
    client_cert: str
    client_key: str
    targets_csv: str
    endpoints: tuple[EndpointState, ...]

    def endpoint(self, name: str) -> EndpointState:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise LabError(f"no lab endpoint named {name!r} in {self.state_dir}")


class EndpointStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    host: str
    address: str
    port: int
    pid: int
    status: Literal["up", "not listening", "down"]


# --- state file -------------------------------------------------------------------------------------------


def state_file(state_dir: Path) -> Path:
    return Path(state_dir) / "state.json"


def load_state(state_dir: Path) -> LabState:
    """Read `<state_dir>/state.json`; LabError when there is none."""
    path = state_file(state_dir)
    try:
        return LabState.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabError(f"no lab state in {state_dir} (is the lab up?)") from exc
    except ValueError as exc:
        raise LabError(f"unreadable lab state {path}: {str(exc).splitlines()[0]}") from exc


def expected_for(state: LabState | Path, name: str) -> EndpointState:
    """Ground truth (`.truth`) and expected result (`.expect`) of one endpoint of a started lab."""
    lab = state if isinstance(state, LabState) else load_state(state)
    return lab.endpoint(name)


def expected_findings(state: LabState | Path, name: str) -> list[ExpectedFinding]:
    """The findings the default profile must report for an endpoint (empty for an expected error)."""
    return list(expected_for(state, name).expect.findings)


# --- processes --------------------------------------------------------------------------------------------


def _is_our_server(pid: int, spec_file: str) -> bool:
    """True when `pid` is alive and is the lab server started for `spec_file` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return _alive(pid)
    servers = (SERVER_MODULE.encode(), PQ_FAKE_MODULE.encode(), str(node_script("node_server.js")).encode())
    return any(server in cmdline for server in servers) and spec_file.encode() in cmdline


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fall through to a signal probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _kill_group(pid: int, spec_file: str, grace_s: float = 3.0) -> None:
    if not _is_our_server(pid, spec_file):
        _alive(pid)  # reap it if it was our child
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.02)


def _listening(address: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout_s):
            return True
    except OSError:
        return False


# --- start ------------------------------------------------------------------------------------------------


def _openssl_conf(endpoint: EndpointDef) -> str:
    lines = [
        "openssl_conf = openssl_init",
        "[openssl_init]",
        "ssl_conf = ssl_sect",
        "[ssl_sect]",
        "system_default = system_default_sect",
        "[system_default_sect]",
    ]
    if endpoint.server.groups:
        lines.append("Groups = " + ":".join(endpoint.server.groups))
    if endpoint.server.tls13_ciphersuites is not None:
        lines.append("Ciphersuites = " + ":".join(endpoint.server.tls13_ciphersuites))
    return "\n".join(lines) + "\n"


class _Prepared(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint: EndpointDef
    spec_file: Path
    ready_file: Path
    log_file: Path
    openssl_conf: Path | None
    truth: EndpointTruth | None


def _prepare(endpoint: EndpointDef, ca: LabCA, keys: KeyCache, dirs: dict[str, Path]) -> _Prepared:
    """Certificates, DH params, OpenSSL config and the server spec of one endpoint; its ground truth."""
    server = endpoint.server
    certs: list[CertTruth] = []
    tls = server.kind in ("tls", "https", "node", "pq_fake")
    if tls:
        for index, cert_def in enumerate(server.certificates):
            issued = issue_leaf(ca, cert_def, endpoint.host, dirs["certs"] / f"{endpoint.name}-{index}", keys)
            certs.append(
                cert_truth(
                    cert_def,
                    endpoint.host,
                    str(issued.cert_path),
                    str(issued.key_path),
                    issued.not_before,
                    issued.not_after,
                )
            )
    dh_file: Path | None = None
    if tls and server.dh_group:
        dh_file = dirs["certs"] / f"dh-{server.dh_group}.pem"
        if not dh_file.exists():
            write_dh_params(server.dh_group, dh_file)
    try:
        truth = endpoint_truth(endpoint, tuple(certs))
    except ValueError as exc:
        raise LabError(f"lab endpoint {endpoint.name}: {exc}") from exc
    run = dirs["run"]
    spec_file, ready_file = run / f"{endpoint.name}.json", run / f"{endpoint.name}.ready"
    conf_file: Path | None = None
    if tls and server.kind != "node":  # Node reads no OPENSSL_CONF: ecdh_curve and ciphers are in its spec
        conf_file = run / f"{endpoint.name}.cnf"
        conf_file.write_text(_openssl_conf(endpoint), encoding="utf-8")
    spec = {
        "name": endpoint.name,
        "kind": server.kind,
        "address": endpoint.address,
        "port": endpoint.port,
        "ready_file": str(ready_file),
        "min_version": server.min_version,
        "max_version": server.max_version,
        "ciphers": server.ciphers,
        "dh_params": str(dh_file) if dh_file else None,
        "client_ca": str(ca.cert_path) if server.client_auth == "required" else None,
        "certificates": [{"cert": c.cert_file, "key": c.key_file} for c in certs],
        "cipher_preference": server.cipher_preference,
        "reset_hello_sizes": server.reset_hello_sizes,
        "alpn": list(truth.http.alpn) if truth is not None and truth.http is not None else None,
        "http_headers": list(server.http_headers),
        "http_response": server.http_response,
        "ecdh_curve": server.ecdh_curve,
        "tls13_ciphersuites": list(server.tls13_ciphersuites) if server.tls13_ciphersuites is not None else None,
        "pq_fake": server.pq_fake,
    }
    spec_file.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return _Prepared(
        endpoint=endpoint,
        spec_file=spec_file,
        ready_file=ready_file,
        log_file=dirs["logs"] / f"{endpoint.name}.log",
        openssl_conf=conf_file,
        truth=truth,
    )


def _command(prepared: _Prepared) -> list[str]:
    """The server process of an endpoint: Python's lab server, the PQ fake, or Node (the lab extra's wheel)."""
    kind = prepared.endpoint.server.kind
    if kind == "node":
        binary = node_binary()
        if binary is None:
            raise LabError(f"lab endpoint {prepared.endpoint.name} needs Node.js >= 24.5 (OpenSSL 3.5): "
                           "pip install 'tlsprobe[lab]'")
        return [str(binary), str(node_script("node_server.js")), str(prepared.spec_file)]
    module = PQ_FAKE_MODULE if kind == "pq_fake" else SERVER_MODULE
    return [sys.executable, "-m", module, str(prepared.spec_file)]


def _measured(item: _Prepared) -> EndpointTruth | None:
    """The truth of a listening endpoint; a Node endpoint's groups and post-quantum block are measured by an
    OpenSSL 3.5 client (probe/lab/node_server.py), not derived from its configuration."""
    truth = item.truth
    if truth is None or item.endpoint.server.kind != "node" or not truth.tls_versions.get("TLSv1.3"):
        return truth
    port = int(json.loads(item.ready_file.read_text(encoding="utf-8"))["port"])
    try:
        classical, pq = measure_endpoint(item.endpoint.address, port, item.endpoint.host)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        raise LabError(f"lab endpoint {item.endpoint.name}: cannot measure its groups: {exc}") from exc
    return truth.model_copy(update={"key_exchange_groups": classical + pq.supported, "pq": pq})


def _spawn(prepared: _Prepared) -> subprocess.Popen[bytes]:
    env = child_env()
    if prepared.openssl_conf is not None:
        env["OPENSSL_CONF"] = str(prepared.openssl_conf)
    with prepared.log_file.open("wb") as log:
        return subprocess.Popen(
            _command(prepared),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(prepared.spec_file.parent),
            start_new_session=True,
        )


def _wait_ready(prepared: _Prepared, proc: subprocess.Popen[bytes], deadline: float) -> int:
    while time.monotonic() < deadline:
        if prepared.ready_file.exists():
            port = int(json.loads(prepared.ready_file.read_text(encoding="utf-8"))["port"])
            return port
        if proc.poll() is not None:
            tail = prepared.log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            raise LabError(f"lab endpoint {prepared.endpoint.name} exited: {' '.join(tail) or proc.returncode}")
        time.sleep(0.02)
    raise LabError(f"lab endpoint {prepared.endpoint.name} did not start listening in time")


def _refuse_if_running(state_dir: Path) -> None:
    if not state_file(state_dir).exists():
        return
    try:
        state = load_state(state_dir)
    except LabError:
        return  # a stale, unreadable state file: nothing of ours to protect
    live = [e.name for e in state.endpoints if _is_our_server(e.pid, e.spec_file)]
    if live:
        raise LabError(f"a lab is already running from {state_dir} ({', '.join(live)}): run `tlsprobe lab down`")


def start_endpoints(
    endpoints: Sequence[EndpointDef], ca: LabCA, dirs: Mapping[str, Path], *, timeout_s: float = 30.0
) -> tuple[EndpointState, ...]:
    """Issue each endpoint's certificates from `ca`, start its server and wait until each listens.

    `dirs` names the "certs", "run" and "logs" directories (they must exist). If one fails, every server
    started here is stopped before the error propagates.
    """
    keys = KeyCache()
    prepared = [_prepare(endpoint, ca, keys, dict(dirs)) for endpoint in endpoints]
    started: list[tuple[_Prepared, subprocess.Popen[bytes]]] = []
    try:
        for item in prepared:
            started.append((item, _spawn(item)))
        deadline = time.monotonic() + timeout_s
        return tuple(
            EndpointState(
                name=item.endpoint.name,
                host=item.endpoint.host,
                address=item.endpoint.address,
                port=_wait_ready(item, proc, deadline),
                kind=item.endpoint.server.kind,
                description=item.endpoint.description,
                pid=proc.pid,
                spec_file=str(item.spec_file),
                log_file=str(item.log_file),
                openssl_conf=str(item.openssl_conf) if item.openssl_conf else None,
                truth=_measured(item),  # after port=: the endpoint listens
                expect=item.endpoint.expect,
            )
            for item, proc in started
        )
    except BaseException:
        for item, proc in started:
            _kill_group(proc.pid, str(item.spec_file))
        raise


def stop_endpoints(endpoints: Iterable[EndpointState]) -> list[str]:
    """Stop the server process group of each endpoint; returns the names that were running."""
    endpoints = list(endpoints)
    running = [e.name for e in endpoints if _is_our_server(e.pid, e.spec_file)]
    for endpoint in endpoints:
        _kill_group(endpoint.pid, endpoint.spec_file)
    return running


def start_lab(state_dir: Path, names: list[str] | None = None, definition: Path = DEFAULT_DEFINITION) -> LabState:
    """Start the endpoints named (all by default), wait until each listens, write state.json/ca.pem/targets.csv."""
    state_dir = Path(state_dir).resolve()
    lab = load_definition(definition)
    selected = lab.select(names)
    _refuse_if_running(state_dir)
    dirs = {name: state_dir / name for name in ("certs", "run", "logs")}
    for sub in ("certs", "run"):
        shutil.rmtree(dirs[sub], ignore_errors=True)
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    state_file(state_dir).unlink(missing_ok=True)
    ca = make_ca(state_dir)
    client = issue_client_cert(ca, dirs["certs"])
    endpoints = start_endpoints(selected, ca, dirs)
    targets_csv = state_dir / "targets.csv"
    write_csv(targets_csv, ((e.host, e.port, e.address, e.name) for e in endpoints), ("host", "port", "ip", "name"))
    state = LabState(
        state_dir=str(state_dir),
        definition=str(Path(definition).resolve()),
        profile=lab.profile,
        started_at=dt.datetime.now(dt.UTC),
        ca_file=str(ca.cert_path),
        client_cert=str(client.cert_path),
        client_key=str(client.key_path),
        targets_csv=str(targets_csv),
        endpoints=endpoints,
    )
    state_file(state_dir).write_text(state.model_dump_json(indent=2), encoding="utf-8")
    return state


# --- stop / status ----------------------------------------------------------------------------------------


def stop_lab(state_dir: Path) -> list[str]:
    """Stop every endpoint process group of the lab in `state_dir`; returns the names that were running."""
    return stop_endpoints(load_state(Path(state_dir).resolve()).endpoints)


def lab_status(state_dir: Path) -> list[EndpointStatus]:
    """Per endpoint: up (process alive and port accepts), not listening, or down."""
    state = load_state(Path(state_dir).resolve())
    result: list[EndpointStatus] = []
    for e in state.endpoints:
        if not _is_our_server(e.pid, e.spec_file):
            status: Literal["up", "not listening", "down"] = "down"
        else:
            status = "up" if _listening(e.address, e.port) else "not listening"
        result.append(
            EndpointStatus(name=e.name, host=e.host, address=e.address, port=e.port, pid=e.pid, status=status)
        )
    return result


@contextlib.contextmanager
def running_lab(
    state_dir: Path, names: list[str] | None = None, definition: Path = DEFAULT_DEFINITION
) -> Iterator[LabState]:
    """Start the lab for the duration of a `with` block; always stops every process it started."""
    state = start_lab(state_dir, names, definition)
    try:
        yield state
    finally:
        stop_lab(state_dir)
