"""The hostile lab (definitions/hostile.yaml): endpoints that misbehave on purpose, each with its expected outcome.

Started like the core lab: one process per endpoint (`probe.lab.hostile_server`, own process group), on its
own loopback address (IPv6 on ::1), certificates from a lab CA in the state directory. `running_hostile_lab`
starts them for a `with` block and always stops them; `targets_csv` lists what to scan.

Endpoints with a deployment fault (a chain that fails for a known reason, a broken DH group, a certificate message
of several records) carry their ground truth from how they were built (`HostileTruth`: the chain as served, the CA
concerned, the AIA URL, the DH group's fingerprint and generator order) and the exact findings, trust verdict and
vulnerability answers a scan trusting the lab CA must give. Their DH groups are generated at lab start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from probe.errors import InputError
from probe.lab import hostile_certs
from probe.lab.certs import LabCA, make_ca
from probe.lab.definition import ExpectedFinding
from probe.lab.paths import DEFAULT_HOSTILE_DEFINITION, child_env
from probe.models import ErrorKind
from probe.scan.dh import fingerprint
from probe.targets import write_csv

SERVER_MODULE = "probe.lab.hostile_server"
HostileKind = Literal[
    "tarpit", "slow_drip", "reset_after_hello", "garbage", "fatal_alert", "accept_close", "ssh_banner", "tls",
    "counter", "aia",
]
CertKind = Literal[
    "plain", "hostile_strings", "huge_chain", "large_chain", "year_9999", "before_1970", "rsa", "thousand_sans",
    "self_signed", "unknown_root", "incomplete_chain", "wrong_order", "expired_intermediate", "no_basic_constraints",
]
_CHAIN_KINDS = ("self_signed", "unknown_root", "incomplete_chain", "wrong_order", "expired_intermediate",
                "no_basic_constraints")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrustExpect(_Strict):
    """The trust verdict of the endpoint's certificate."""

    verdict: Literal["trusted", "untrusted"]
    reason: str | None = None


class SuppliedExpect(_Strict):
    """The outcome when the intermediates the servers leave out are supplied (--intermediates or --fetch-aia)."""

    findings: tuple[ExpectedFinding, ...]
    trust: TrustExpect


class HostileExpect(_Strict):
    """The outcome of a scan: an error kind (and words its message holds), or ok with rules found/absent."""

    error: ErrorKind | None = None
    message_contains: tuple[str, ...] = ()
    rules: tuple[str, ...] = Field(default=(), description="rule ids that must be among the findings")
    absent_rules: tuple[str, ...] = Field(default=(), description="rule ids that must not be among the findings")
    with_sni: Literal["ok"] | None = Field(default=None, description="outcome when scanned with --sni <host>")
    findings: tuple[ExpectedFinding, ...] | None = Field(
        default=None, description="exactly these findings (rule, severity) of op-pol-001, trusting the lab CA")
    trust: TrustExpect | None = None
    supplied: SuppliedExpect | None = None
    vulnerabilities: dict[str, bool] | None = Field(default=None, description="these checks answer exactly so")


class TlsSettings(_Strict):
    """How a `tls` endpoint's server is configured beyond its certificate (default: TLS 1.2-1.3, ECDHE+AESGCM)."""

    min_version: Literal["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"] = "TLSv1.2"
    max_version: Literal["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"] = "TLSv1.3"
    ciphers: str = "ECDHE+AESGCM"
    tls13_ciphersuites: tuple[str, ...] | None = Field(default=None, description="None: OpenSSL's default three")
    dh: Literal["composite", "small_subgroup"] | None = Field(
        default=None, description="DH parameters for DHE suites, generated at lab start")


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
    aia_server: str | None = Field(default=None, description="name of the aia endpoint serving the intermediate "
                                   "this endpoint's server leaves out (its leaf's AIA CA Issuers URL)")
    tls: TlsSettings | None = None
    scan: bool = Field(default=True, description="False for helpers (counters) that are not targets")
    expect: HostileExpect = HostileExpect()


class HostileDefinition(_Strict):
    endpoints: tuple[HostileEndpointDef, ...]


