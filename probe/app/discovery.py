"""Discovery for a run: AWS through boto3, Azure and GCP through their SDKs (extras), one or several at once, or a
targets file / discovery document (`--provider file`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from probe.app.job import Work
from probe.app.options import ScanPlan
from probe.errors import InputError
from probe.extras import require

if TYPE_CHECKING:
    from probe.discovery import AwsOptions, DiscoveryResult
    from probe.discovery.models import AzureOptions, GcpOptions

# probe.discovery is imported where it is used: a scan should not pay for loading discovery.


class ProviderName(StrEnum):
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"
    ALL = "all"  # aws, azure and gcp
    FILE = "file"


CLOUDS: tuple[ProviderName, ...] = (ProviderName.AWS, ProviderName.AZURE, ProviderName.GCP)


def provider_names(given: str | ProviderName | Sequence[str | ProviderName] | None) -> tuple[ProviderName, ...]:
    """The providers of a run, `all` expanded, duplicates dropped (`--provider` repeated); InputError otherwise."""
    items = [given] if isinstance(given, str) else list(given or [ProviderName.AWS])
    names: list[ProviderName] = []
    for item in items:
        try:
            name = ProviderName(item)
        except ValueError:
            raise InputError(f"--provider must be one of {', '.join(ProviderName)}, not {item!r}") from None
        names += CLOUDS if name == ProviderName.ALL else [name]
    unique = tuple(dict.fromkeys(names))
    if ProviderName.FILE in unique and len(unique) > 1:
        raise InputError("--provider file cannot be combined with a cloud provider")
    return unique


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


def _validated(model: type[Any], fields: dict[str, object], what: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "options"
        raise InputError(f"invalid {what} discovery option {where}: {first['msg']}") from None


def _ca_file(ca_file: str | Path | None) -> str | None:
    if ca_file is None:
        return None
    if not Path(ca_file).is_file():
        raise InputError(f"--cloud-ca-file {ca_file}: file not found")
    return str(ca_file)


def azure_options(*, subscriptions: Sequence[str] | None = None, endpoint: str | None = None,
                  ca_file: str | Path | None = None, max_workers: int = 16) -> AzureOptions:
    """AzureOptions from the CLI's values (--azure-subscription, --azure-endpoint, --cloud-ca-file)."""
    from probe.discovery.models import AzureOptions

    fields: dict[str, object] = {"subscriptions": tuple(subscriptions or ()), "endpoint": endpoint,
                                 "ca_file": _ca_file(ca_file), "max_workers": min(max(max_workers, 1), 256)}
    options: AzureOptions = _validated(AzureOptions, fields, "Azure")
    return options


def gcp_options(*, projects: Sequence[str] | None = None, endpoint: str | None = None,
                ca_file: str | Path | None = None, max_workers: int = 16) -> GcpOptions:
    """GcpOptions from the CLI's values (--gcp-project, --gcp-endpoint, --cloud-ca-file)."""
    from probe.discovery.models import GcpOptions

    fields: dict[str, object] = {"projects": tuple(projects or ()), "endpoint": endpoint,
                                 "ca_file": _ca_file(ca_file), "max_workers": min(max(max_workers, 1), 256)}
    options: GcpOptions = _validated(GcpOptions, fields, "GCP")
    return options


def _discover_azure(options: AzureOptions) -> DiscoveryResult:
    from probe.discovery import collect
    from probe.discovery.azure import AzureProvider  # the Azure SDK is loaded only when Azure is asked for

    return collect(AzureProvider(options))


def _discover_gcp(options: GcpOptions) -> DiscoveryResult:
    from probe.discovery import collect
    from probe.discovery.gcp import GcpProvider  # the Google Cloud SDK is loaded only when GCP is asked for

    return collect(GcpProvider(options))


def _cloud_discovery(name: ProviderName, aws: AwsOptions | None, azure: AzureOptions | None,
                     gcp: GcpOptions | None) -> Callable[[], DiscoveryResult]:
    """A function running one cloud's discovery; the extra is checked now (MissingExtra, exit 2)."""
    from probe.discovery import discover

    if name == ProviderName.AWS:
        return partial(discover, aws if aws is not None else aws_options())
    require(name.value, f"--provider {name.value}")
    if name == ProviderName.AZURE:
        return partial(_discover_azure, azure if azure is not None else azure_options())
    return partial(_discover_gcp, gcp if gcp is not None else gcp_options())


