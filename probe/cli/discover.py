"""`tlsprobe discover`: list TLS endpoints (and ACM/KMS posture) of a cloud estate or a targets file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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

if TYPE_CHECKING:
    from probe.discovery import AwsOptions, DiscoveryResult

# probe.discovery is imported where it is used: `tlsprobe` registers this module's command at start-up,
# and a scan should not pay for loading discovery's models and renderers.

__all__ = ["DiscoverFormat", "ProviderName", "aws_options", "command", "run_discovery"]


class ProviderName(StrEnum):
    AWS = "aws"
    FILE = "file"


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


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def aws_options(*, regions: str | None = None, aws_profile: str | None = None, role_arn: list[str] | None = None,
                external_id: str | None = None, org_role: str | None = None, endpoint_url: str | None = None,
                services: str | None = None, max_workers: int = 32) -> AwsOptions:
    """AwsOptions from the CLI flags (shared with `tlsprobe sweep`); InputError on bad values."""
    from probe.discovery import AwsOptions

    region_list = _split(regions)
    if "all" in region_list and len(region_list) > 1:
        raise InputError("--regions: 'all' cannot be combined with region names")
    if max_workers < 1:
        raise InputError("--max-workers must be at least 1")
    fields: dict[str, object] = {
        "profile": aws_profile, "role_arns": tuple(role_arn or ()), "external_id": external_id,
        "org_role": org_role, "regions": region_list, "endpoint_url": endpoint_url,
        "max_workers": min(max_workers, 256),
    }
    if services:
        fields["services"] = _split(services)
    return AwsOptions.model_validate(fields)


def run_discovery(provider: ProviderName, options: AwsOptions | None, targets: Path | None) -> DiscoveryResult:
    """Discovery for the CLI (shared with `tlsprobe sweep`); InputError when it cannot run."""
    from probe.discovery import StaticProvider, collect, discover
    from probe.discovery.render import DISCOVERY_SCHEMA, parse_document

    if provider == ProviderName.AWS:
        assert options is not None
        return discover(options)
    if targets is None:
        raise InputError("--provider file needs --targets FILE")
    if not targets.is_file():
        raise InputError(f"{targets}: targets file not found")
    if targets.suffix.lower() == ".json":
        text = targets.read_text(encoding="utf-8", errors="replace")
        if DISCOVERY_SCHEMA in text[:200]:
            return parse_document(text, str(targets))
    from probe.targets import TargetSpec

    spec = TargetSpec(files=(targets,))
    spec.validate()
    return collect(StaticProvider(spec.targets()))


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
    except ValueError as exc:  # pydantic validation of the options
        fail_from(InputError(str(exc).splitlines()[0]))
    write_output(text, output)
    if output is not None or result.errors:
        stderr.print(f"{len(result.targets)} targets, {len(result.posture)} posture items, "
                     f"{len(result.errors)} discovery errors" + (f"; written to {output}" if output else ""),
                     markup=False)
