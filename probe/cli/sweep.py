"""`tlsprobe sweep`: discover, scan, evaluate and report in one run."""

from __future__ import annotations

from typing import Annotated

import typer

from probe.app.discovery import discover_clouds, sweep_work
from probe.app.finish import alert_settings
from probe.app.options import EngineName, ScanOptions
from probe.cli.common import LogFormat, LogFormatOpt, LogLevel, LogLevelOpt, fail_from, setup_logging, stderr
from probe.cli.discover import (
    AwsProfileOpt,
    AzureEndpointOpt,
    AzureSubscriptionOpt,
    CloudCaFileOpt,
    EndpointUrlOpt,
    ExternalIdOpt,
    GcpEndpointOpt,
    GcpProjectOpt,
    MaxWorkersOpt,
    OrgRoleOpt,
    ProviderOpt,
    RegionsOpt,
    RoleArnOpt,
    ServicesOpt,
    TargetsOpt,
)
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
from probe.cli.scan import (
    AllIpsOpt,
    CaFileOpt,
    ChunkSizeOpt,
    ClusterOpt,
    ClusterTlsCaOpt,
    ClusterTlsCertOpt,
    ClusterTlsKeyOpt,
    ConcurrencyOpt,
    ConnectToOpt,
    DeadlineOpt,
    DnsServerOpt,
    EngineOpt,
    FailOnErrorOpt,
    FailOnOpt,
    FetchAiaOpt,
    FormatOpt,
    IntermediatesOpt,
    MaxDurationOpt,
    MaxRowsOpt,
    NoHttpOpt,
    OutputOpt,
    PerHostOpt,
    PolicyOpt,
    RateOpt,
    ResolveOpt,
    ResumeOpt,
    TimeoutOpt,
    WaiversOpt,
    resume_hint,
    run_options,
)
from probe.errors import TlsProbeError
from probe.policy import DEFAULT_PROFILE

ReplicaOpt = Annotated[
    bool, typer.Option("--require-kms-replica", help="KMS customer keys without a replica are findings.")
]
SensitiveTagOpt = Annotated[list[str] | None, typer.Option(
    "--sensitive-tag", metavar="KEY=VALUE", show_default=False,
    help="A tag that marks ePHI or sensitive data (repeatable): such resources need a customer-managed KMS key. "
         "Default: DataClassification=ePHI and DataClassification=sensitive.")]


def command(
    provider: ProviderOpt = None,
    regions: RegionsOpt = None,
    aws_profile: AwsProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    org_role: OrgRoleOpt = None,
    endpoint_url: EndpointUrlOpt = None,
    services: ServicesOpt = None,
    max_workers: MaxWorkersOpt = 32,
    azure_subscription: AzureSubscriptionOpt = None,
    azure_endpoint: AzureEndpointOpt = None,
    gcp_project: GcpProjectOpt = None,
    gcp_endpoint: GcpEndpointOpt = None,
    cloud_ca_file: CloudCaFileOpt = None,
    targets_file: TargetsOpt = None,
    require_kms_replica: ReplicaOpt = False,
    sensitive_tag: SensitiveTagOpt = None,
    resolve: ResolveOpt = None,
    connect_to: ConnectToOpt = None,
    all_ips: AllIpsOpt = False,
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
    """Discover endpoints (AWS, Azure, GCP or a file), scan them, judge declared and observed configuration, report."""
    setup_logging(log_level, log_format)
    try:
        plan = ScanOptions.from_values(locals()).plan()  # the scan options among the parameters
        sensitive = None
        if sensitive_tag:
            from probe.policy.aws_posture import parse_sensitive_tags

            sensitive = parse_sensitive_tags(sensitive_tag)
        run = run_options(
            db=db, label=label, lock_timeout=lock_timeout, baseline=baseline, fail_on=fail_on,
            fail_on_error=fail_on_error, alerts=alert_settings(alert_webhook, alert_on, alert_format),
            metrics_file=metrics_file, resume=resume, debounce=debounce,
        )  # fmt: skip
        found = discover_clouds(
            provider, targets=targets_file, regions=regions, aws_profile=aws_profile, role_arn=role_arn,
            external_id=external_id, org_role=org_role, endpoint_url=endpoint_url, services=services,
            max_workers=max_workers, azure_subscription=azure_subscription, azure_endpoint=azure_endpoint,
            gcp_project=gcp_project, gcp_endpoint=gcp_endpoint, cloud_ca_file=cloud_ca_file,
        )  # fmt: skip
    except TlsProbeError as exc:
        fail_from(exc)
    work = sweep_work(plan, found, require_kms_replica=require_kms_replica, sensitive_tags=sensitive)
    stderr.print(
        f"tlsprobe: discovered {len(found.targets)} endpoints, {len(work.resources)} resources, "
        f"{len(found.errors)} discovery errors",
        markup=False,
    )
    reports = ReportSettings(fmt, tuple(output or ()), max_rows or None)
    code = execute(plan, work, run, reports, resume_hint=resume_hint("sweep"))
    if code:
        raise typer.Exit(code)
