"""One options object for a scan: the CLI's long options, validated once, building every limit and setting.

`ScanOptions` carries the values as a user gives them (`--per-host 3` is `per_host=3`); `ScanOptions.plan()`
checks them and builds what the stages need: the engine's `Limits`, the back-ends' `ScanSettings`, the resolver,
the overrides, the profile and the waivers. `--per-host` and `--timeout` feed both the limits and the settings
from this one place, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from probe.cluster.spec import ClusterSpec, parse_cluster
from probe.errors import InputError
from probe.extras import require
from probe.models import Waiver
from probe.policy import DEFAULT_PROFILE, Profile, load_profile, load_waivers
from probe.resolve import DnsResolver, Overrides, Resolver, StaticResolver, SystemResolver
from probe.scan.engine import BackendFactory, Engine, Limits
from probe.scan.settings import ScanSettings
from probe.targets import TargetSpec, split_host_port


class EngineName(StrEnum):
    FAST = "fast"  # suites and groups by elimination, certificates and vulnerabilities by sslyze
    SSLYZE = "sslyze"  # sslyze alone: one handshake per suite and per curve


@dataclass(frozen=True)
class ScanOptions:
    """What `scan` and `sweep` share, named and defaulted as the CLI's long options."""

    resolve: tuple[str, ...] = ()
    connect_to: tuple[str, ...] = ()
    all_ips: bool = False
    dns_server: str | None = None
    ca_file: Path | None = None
    intermediates: Path | None = None  # certificates a server may leave out of its chain (PEM bundle)
    fetch_aia: bool = False  # fetch a missing issuer from its AIA CA Issuers URL (a request to a third party)
    policy: str | Path = DEFAULT_PROFILE
    waivers: Path | None = None
    concurrency: int = 10
    per_host: int = 5
    rate: float | None = None
    timeout: float = 5.0
    deadline: float = 120.0
    max_duration: float | None = None
    engine: EngineName = EngineName.FAST
    no_http: bool = False
    cluster: str | None = None  # None: this process scans; else local[:N], tcp://HOST:PORT or tls://HOST:PORT
    cluster_tls_ca: Path | None = None
    cluster_tls_cert: Path | None = None
    cluster_tls_key: Path | None = None
    chunk_size: int | None = None  # targets per chunk sent to a worker (None: 4 x concurrency)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> ScanOptions:
        """The options among `values` (other keys are left to the caller); sequences become tuples."""
        known = {f.name for f in fields(cls)}
        picked = {key: value for key, value in values.items() if key in known}
        for key in ("resolve", "connect_to"):
            if key in picked:
                picked[key] = tuple(picked[key] or ())
        for key in ("ca_file", "waivers", "cluster_tls_ca", "cluster_tls_cert", "cluster_tls_key"):
            if picked.get(key) is not None:
                picked[key] = Path(picked[key])
        if "engine" in picked:
            try:
                picked["engine"] = EngineName(picked["engine"])
            except ValueError:
                raise InputError(f"--engine must be one of {', '.join(EngineName)}, not {picked['engine']!r}") from None
        if picked.get("intermediates") is not None:
            picked["intermediates"] = Path(picked["intermediates"])
        return cls(**picked)

    def limits(self) -> Limits:
        return Limits(
            concurrency=self.concurrency,
            per_host=self.per_host,
            rate=self.rate,
            timeout=self.timeout,
            deadline=self.deadline,
            max_duration=self.max_duration,
        )

    def scan_settings(self) -> ScanSettings:
        aia = None
        if self.fetch_aia:  # one fetcher per run (it keeps each URL's answer), resolving as the run does
            from probe.scan.aia import AiaFetcher

            aia = AiaFetcher(parse_dns_server(self.dns_server), Overrides.parse(self.resolve, self.connect_to))
        return ScanSettings(timeout=self.timeout, per_host=self.per_host, ca_file=self.ca_file, http=not self.no_http,
                            intermediates=self.intermediates, aia=aia)

    def validate(self) -> None:
        """Raise InputError with a one-line reason for the first unusable value."""
        for name, value in (("--concurrency", self.concurrency), ("--per-host", self.per_host)):
            if value < 1:
                raise InputError(f"{name} must be at least 1")
        for name, number in (
            ("--timeout", self.timeout),
            ("--deadline", self.deadline),
            ("--rate", self.rate),
            ("--max-duration", self.max_duration),
        ):
            if number is not None and number <= 0:
                raise InputError(f"{name} must be positive")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise InputError(f"--ca-file {self.ca_file}: file not found")
        if self.intermediates is not None:
            from probe.scan.certs import load_bundle

            try:
                load_bundle(str(self.intermediates))
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no certificate in it"
                raise InputError(f"--intermediates {self.intermediates}: {reason}") from exc

    def plan(self) -> ScanPlan:
        """Validated options with the profile, waivers, resolver and overrides loaded; InputError otherwise."""
        self.validate()
        cluster = parse_cluster(self.cluster, tls_ca=self.cluster_tls_ca, tls_cert=self.cluster_tls_cert,
                                tls_key=self.cluster_tls_key, chunk_size=self.chunk_size)
        if cluster is not None:
            require("dask", "--cluster")  # a missing extra is refused before anything starts
        return ScanPlan(
            options=self,
            overrides=Overrides.parse(self.resolve, self.connect_to),
            resolver=parse_dns_server(self.dns_server),
            profile=load_profile(str(self.policy)),
            waivers=tuple(load_waivers(self.waivers)) if self.waivers else (),
            cluster=cluster,
        )