@dataclass(frozen=True)
class HostileTruth:
    """What an endpoint serves, from how it was built (never from a scanner)."""

    served: tuple[str, ...] = ()  # subjects of the certificates the server sends, in its order
    ca: str | None = None  # the CA certificate the trust reason names
    aia_url: str | None = None  # the leaf's AIA CA Issuers URL
    missing: str | None = None  # subject of the intermediate the server leaves out
    san_count: int | None = None
    dh_prime_sha256: str | None = None
    dh_generator: str | None = None  # hexadecimal
    dh_prime: bool | None = None  # the modulus is prime
    dh_generator_order: int | None = None  # for a small-subgroup generator


@dataclass(frozen=True)
class HostileEndpoint:
    """A started endpoint: where it listens and what a scan of it must give."""

    definition: HostileEndpointDef
    port: int
    pid: int
    count_file: Path | None
    truth: HostileTruth = HostileTruth()

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
    intermediates_file: Path | None = None  # the intermediates the servers leave out (for --intermediates)

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


@dataclass
class _Material:
    """What one lab start generates once for the endpoints that need it."""

    rsa_key: rsa.RSAPrivateKey | None = None
    missing: list[bytes] = field(default_factory=list)  # PEM of the intermediates servers leave out

    def rsa(self) -> rsa.RSAPrivateKey:
        if self.rsa_key is None:
            self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        return self.rsa_key


