"""`tlsprobe scan`: scan listed endpoints, judge them against a profile, report."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from probe.app.finish import alert_settings
from probe.app.job import RunOptions, Work
from probe.app.options import EngineName, ScanOptions, target_spec
from probe.cli.common import LogFormat, LogFormatOpt, LogLevel, LogLevelOpt, fail_from, setup_logging
from probe.cli.history import (
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
)
from probe.cli.runner import ReportSettings, execute
from probe.errors import TlsProbeError
from probe.models import Severity
from probe.policy import DEFAULT_PROFILE
from probe.report.outputs import OutputFormat
from probe.scan.pipeline import policy_judge
from probe.store import default_db

# The scanner back-ends are imported when the engine is built, so `tlsprobe --help` and the other commands,
# which register this module's options, do not load them (or sslyze, about a third of start-up).


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
IntermediatesOpt = Annotated[
    Path | None,
    typer.Option("--intermediates", help="Intermediate CA certificates (PEM) that complete a chain a server sends "
                 "incomplete: a chain that validates only with one of them is cert.chain_incomplete."),
]
FetchAiaOpt = Annotated[
    bool,
    typer.Option("--fetch-aia", help="Fetch an issuer the server does not send from its AIA CA Issuers URL (plain "
                 "HTTP to a third party, through --resolve/--dns-server and the limits; off by default)."),
]
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
NoHttpOpt = Annotated[
    bool, typer.Option("--no-http", help="No GET / on HTTPS endpoints (no HSTS check), only the TLS scan.")
]
ClusterOpt = Annotated[
    str | None,
    typer.Option("--cluster", help="Scan on Dask: local[:N] (N worker processes here), tcp://HOST:PORT or "
                 "tls://HOST:PORT (a `dask scheduler`). Needs the dask extra."),
]
ClusterTlsCaOpt = Annotated[Path | None, typer.Option("--cluster-tls-ca", help="CA file of a tls:// Dask cluster.")]
ClusterTlsCertOpt = Annotated[
    Path | None, typer.Option("--cluster-tls-cert", help="Client certificate for a tls:// Dask cluster.")
]
ClusterTlsKeyOpt = Annotated[Path | None, typer.Option("--cluster-tls-key", help="Its private key (PEM).")]
ChunkSizeOpt = Annotated[
    int | None, typer.Option("--chunk-size", help="Targets per chunk sent to a worker (default 4 x --concurrency).")
]
MaxRowsOpt = Annotated[
    int,
    typer.Option("--max-rows", min=0, help="Detail rows of the table, Markdown and HTML reports (the summary counts "
                 "every endpoint; JSON, JSONL and CSV have them all); 0: no limit."),
]


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
    intermediates: IntermediatesOpt = None,
    fetch_aia: FetchAiaOpt = False,
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
    no_http: NoHttpOpt = False,
    cluster: ClusterOpt = None,
    cluster_tls_ca: ClusterTlsCaOpt = None,
    cluster_tls_cert: ClusterTlsCertOpt = None,
    cluster_tls_key: ClusterTlsKeyOpt = None,
    chunk_size: ChunkSizeOpt = None,
    max_rows: MaxRowsOpt = 1000,
    db: DbOpt = None,
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
    try:
        plan = ScanOptions.from_values(locals()).plan()  # the scan options among the parameters
        spec = target_spec(tuple(targets or ()), tuple(targets_file or ()), sni=sni, allow_cidr=allow_cidr,
                           max_targets=max_targets)
        total = spec.validate()
        run = run_options(
            db=db, label=label, lock_timeout=lock_timeout, baseline=baseline, fail_on=fail_on,
            fail_on_error=fail_on_error, alerts=alert_settings(alert_webhook, alert_on, alert_format),
            metrics_file=metrics_file, resume=resume, debounce=debounce,
        )  # fmt: skip
    except TlsProbeError as exc:
        fail_from(exc)
    work = Work(targets=spec.targets(), judge=policy_judge(plan.profile, plan.waivers, today=date.today()), total=total)
    reports = ReportSettings(fmt, tuple(output or ()), max_rows or None)
    code = execute(plan, work, run, reports, resume_hint=resume_hint("scan"))
    if code:
        raise typer.Exit(code)


def run_options(**values: Any) -> RunOptions:
    """RunOptions from parsed options, with the command line recorded (secrets removed)."""
    values["db"] = values.get("db") or default_db()
    return RunOptions(argv=tuple(redacted_argv()), **values)


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


__all__ = ["command", "redacted_argv", "resume_hint", "run_options"]