@dataclass(frozen=True)
class ScanPlan:
    """Options checked and loaded: what building an engine and judging its results need."""

    options: ScanOptions
    overrides: Overrides
    resolver: Resolver
    profile: Profile
    waivers: tuple[Waiver, ...]
    cluster: ClusterSpec | None = None  # None: this process scans (probe.cluster: Dask workers do)

    @property
    def limits(self) -> Limits:
        return self.options.limits()

    @property
    def settings(self) -> ScanSettings:
        return self.options.scan_settings()

    def engine(self) -> Engine:
        """The async engine with the chosen back-end (loaded now, not when the CLI registers its options)."""
        return build_engine(self.options, self.resolver, self.overrides)


def build_engine(options: ScanOptions, resolver: Resolver, overrides: Overrides | None = None) -> Engine:
    """The async engine of `options` with the chosen back-end (also what a cluster worker scans a chunk with)."""
    settings = options.scan_settings()
    backend: BackendFactory
    if options.engine == EngineName.FAST:
        from probe.scan.fast import FastScanner

        backend = lambda gate: FastScanner(gate, settings)  # noqa: E731
    else:
        from probe.scan.sslyze_adapter import SslyzeScanner

        backend = lambda gate: SslyzeScanner(gate, settings)  # noqa: E731
    if settings.http:
        from probe.scan.http import HttpLayer

        tls_backend = backend
        backend = lambda gate: HttpLayer(tls_backend(gate), gate, timeout=settings.timeout)  # noqa: E731
    return Engine(backend, resolver, limits=options.limits(), overrides=overrides, all_ips=options.all_ips)


def parse_dns_server(value: str | None) -> Resolver:
    """The system resolver, a DNS server at IP[:PORT], or `static`: only --resolve/--connect-to/ip columns."""
    if not value:
        return SystemResolver()
    if value == "static":
        return StaticResolver()
    try:
        host, port = split_host_port(value, default_port=53)
    except ValueError as exc:
        raise InputError(f"--dns-server {value!r}: {exc}") from exc
    return DnsResolver(host, port)


def target_spec(
    targets: tuple[str, ...] = (),
    targets_file: tuple[Path, ...] = (),
    *,
    sni: str | None = None,
    allow_cidr: bool = False,
    max_targets: int | None = None,
) -> TargetSpec:
    """The targets of a run: command-line strings and files, read lazily."""
    return TargetSpec(
        args=targets, files=targets_file, sni=sni, allow_cidr=allow_cidr, max_targets=max_targets
    )


__all__ = ["EngineName", "ScanOptions", "ScanPlan", "build_engine", "parse_dns_server", "target_spec"]