def _issue(ca: LabCA, endpoint: HostileEndpointDef, certs_dir: Path, material: _Material,
           aia_url: str | None = None) -> tuple[list[dict[str, str]], HostileTruth]:
    host = endpoint.host or endpoint.address
    prefix = certs_dir / endpoint.name
    sans = tuple(n for n in (host, endpoint.sni_name) if n)
    truth = HostileTruth()
    if endpoint.cert in _CHAIN_KINDS:
        chain = hostile_certs.fault_chain(endpoint.cert, (ca.cert, ca.key), host, aia_url=aia_url)  # type: ignore[arg-type]
        cert, key = hostile_certs.write_chain(chain, prefix)
        if chain.missing is not None:
            material.missing.append(chain.missing.public_bytes(serialization.Encoding.PEM))
        truth = HostileTruth(served=tuple(c.subject.rfc4514_string() for c in chain.served), ca=chain.ca,
                             aia_url=chain.aia_url,
                             missing=chain.missing.subject.rfc4514_string() if chain.missing is not None else None)
    elif endpoint.cert == "hostile_strings":
        cert, key = hostile_certs.issue_hostile_strings(host, prefix)
    elif endpoint.cert == "huge_chain":
        cert, key = hostile_certs.issue_huge_chain(ca, host, prefix)
    elif endpoint.cert == "large_chain":  # below the 100 KiB a TLS client accepts, over several records
        cert, key = hostile_certs.issue_huge_chain(ca, host, prefix, total_bytes=90_000)
        pems = Path(cert).read_bytes().count(b"-----BEGIN CERTIFICATE-----")
        truth = HostileTruth(served=(f"CN={host}", *(f"CN=filler {i}.hostile.test" for i in range(pems - 1))))
    elif endpoint.cert == "year_9999":
        cert, key = hostile_certs.issue_plain(
            ca, host, prefix, sans=sans, not_after=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    elif endpoint.cert == "before_1970":
        cert, key = hostile_certs.issue_plain(
            ca, host, prefix, sans=sans, not_before=dt.datetime(1950, 1, 1, tzinfo=dt.UTC),
            not_after=dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    elif endpoint.cert == "thousand_sans":
        names = hostile_certs.thousand_sans(host)
        cert, key = hostile_certs.issue_plain(ca, host, prefix, sans=names, key=material.rsa())
        truth = HostileTruth(san_count=len(names))
    elif endpoint.cert == "rsa":
        cert, key = hostile_certs.issue_plain(ca, host, prefix, sans=sans, key=material.rsa())
    else:
        cert, key = hostile_certs.issue_plain(ca, host, prefix, sans=sans)
    return [{"cert": str(cert), "key": str(key)}], truth


def _dh(settings: TlsSettings, certs_dir: Path, name: str) -> tuple[Path | None, HostileTruth]:
    """The DH parameters file of a `tls.dh` setting (generated now) and their truth."""
    if settings.dh is None:
        return None, HostileTruth()
    if settings.dh == "composite":
        prime, generator = hostile_certs.composite_dh_group()
        order = None
    else:
        order = 65521
        prime, generator = hostile_certs.small_subgroup_dh_group(order=order)
    path = certs_dir / f"{name}-dh.pem"
    path.write_bytes(hostile_certs.dh_params_pem(prime, generator))
    return path, HostileTruth(dh_prime_sha256=fingerprint(prime), dh_generator=format(generator, "x"),
                              dh_prime=settings.dh != "composite", dh_generator_order=order)


def _openssl_conf(settings: TlsSettings, path: Path) -> Path:
    """A per-process OpenSSL configuration: the TLS 1.3 suites (the ssl module cannot set them) and no system
    defaults that would refuse TLS 1.0/1.1."""
    lines = ["openssl_conf = openssl_init", "[openssl_init]", "ssl_conf = ssl_sect", "[ssl_sect]",
             "system_default = system_default_sect", "[system_default_sect]"]
    if settings.tls13_ciphersuites is not None:
        lines.append("Ciphersuites = " + ":".join(settings.tls13_ciphersuites))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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


def _start(spec: dict[str, object], run_dir: Path, openssl_conf: Path | None = None) -> subprocess.Popen[bytes]:
    name = str(spec["name"])
    spec_file = run_dir / f"{name}.json"
    Path(str(spec["ready_file"])).unlink(missing_ok=True)  # a stale one from an earlier start would be believed
    spec_file.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    env = child_env()
    if openssl_conf is not None:
        env["OPENSSL_CONF"] = str(openssl_conf)
    with (run_dir / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, str(spec_file)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(run_dir),
            start_new_session=True,
        )


def _wait_ready(spec: dict[str, object], proc: subprocess.Popen[bytes], run_dir: Path, deadline: float) -> int:
    name, ready = str(spec["name"]), Path(str(spec["ready_file"]))
    while time.monotonic() < deadline:
        if ready.exists():
            return int(json.loads(ready.read_text(encoding="utf-8"))["port"])
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise InputError(f"hostile endpoint {name} did not start (see {run_dir / (name + '.log')})")


def _spec(endpoint: HostileEndpointDef, dirs: dict[str, Path]) -> dict[str, object]:
    spec: dict[str, object] = {
        "name": endpoint.name, "kind": endpoint.kind, "address": endpoint.address, "port": 0,
        "ready_file": str(dirs["run"] / f"{endpoint.name}.ready"),
    }
    if endpoint.kind in ("counter", "aia"):
        spec["count_file"] = str(dirs["run"] / f"{endpoint.name}.count")
    if endpoint.kind == "aia":
        spec["aia_dir"] = str(dirs["aia"])
    return spec


@contextlib.contextmanager
def running_hostile_lab(state_dir: Path, definition: Path = DEFAULT_HOSTILE_DEFINITION,
                        names: list[str] | None = None) -> Iterator[HostileLab]:
    """Start the hostile endpoints (all, or those named plus the counters and AIA servers they refer to) for a
    `with` block; every process group started is stopped on exit.

    The helpers (counters, AIA servers) start first, since other endpoints name their ports; the others start all
    at once. DH groups are generated in a thread meanwhile (the DH endpoints start last)."""
    lab = load_hostile_definition(definition)
    wanted = set(names) if names is not None else {e.name for e in lab.endpoints}
    wanted |= {e.redirect_to for e in lab.endpoints if e.name in wanted and e.redirect_to}
    wanted |= {e.aia_server for e in lab.endpoints if e.name in wanted and e.aia_server}
    selected = [e for e in lab.endpoints if e.name in wanted]
    state_dir = Path(state_dir).resolve()
    dirs = {sub: state_dir / sub for sub in ("certs", "run", "aia")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    ca = make_ca(state_dir)
    material = _Material()
    helpers = [e for e in selected if e.kind in ("counter", "aia")]
    others = sorted((e for e in selected if e not in helpers), key=lambda e: e.tls is not None and e.tls.dh is not None)
    procs: list[subprocess.Popen[bytes]] = []
    started: dict[str, HostileEndpoint] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hostile-dh") as pool:
        dh_groups = {e.name: pool.submit(_dh, e.tls, dirs["certs"], e.name)
                     for e in others if e.tls is not None and e.tls.dh is not None}
        try:
            deadline = time.monotonic() + 30.0
            for endpoint in helpers:
                spec = _spec(endpoint, dirs)
                procs.append(proc := _start(spec, dirs["run"]))
                count_file = Path(str(spec["count_file"]))
                started[endpoint.name] = HostileEndpoint(endpoint, _wait_ready(spec, proc, dirs["run"], deadline),
                                                         proc.pid, count_file)
            waiting: list[tuple[HostileEndpointDef, dict[str, object], subprocess.Popen[bytes], HostileTruth]] = []
            for endpoint in others:
                spec, truth, conf = _spec(endpoint, dirs), HostileTruth(), None
                if endpoint.kind == "tls":
                    truth, conf = _tls_spec(endpoint, spec, ca, dirs, material, started, dh_groups)
                procs.append(proc := _start(spec, dirs["run"], conf))
                waiting.append((endpoint, spec, proc, truth))
            deadline = time.monotonic() + 30.0
            for endpoint, spec, proc, truth in waiting:
                started[endpoint.name] = HostileEndpoint(endpoint, _wait_ready(spec, proc, dirs["run"], deadline),
                                                         proc.pid, None, truth)
            endpoints = tuple(started[e.name] for e in selected)
            targets_csv = state_dir / "targets.csv"
            write_csv(targets_csv, ((e.host, e.port, e.address) for e in endpoints if e.definition.scan))
            intermediates = None
            if material.missing:
                intermediates = state_dir / "intermediates.pem"
                intermediates.write_bytes(b"".join(material.missing))
            yield HostileLab(state_dir, ca.cert_path, targets_csv, endpoints, intermediates)
        finally:
            for proc in procs:
                _kill(proc.pid)


def _tls_spec(endpoint: HostileEndpointDef, spec: dict[str, object], ca: LabCA, dirs: dict[str, Path],
              material: _Material, started: dict[str, HostileEndpoint],
              dh_groups: dict[str, Future[tuple[Path | None, HostileTruth]]]) -> tuple[HostileTruth, Path | None]:
    """Certificates, server settings and ground truth of a `tls` endpoint (into `spec`); its OpenSSL config."""
    aia_url = None
    if endpoint.aia_server:
        server = started[endpoint.aia_server]
        aia_url = f"http://{server.host}:{server.port}/{endpoint.name}.der"
    spec["certificates"], truth = _issue(ca, endpoint, dirs["certs"], material, aia_url)
    if aia_url is not None and material.missing:
        missing = x509.load_pem_x509_certificate(material.missing[-1])
        (dirs["aia"] / f"{endpoint.name}.der").write_bytes(missing.public_bytes(serialization.Encoding.DER))
    spec["sni_required"] = endpoint.sni_required
    spec["sni_name"] = endpoint.sni_name or endpoint.host
    if endpoint.redirect_to:
        other = started[endpoint.redirect_to]
        host = f"[{other.address}]" if ":" in other.address else other.address
        spec["redirect_to"] = f"https://{host}:{other.port}/"
    if endpoint.tls is None:
        return truth, None
    dh_file = None
    if endpoint.name in dh_groups:
        dh_file, truth = dh_groups[endpoint.name].result()
    spec.update(min_version=endpoint.tls.min_version, max_version=endpoint.tls.max_version,
                ciphers=endpoint.tls.ciphers, dh_params=str(dh_file) if dh_file else None)
    return truth, _openssl_conf(endpoint.tls, dirs["run"] / f"{endpoint.name}.cnf")


def main(argv: list[str] | None = None) -> int:
    """`python -m probe.lab.hostile [--state-dir DIR] [--only a,b]`: start the hostile endpoints, say how to scan
    them, serve until interrupted (Ctrl-C or SIGTERM), then stop them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m probe.lab.hostile", description=main.__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path("reports/hostile"))
    parser.add_argument("--only", help="comma-separated endpoint names (default: all)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with running_hostile_lab(args.state_dir, names=names) as lab:
        for endpoint in lab.endpoints:
            print(f"{endpoint.name:30} {endpoint.host}:{endpoint.port}@{endpoint.address}"
                  + ("" if endpoint.definition.scan else "  (helper, not scanned)"))
        print(f"targets: {lab.targets_csv}\nlab CA: {lab.ca_file}")
        if lab.intermediates_file is not None:
            print(f"intermediates the servers leave out: {lab.intermediates_file}")
        aia = [e for e in lab.endpoints if e.definition.kind == "aia"]
        if aia:
            print(f"for --fetch-aia: --resolve {aia[0].host}:{aia[0].port}:{aia[0].address}")
        print("serving until interrupted", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
