"""The hostile lab (definitions/hostile.yaml): endpoints that misbehave on purpose, each with its expected outcome.

Started like the core lab: one process per endpoint (`probe.lab.hostile_server`, own process group), on its
own loopback address (IPv6 on ::1), certificates from a lab CA in the state directory. `running_hostile_lab`
starts them for a `with` block and always stops them; `targets_csv` lists what to scan.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from probe.errors import InputError
from probe.lab import hostile_certs
from probe.lab.certs import LabCA, make_ca
from probe.lab.paths import DEFAULT_HOSTILE_DEFINITION, child_env
from probe.models import ErrorKind
from probe.targets import write_csv

SERVER_MODULE = "probe.lab.hostile_server"
HostileKind = Literal[
    "tarpit", "slow_drip", "reset_after_hello", "garbage", "fatal_alert", "accept_close", "ssh_banner", "tls",
    "counter",
]
CertKind = Literal["plain", "hostile_strings", "huge_chain", "year_9999", "before_1970"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HostileExpect(_Strict):
    """The outcome of a scan: an error kind (and words its message holds), or ok with rules found/absent."""

    error: ErrorKind | None = None
    message_contains: tuple[str, ...] = ()
    rules: tuple[str, ...] = Field(default=(), description="rule ids that must be among the findings")
    absent_rules: tuple[str, ...] = Field(default=(), description="rule ids that must not be among the findings")
    with_sni: Literal["ok"] | None = Field(default=None, description="outcome when scanned with --sni <host>")


class HostileEndpointDef(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: HostileKind
    address: str = Field(pattern=r"^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$")
    host: str | None = Field(default=None, description="name to scan (SNI); None: scanned by address, no SNI")
    description: str = ""
    cert: CertKind = "plain"
    sni_required: bool = False
    sni_name: str | None = Field(default=None, description="the only SNI name a sni_required endpoint accepts")
    redirect_to: str | None = Field(default=None, description="name of a counter endpoint to 301 HTTP requests to")
    scan: bool = Field(default=True, description="False for helpers (counters) that are not targets")
    expect: HostileExpect = HostileExpect()


class HostileDefinition(_Strict):
    endpoints: tuple[HostileEndpointDef, ...]


@dataclass(frozen=True)
class HostileEndpoint:
    """A started endpoint: where it listens and what a scan of it must give."""

    definition: HostileEndpointDef
    port: int
    pid: int
    count_file: Path | None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def address(self) -> str:
        return self.definition.address

    @property
    def host(self) -> str:
        """The name scanned: the definition's host, else the address."""
        return self.definition.host or self.definition.address

    @property
    def key(self) -> str:
        """The endpoint key a scan reports (Target.key)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = f"@{self.address}" if self.host != self.address else ""
        return f"{host}:{self.port}{suffix}"

    def connections(self) -> int:
        """Connections a counter endpoint has accepted so far."""
        if self.count_file is None:
            raise ValueError(f"{self.name} is not a counter")
        return int(self.count_file.read_text(encoding="utf-8") or 0)


@dataclass(frozen=True)
class HostileLab:
    state_dir: Path
    ca_file: Path
    targets_csv: Path
    endpoints: tuple[HostileEndpoint, ...]

    def endpoint(self, name: str) -> HostileEndpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)

    def scanned(self) -> list[HostileEndpoint]:
        return [e for e in self.endpoints if e.definition.scan]


def load_hostile_definition(path: Path = DEFAULT_HOSTILE_DEFINITION) -> HostileDefinition:
    """Read and validate a hostile lab definition (default: definitions/hostile.yaml)."""
    try:
        return HostileDefinition.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise InputError(f"cannot read hostile lab definition {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise InputError(f"invalid hostile lab definition {path}: {str(exc).splitlines()[0]}") from exc


def _issue(ca: LabCA, endpoint: HostileEndpointDef, certs_dir: Path) -> list[dict[str, str]]:
    host = endpoint.host or endpoint.address
    prefix = certs_dir / endpoint.name
    sans = tuple(n for n in (host, endpoint.sni_name) if n)
    if endpoint.cert == "hostile_strings":
        cert, key = hostile_certs.issue_hostile_strings(host, prefix)
    elif endpoint.cert == "huge_chain":
        cert, key = hostile_certs.issue_huge_chain(ca, host, prefix)
    elif endpoint.cert == "year_9999":
        cert, key = hostile_certs.issue_plain(
            ca, host, prefix, sans=sans, not_after=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    elif endpoint.cert == "before_1970":
        cert, key = hostile_certs.issue_plain(
            ca, host, prefix, sans=sans, not_before=dt.datetime(1950, 1, 1, tzinfo=dt.UTC),
            not_after=dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    else:
        cert, key = hostile_certs.issue_plain(ca, host, prefix, sans=sans)
    return [{"cert": str(cert), "key": str(key)}]


def _kill(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                return
            time.sleep(0.02)


def _spawn(spec: dict[str, object], run_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    name = str(spec["name"])
    spec_file, ready = run_dir / f"{name}.json", Path(str(spec["ready_file"]))
    spec_file.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    env = child_env()
    with (run_dir / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, str(spec_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(run_dir),
            start_new_session=True,
        )
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if ready.exists():
            return proc, int(json.loads(ready.read_text(encoding="utf-8"))["port"])
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    _kill(proc.pid)
    raise InputError(f"hostile endpoint {name} did not start (see {run_dir / (name + '.log')})")


@contextlib.contextmanager
def running_hostile_lab(state_dir: Path, definition: Path = DEFAULT_HOSTILE_DEFINITION,
                        names: list[str] | None = None) -> Iterator[HostileLab]:
    """Start the hostile endpoints (all, or those named plus the counters they redirect to) for a `with`
    block; every process group started is stopped on exit."""
    lab = load_hostile_definition(definition)
    wanted = set(names) if names is not None else {e.name for e in lab.endpoints}
    wanted |= {e.redirect_to for e in lab.endpoints if e.name in wanted and e.redirect_to}
    selected = [e for e in lab.endpoints if e.name in wanted]
    state_dir = Path(state_dir).resolve()
    dirs = {sub: state_dir / sub for sub in ("certs", "run")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    ca = make_ca(state_dir)
    started: dict[str, HostileEndpoint] = {}
    try:
        for endpoint in sorted(selected, key=lambda e: e.redirect_to is not None):  # counters first
            spec: dict[str, object] = {
                "name": endpoint.name, "kind": endpoint.kind, "address": endpoint.address, "port": 0,
                "ready_file": str(dirs["run"] / f"{endpoint.name}.ready"),
            }
            count_file = None
            if endpoint.kind == "counter":
                count_file = dirs["run"] / f"{endpoint.name}.count"
                spec["count_file"] = str(count_file)
            if endpoint.kind == "tls":
                spec["certificates"] = _issue(ca, endpoint, dirs["certs"])
                spec["sni_required"] = endpoint.sni_required
                spec["sni_name"] = endpoint.sni_name or endpoint.host
                if endpoint.redirect_to:
                    other = started[endpoint.redirect_to]
                    host = f"[{other.address}]" if ":" in other.address else other.address
                    spec["redirect_to"] = f"https://{host}:{other.port}/"
            proc, port = _spawn(spec, dirs["run"])
            started[endpoint.name] = HostileEndpoint(endpoint, port, proc.pid, count_file)
        endpoints = tuple(started[e.name] for e in selected)
        targets_csv = state_dir / "targets.csv"
        write_csv(targets_csv, ((e.host, e.port, e.address) for e in endpoints if e.definition.scan))
        yield HostileLab(state_dir, ca.cert_path, targets_csv, endpoints)
    finally:
        for running in started.values():
            _kill(running.pid)
