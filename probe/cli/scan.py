"""`tlsprobe scan`: scan listed endpoints, judge them against a profile, report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from probe.cli.common import LogFormat, LogFormatOpt, LogLevel, LogLevelOpt, fail_from, setup_logging
from probe.cli.history import (
    DEFAULT_DB,
    DEFAULT_LABEL,
    AlertFormatChoice,
    AlertFormatOpt,
    AlertOnChoice,
    AlertOnOpt,
    AlertWebhookOpt,
    BaselineOpt,
    DbOpt,
    DebounceOpt,
    LabelOpt,
    LockTimeoutOpt,
    MetricsFileOpt,
    alert_settings,
)
from probe.cli.runner import RunSettings, execute
from probe.errors import InputError, TlsProbeError
from probe.models import Severity, Waiver
from probe.policy import DEFAULT_PROFILE, Profile, load_profile, load_waivers
from probe.report.outputs import OutputFormat
from probe.resolve import DnsResolver, Overrides, Resolver, StaticResolver, SystemResolver
from probe.scan.engine import BackendFactory, Engine, Limits
from probe.scan.pipeline import policy_judge
from probe.scan.settings import ScanSettings
from probe.targets import TargetSpec, split_host_port

# The scanner back-ends are imported when the engine is built, so `tlsprobe --help` and the other commands,
# which register this module's options, do not load them (or sslyze, about a third of start-up).


class EngineName(StrEnum):
    FAST = "fast"  # suites and groups by elimination, certificates and vulnerabilities by sslyze
    SSLYZE = "sslyze"  # sslyze alone: one handshake per suite and per curve


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


def make_engine(options: ScanOptions, engine: EngineName = EngineName.FAST) -> Engine:
    """The async engine with the chosen scanner back-end (fast by default)."""
    backend: BackendFactory
    if engine == EngineName.FAST:
        from probe.scan.fast import FastScanner

        backend = lambda gate: FastScanner(gate, options.settings)  # noqa: E731
    else:
        from probe.scan.sslyze_adapter import SslyzeScanner

        backend = lambda gate: SslyzeScanner(gate, options.settings)  # noqa: E731
    return Engine(
        backend,
        options.resolver,
        limits=options.limits,
        overrides=options.overrides,
        all_ips=options.all_ips,
    )


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
AllowCidrOpt = Annotated[
    bool, typer.Option("--allow-cidr", help="Scan CIDR ranges in targets (each at most --max-targets addresses).")
]
MaxTargetsOpt = Annotated[
    int | None,
    typer.Option("--max-targets", min=1, help="Refuse a run of more targets, or a CIDR range of more addresses."),
]
DnsServerOpt = Annotated[
    str | None,
    typer.Option("--dns-server", help="Resolve names with this DNS server (IP[:PORT]), or 'static': never query DNS."),
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
    OutputFormat | None, typer.Option("--format", "-f", help="Output format (default: table on a terminal, else json).")
]
OutputOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--output", "-o", help="Write a report file (repeatable; .json .csv .md .txt .html .sarif .xml .parquet)."
    ),
]
ResumeOpt = Annotated[
    int | None, typer.Option("--resume", help="Finish interrupted sweep ID: scan only what is missing.")
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
    allow_cidr: AllowCidrOpt = False,
    max_targets: MaxTargetsOpt = None,
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
    engine: EngineOpt = EngineName.FAST,
    db: DbOpt = DEFAULT_DB,
    label: LabelOpt = DEFAULT_LABEL,
    lock_timeout: LockTimeoutOpt = 30.0,
    baseline: BaselineOpt = None,
    debounce: DebounceOpt = 2,
    alert_webhook: AlertWebhookOpt = None,
    alert_on: AlertOnOpt = AlertOnChoice.REGRESSION,
    alert_format: AlertFormatOpt = AlertFormatChoice.JSON,
    metrics_file: MetricsFileOpt = None,
    resume: ResumeOpt = None,
    log_level: LogLevelOpt = LogLevel.WARNING,
    log_format: LogFormatOpt = LogFormat.TEXT,
) -> None:
    """Scan TLS endpoints, judge them against a policy profile, store the sweep and report."""
    setup_logging(log_level, log_format)
    spec = TargetSpec(
        args=tuple(targets or ()),
        files=tuple(targets_file or ()),
        sni=sni,
        allow_cidr=allow_cidr,
        max_targets=max_targets,
    )
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
    settings = run_settings(
        db=db,
        label=label,
        lock_timeout=lock_timeout,
        baseline=baseline,
        fail_on=fail_on,
        fail_on_error=fail_on_error,
        alerts=alert_settings(alert_webhook, alert_on, alert_format),
        metrics_file=metrics_file,
        resume=resume,
        debounce=debounce,
        fmt=fmt,
        outputs=output,
    )
    code = execute(
        settings,
        engine=make_engine(options, engine),
        profile=options.profile,
        judge_one=policy_judge(options.profile, options.waivers, today=date.today()),
        targets=spec.targets(),
        total=total,
        resume_hint=resume_hint("scan"),
    )
    if code:
        raise typer.Exit(code)


def run_settings(*, outputs: list[Path] | None, **values: Any) -> RunSettings:
    """RunSettings from parsed options, with the command line recorded (secrets removed)."""
    return RunSettings(outputs=tuple(outputs or ()), argv=tuple(redacted_argv()), **values)


def redacted_argv() -> list[str]:
    """sys.argv with the webhook URL and anything after a secret-bearing flag hidden."""
    argv, hide = [], False
    for arg in sys.argv[1:]:
        if hide:
            argv.append("***")
            hide = False
        elif arg == "--alert-webhook":
            argv.append(arg)
            hide = True
        elif arg.startswith("--alert-webhook="):
            argv.append("--alert-webhook=***")
        else:
            argv.append(arg)
    return argv


def resume_hint(command_name: str) -> str:
    """The command line to finish an interrupted run (the same targets; the flags that matter)."""
    kept = [a for a in redacted_argv() if a != "***"]
    return " ".join(["tlsprobe", *kept] if kept and kept[0] == command_name else ["tlsprobe", command_name, "..."])


__all__ = ["ScanOptions", "build_options", "command", "make_engine", "redacted_argv", "run_settings"]