def run_discovery(provider: ProviderName | str | Sequence[ProviderName | str], options: AwsOptions | None,
                  targets: Path | None, *, azure: AzureOptions | None = None,
                  gcp: GcpOptions | None = None) -> DiscoveryResult:
    """Discovery to completion, several clouds side by side; InputError when one cannot run (no credentials, a
    missing extra): errors met out there are in the result."""
    from probe.discovery import StaticProvider, collect
    from probe.discovery.base import merge
    from probe.discovery.render import DISCOVERY_SCHEMA, parse_document

    names = provider_names(provider)
    if ProviderName.FILE not in names:
        runs = [_cloud_discovery(name, options, azure, gcp) for name in names]
        if len(runs) == 1:
            return runs[0]()
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="discovery") as pool:
            futures = [pool.submit(run) for run in runs]
            return merge([future.result() for future in futures])
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


def discover_clouds(
    provider: str | ProviderName | Sequence[str | ProviderName] | None = None, *, targets: Path | None = None,
    regions: str | None = None, aws_profile: str | None = None, role_arn: Sequence[str] | None = None,
    external_id: str | None = None, org_role: str | None = None, endpoint_url: str | None = None,
    services: str | None = None, max_workers: int = 32, azure_subscription: Sequence[str] | None = None,
    azure_endpoint: str | None = None, gcp_project: Sequence[str] | None = None, gcp_endpoint: str | None = None,
    cloud_ca_file: str | Path | None = None,
) -> DiscoveryResult:
    """`tlsprobe discover`'s and `sweep`'s discovery from their option values: each provider's options are built
    (and checked) only when it is asked for, then the providers run side by side."""
    names = provider_names(provider)
    aws = azure = gcp = None
    if ProviderName.AWS in names:
        aws = aws_options(regions=regions, aws_profile=aws_profile, role_arn=list(role_arn or ()),
                          external_id=external_id, org_role=org_role, endpoint_url=endpoint_url, services=services,
                          max_workers=max_workers)
    if ProviderName.AZURE in names:
        azure = azure_options(subscriptions=azure_subscription, endpoint=azure_endpoint, ca_file=cloud_ca_file,
                              max_workers=max_workers)
    if ProviderName.GCP in names:
        gcp = gcp_options(projects=gcp_project, endpoint=gcp_endpoint, ca_file=cloud_ca_file, max_workers=max_workers)
    return run_discovery(names, aws, targets, azure=azure, gcp=gcp)


def sweep_work(plan: ScanPlan, found: DiscoveryResult, *, require_kms_replica: bool = False,
               today: date | None = None, sensitive_tags: Sequence[tuple[str, str]] | None = None) -> Work:
    """What a sweep scans and judges: the discovered endpoints (observed, declared and drift findings) and the
    discovered resources, judged now (ACM certificates, KMS keys, Key Vault vaults and keys, Cloud KMS keys, Compute
    SSL certificates, and the AWS estate's storage, databases, secrets, parameters, vaults and trails, classified
    by `sensitive_tags`: None for the default, DataClassification=ePHI or =sensitive)."""
    from probe.policy.aws_posture import DEFAULT_SENSITIVE_TAGS, judge_estate
    from probe.policy.discovered import judge_discovered

    day = today or date.today()
    resources = judge_estate(found.posture, plan.profile, plan.waivers, today=day,
                             require_kms_replica=require_kms_replica, scopes=found.scopes,
                             sensitive_tags=DEFAULT_SENSITIVE_TAGS if sensitive_tags is None else sensitive_tags)
    judge = partial(judge_discovered, profile=plan.profile, waivers=plan.waivers, today=day, policies=found.policies)
    return Work(targets=iter(found.targets), judge=judge, total=len(found.targets), discovery_errors=found.errors,
                resources=resources)


__all__ = ["CLOUDS", "ProviderName", "aws_options", "azure_options", "discover_clouds", "gcp_options", "provider_names",
           "run_discovery", "sweep_work"]
