"""`tlsprobe discover`: list TLS endpoints (and ACM/KMS posture) of a cloud estate or a targets file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from probe.app.discovery import ProviderName, aws_options, run_discovery
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


ProviderOpt = Annotated[ProviderName, typer.Option("--provider", help="Where to discover: aws, or a targets file.")]
RegionsOpt = Annotated[str | None, typer.Option("--regions", help="Comma-separated regions, or 'all' (enabled ones).")]
AwsProfileOpt = Annotated[str | None, typer.Option("--aws-profile", help="boto3 profile to use.")]
RoleArnOpt = Annotated[list[str] | None, typer.Option("--role-arn", help="Role to assume (repeatable).")]
ExternalIdOpt = Annotated[str | None, typer.Option("--external-id", help="External id for --role-arn / --org-role.")]
OrgRoleOpt = Annotated[str | None, typer.Option("--org-role", help="Role name to assume in each organisation account.")]
EndpointUrlOpt = Annotated[str | None, typer.Option("--endpoint-url", help="Send every AWS call here (an emulator).")]
ServicesOpt = Annotated[str | None, typer.Option("--services", help="Comma-separated AWS services (default: all).")]
MaxWorkersOpt = Annotated[int, typer.Option("--max-workers", help="AWS calls in flight at once.")]
TargetsOpt = Annotated[Path | None, typer.Option("--targets", "-t", help="Targets file or discovery JSON (file).")]
FormatOpt = Annotated[DiscoverFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]


def command(
    provider: ProviderOpt = ProviderName.AWS,
    regions: RegionsOpt = None,
    aws_profile: AwsProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    org_role: OrgRoleOpt = None,
    endpoint_url: EndpointUrlOpt = None,
    services: ServicesOpt = None,
    max_workers: MaxWorkersOpt = 32,
    targets: TargetsOpt = None,
    fmt: FormatOpt = DiscoverFormat.TABLE,
    output: OutputOpt = None,
    log_level: LogLevelOpt = LogLevel.WARNING,
    log_format: LogFormatOpt = LogFormat.TEXT,
) -> None:
    """Discover TLS endpoints, their declared policies and ACM/KMS posture (read-only calls only)."""
    from probe.discovery.render import render

    setup_logging(log_level, log_format)
    try:
        options = None
        if provider == ProviderName.AWS:
            options = aws_options(regions=regions, aws_profile=aws_profile, role_arn=role_arn,
                                  external_id=external_id, org_role=org_role, endpoint_url=endpoint_url,
                                  services=services, max_workers=max_workers)
        result = run_discovery(provider, options, targets)
        text = render(fmt.value, result)
    except TlsProbeError as exc:
        fail_from(exc)
    write_output(text, output)
    if output is not None or result.errors:
        stderr.print(f"{len(result.targets)} targets, {len(result.posture)} posture items, "
                     f"{len(result.errors)} discovery errors" + (f"; written to {output}" if output else ""),
                     markup=False)
