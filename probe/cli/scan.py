"""`tlsprobe scan`: scan listed endpoints, judge them against a profile, report."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from probe.cli.common import (
    LogFormat,
    LogFormatOpt,
    LogLevel,
    LogLevelOpt,
    fail_from,
    setup_logging,
    stderr,
    write_output,
)
from probe.errors import InputError, TlsProbeError
from probe.models import EndpointResult, PolicyRef, Severity, Target, Waiver
from probe.policy import DEFAULT_PROFILE, Profile, exceeds, load_profile, load_waivers
from probe.report import Format, build_document, render
from probe.resolve import DnsResolver, Overrides, Resolver, SystemResolver
from probe.scan.engine import Engine, Limits
from probe.scan.pipeline import scan_and_judge
from probe.scan.sslyze_adapter import ScanSettings, SslyzeScanner
from probe.targets import TargetSpec, split_host_port


class EngineName(StrEnum):
    SSLYZE = "sslyze"


@dataclass(frozen=True)
class ScanOptions:
    """Everything `scan` and `sweep` share once parsed and validated."""

    limits: Limits
    overrides: Overrides
    resolver: Resolver
    settings: ScanSettings
    profile: Profile
    waivers: tuple[Waiver, ...]
    all_ips: bool


def parse_dns_server(value: str | None) -> Resolver:
    if not value:
        return SystemResolver()
    try:
        host, port = split_host_port(value, default_port=53)
    except ValueError as exc:
        raise InputError(f"--dns-server {value!r}: {exc}") from exc
    return DnsResolver(host, port)


def build_options(
    *,
    resolve: list[str],
    connect_to: list[str],
    dns_server: str | None,
    ca_file: Path | None,
    policy: str,
    waivers: Path | None,
    concurrency: int,
    per_host: int,
    rate: float | None,
    timeout: float,
    deadline: float,
    max_duration: float | None,
    all_ips: bool,
) -> ScanOptions:
    """Validate every flag; raise InputError with a one-line reason."""
    for name, value in (("--concurrency", concurrency), ("--per-host", per_host)):
        if value < 1:
            raise InputError(f"{name} must be at least 1")
    for name, number in (
        ("--timeout", timeout),
        ("--deadline", deadline),
        ("--rate", rate),
        ("--max-duration", max_duration),
    ):
        if number is not None and number <= 0:
            raise InputError(f"{name} must be positive")
    if ca_file is not None and not ca_file.is_file():
        raise InputError(f"--ca-file {ca_file}: file not found")
    return ScanOptions(
        limits=Limits(
            concurrency=concurrency,
            per_host=per_host,
            rate=rate,
            timeout=timeout,
            deadline=deadline,
            max_duration=max_duration,
        ),
        overrides=Overrides.parse(resolve, connect_to),
        resolver=parse_dns_server(dns_server),
        settings=ScanSettings(timeout=timeout, per_host=per_host, ca_file=ca_file),
        profile=load_profile(policy),
        waivers=tuple(load_waivers(waivers)) if waivers else (),
        all_ips=all_ips,
    )


def make_engine(options: ScanOptions) -> Engine:
    return Engine(
        lambda gate: SslyzeScanner(gate, options.settings),
        options.resolver,
        limits=options.limits,
        overrides=options.overrides,
        all_ips=options.all_ips,
    )


def collect(options: ScanOptions, targets: Iterable[Target], total: int | None) -> list[EndpointResult]:
    """Scan and judge every target, with a progress bar when stderr is a terminal."""
    engine = make_engine(options)
    today = date.today()
    results: list[EndpointResult] = []

    async def run() -> None:
        with Progress(
            TextColumn("[bold]scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=stderr,
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as progress:
            task = progress.add_task("", total=total)
            async for result in scan_and_judge(engine, targets, options.profile, options.waivers, today=today):
                results.append(result)
                progress.update(task, advance=1, description=result.observation.target.key[:40])

    asyncio.run(run())
    return results


def exit_code(results: list[EndpointResult], fail_on: Severity | None, fail_on_error: bool) -> int:
    """1 when findings reach `fail_on` or (with `fail_on_error`) an endpoint errored; else 0."""
    if fail_on is not None and exceeds(results, fail_on):
        return 1
    if fail_on_error and any(r.observation.status == "error" for r in results):
        return 1
    return 0


SUFFIX_FORMATS = {".json": Format.JSON, ".csv": Format.CSV, ".md": Format.MD, ".txt": Format.TABLE}


def output_format(path: Path, fmt: Format | None) -> Format:
    """The format of one output file: its suffix decides, then --format, then JSON."""
    return SUFFIX_FORMATS.get(path.suffix.lower()) or fmt or Format.JSON


def write_reports(document: dict[str, Any], fmt: Format | None, outputs: list[Path]) -> None:
    """Write every --output file, then the table to stdout; without --output, stdout gets the report."""
    for path in outputs:
        write_output(render(output_format(path, fmt), document, width=140), path)
    if outputs:
        summary = document["summary"]
        stderr.print(
            f"{summary['endpoints']} endpoints: {summary['ok']} ok, {summary['errors']} errors, "
            f"{summary['compliant']} compliant; wrote {', '.join(map(str, outputs))}",
            markup=False,
        )
        fmt = Format.TABLE
    elif fmt is None:
        fmt = Format.TABLE if sys.stdout.isatty() else Format.JSON
    write_output(render(fmt, document, width=stderr.width if sys.stdout.isatty() else 150), None)


TargetsArg = Annotated[list[str] | None, typer.Argument(help="host[:port] (default port 443); IPv6 as [addr]:port.")]
TargetsFileOpt = Annotated[
    list[Path] | None, typer.Option("--targets", "-t", help="Targets file: plain lines, CSV or YAML.")
]
SniOpt = Annotated[str | None, typer.Option("--sni", help="Server name to send (SNI) instead of the host name.")]
ResolveOpt = Annotated[
    list[str] | None, typer.Option("--resolve", help="HOST:PORT:ADDR, as curl: dial ADDR for HOST:PORT.")
]
ConnectToOpt = Annotated[list[str] | None, typer.Option("--connect-to", help="HOST:PORT:ADDR:PORT2, as curl.")]
AllIpsOpt = Annotated[bool, typer.Option("--all-ips", help="Scan every A/AAAA address of a name separately.")]
DnsServerOpt = Annotated[
    str | None, typer.Option("--dns-server", help="Resolve names with this DNS server (IP[:PORT]).")
]
CaFileOpt = Annotated[Path | None, typer.Option("--ca-file", help="Extra trusted CA certificates (PEM).")]
PolicyOpt = Annotated[
    str,
    typer.Option(
        "--policy", help="Bundled profile (op-pol-001, mozilla-intermediate, mozilla-modern) or a profile file."
    ),
]
WaiversOpt = Annotated[
    Path | None, typer.Option("--waivers", help="Waivers file (YAML/JSON: rule, endpoint, reason, expires).")
]
FormatOpt = Annotated[
    Format | None, typer.Option("--format", "-f", help="Output format (default: table on a terminal, else json).")
]
OutputOpt = Annotated[
    list[Path] | None,
    typer.Option("--output", "-o", help="Write a report file (repeatable; .json .csv .md .txt pick the format)."),
]
FailOnOpt = Annotated[
    Severity | None, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
]
FailOnErrorOpt = Annotated[bool, typer.Option("--fail-on-error", help="Errored endpoints also make the exit code 1.")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="Endpoints scanned at once.")]
PerHostOpt = Annotated[int, typer.Option("--per-host", help="Connections at once to one IP address.")]
RateOpt = Annotated[float | None, typer.Option("--rate", help="New TLS connections per second, whole run.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per connection.")]
DeadlineOpt = Annotated[float, typer.Option("--deadline", help="Seconds per endpoint.")]
MaxDurationOpt = Annotated[float | None, typer.Option("--max-duration", help="Seconds for the whole run.")]
EngineOpt = Annotated[EngineName, typer.Option("--engine", help="Scanner back-end.")]


def command(
    targets: TargetsArg = None,
    targets_file: TargetsFileOpt = None,
    sni: SniOpt = None,
    resolve: ResolveOpt = None,
    connect_to: ConnectToOpt = None,
    all_ips: AllIpsOpt = False,
    dns_server: DnsServerOpt = None,
    ca_file: CaFileOpt = None,
    policy: PolicyOpt = DEFAULT_PROFILE,
    waivers: WaiversOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    fail_on_error: FailOnErrorOpt = False,
    concurrency: ConcurrencyOpt = 10,
    per_host: PerHostOpt = 5,
    rate: RateOpt = None,
    timeout: TimeoutOpt = 5.0,
    deadline: DeadlineOpt = 120.0,
    max_duration: MaxDurationOpt = None,
    engine: EngineOpt = EngineName.SSLYZE,
    log_level: LogLevelOpt = LogLevel.WARNING,
    log_format: LogFormatOpt = LogFormat.TEXT,
) -> None:
    """Scan TLS endpoints and judge them against a policy profile."""
    setup_logging(log_level, log_format)
    spec = TargetSpec(args=tuple(targets or ()), files=tuple(targets_file or ()), sni=sni)
    try:
        options = build_options(
            resolve=resolve or [],
            connect_to=connect_to or [],
            dns_server=dns_server,
            ca_file=ca_file,
            policy=policy,
            waivers=waivers,
            concurrency=concurrency,
            per_host=per_host,
            rate=rate,
            timeout=timeout,
            deadline=deadline,
            max_duration=max_duration,
            all_ips=all_ips,
        )
        total = spec.validate()
    except TlsProbeError as exc:
        fail_from(exc)
    started = datetime.now(UTC)
    results = collect(options, spec.targets(), total)
    document = build_document(
        results,
        policy=PolicyRef(id=options.profile.id, profile=options.profile.slug),
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    write_reports(document, fmt, output or [])
    code = exit_code(results, fail_on, fail_on_error)
    if code:
        raise typer.Exit(code)


__all__ = ["ScanOptions", "build_options", "collect", "command", "exit_code", "make_engine"]
