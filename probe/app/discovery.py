"""Discovery for a run: AWS through boto3, or a targets file / discovery document (`--provider file`)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from probe.app.job import Work
from probe.app.options import ScanPlan
from probe.errors import InputError

if TYPE_CHECKING:
    from probe.discovery import AwsOptions, DiscoveryResult

# probe.discovery is imported where it is used: a scan should not pay for loading discovery.


class ProviderName(StrEnum):
    AWS = "aws"
    FILE = "file"


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def aws_options(*, regions: str | None = None, aws_profile: str | None = None, role_arn: list[str] | None = None,
                external_id: str | None = None, org_role: str | None = None, endpoint_url: str | None = None,
                services: str | None = None, max_workers: int = 32) -> AwsOptions:
    """AwsOptions from the CLI's values; InputError on bad values."""
    from pydantic import ValidationError

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
    try:
        return AwsOptions.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "options"
        raise InputError(f"invalid AWS discovery option {where}: {first['msg']}") from None


def run_discovery(provider: ProviderName | str, options: AwsOptions | None, targets: Path | None) -> DiscoveryResult:
    """Discovery to completion; InputError when it cannot run (errors met out there are in the result)."""
    from probe.discovery import StaticProvider, collect, discover
    from probe.discovery.render import DISCOVERY_SCHEMA, parse_document

    try:
        provider = ProviderName(provider)
    except ValueError:
        raise InputError(f"--provider must be one of {', '.join(ProviderName)}, not {provider!r}") from None
    if provider == ProviderName.AWS:
        return discover(options if options is not None else aws_options())
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


def sweep_work(plan: ScanPlan, found: DiscoveryResult, *, require_kms_replica: bool = False,
               today: date | None = None) -> Work:
    """What a sweep scans and judges: the discovered endpoints (observed, declared and drift findings) and the
    discovered resources, judged now (ACM certificates, KMS keys)."""
    from probe.policy.discovered import judge_discovered
    from probe.policy.resources import judge_resource

    day = today or date.today()
    resources = [
        judge_resource(item, plan.profile, plan.waivers, today=day, require_kms_replica=require_kms_replica)
        for item in found.posture
    ]
    judge = partial(judge_discovered, profile=plan.profile, waivers=plan.waivers, today=day, policies=found.policies)
    return Work(targets=iter(found.targets), judge=judge, total=len(found.targets), discovery_errors=found.errors,
                resources=resources)


__all__ = ["ProviderName", "aws_options", "run_discovery", "sweep_work"]
