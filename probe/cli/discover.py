"""`tlsprobe discover`: list TLS endpoints (and key and certificate posture) of cloud estates or a targets file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from probe.app.discovery import ProviderName, discover_clouds
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
from probe.errors import TlsProbeError

__all__ = ["DiscoverFormat", "command"]


class DiscoverFormat(StrEnum):
    JSON = "json"
    TABLE = "table"
    CSV = "csv"


ProviderOpt = Annotated[list[ProviderName] | None, typer.Option(
    "--provider", help="Where to discover: aws (default), azure, gcp, all, or file (a targets file). Repeatable.")]
RegionsOpt = Annotated[str | None, typer.Option("--regions", help="Comma-separated regions, or 'all' (enabled ones).")]
AwsProfileOpt = Annotated[str | None, typer.Option("--aws-profile", help="boto3 profile to use.")]
RoleArnOpt = Annotated[list[str] | None, typer.Option("--role-arn", help="Role to assume (repeatable).")]
ExternalIdOpt = Annotated[str | None, typer.Option("--external-id", help="External id for --role-arn / --org-role.")]
OrgRoleOpt = Annotated[str | None, typer.Option("--org-role", help="Role name to assume in each organisation account.")]
EndpointUrlOpt = Annotated[str | None, typer.Option("--endpoint-url", help="Send every AWS call here (an emulator).")]
ServicesOpt = Annotated[str | None, typer.Option("--services", help="Comma-separated AWS services (default: all).")]
MaxWorkersOpt = Annotated[int, typer.Option("--max-workers", help="Cloud API calls in flight at once, per provider.")]
AzureSubscriptionOpt = Annotated[list[str] | None, typer.Option(
    "--azure-subscription", help="Azure subscription id (repeatable; default: every one the credential sees).")]
AzureEndpointOpt = Annotated[str | None, typer.Option(
    "--azure-endpoint", help="Azure Resource Manager base URL (an emulator); the token comes from AZURE_ACCESS_TOKEN.")]
GcpProjectOpt = Annotated[list[str] | None, typer.Option(
    "--gcp-project", help="GCP project id (repeatable; default: every project the credentials see).")]
GcpEndpointOpt = Annotated[str | None, typer.Option(
    "--gcp-endpoint", help="Google Cloud API base URL (an emulator); GOOGLE_OAUTH_ACCESS_TOKEN or anonymous.")]
CloudCaFileOpt = Annotated[str | None, typer.Option(
    "--cloud-ca-file", help="PEM bundle to trust for --azure-endpoint / --gcp-endpoint.")]
TargetsOpt = Annotated[Path | None, typer.Option("--targets", "-t", help="Targets file or discovery JSON (file).")]
FormatOpt = Annotated[DiscoverFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]


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
    targets: TargetsOpt = None,
    fmt: FormatOpt = DiscoverFormat.TABLE,
    output: OutputOpt = None,
    log_level: LogLevelOpt = LogLevel.WARNING,
    log_format: LogFormatOpt = LogFormat.TEXT,
) -> None:
    """Discover TLS endpoints, their declared policies and key/certificate posture (read-only calls only)."""
    from probe.discovery.render import render

    setup_logging(log_level, log_format)
    try:
        result = discover_clouds(
            provider, targets=targets, regions=regions, aws_profile=aws_profile, role_arn=role_arn,
            external_id=external_id, org_role=org_role, endpoint_url=endpoint_url, services=services,
            max_workers=max_workers, azure_subscription=azure_subscription, azure_endpoint=azure_endpoint,
            gcp_project=gcp_project, gcp_endpoint=gcp_endpoint, cloud_ca_file=cloud_ca_file,
        )  # fmt: skip
        text = render(fmt.value, result)
    except TlsProbeError as exc:
        fail_from(exc)
    write_output(text, output)
    if output is not None or result.errors:
        stderr.print(f"{len(result.targets)} targets, {len(result.posture)} posture items, "
                     f"{len(result.errors)} discovery errors" + (f"; written to {output}" if output else ""),
                     markup=False)
