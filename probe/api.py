"""The public Python API: `scan`, `scan_async`, `iter_scan`, `aiter_scan`, `discover`, `sweep`.

Options are keyword-only and named as the CLI's long options in snake_case (`--per-host` is `per_host`), with
the CLI's defaults, except `db`: None stores nothing. An unknown keyword raises TypeError; unusable input
raises `probe.errors.InputError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from probe.app.discovery import discover_clouds, sweep_work
from probe.app.finish import alert_settings, exit_code_for
from probe.app.job import JobResult, Observer, RunOptions, Work, judged_results, run_job
from probe.app.options import ScanOptions, ScanPlan, target_spec
from probe.diff import SweepDiff
from probe.document import EndpointReport, ScanDocument
from probe.errors import InputError
from probe.models import Severity, Target
from probe.report.document import endpoint_entry
from probe.scan.pipeline import policy_judge

if TYPE_CHECKING:
    from probe.discovery.models import DiscoveryResult

T = TypeVar("T")
PathLike = str | Path


class EngineKw(TypedDict, total=False):
    """How to reach, scan and judge endpoints: what `scan` and `sweep` share."""

    resolve: Iterable[str]
    connect_to: Iterable[str]
    all_ips: bool
    dns_server: str | None
    ca_file: PathLike | None
    intermediates: PathLike | None
    fetch_aia: bool
    policy: PathLike
    waivers: PathLike | None
    concurrency: int
    per_host: int
    rate: float | None
    timeout: float
    deadline: float
    max_duration: float | None
    engine: str
    no_http: bool
    cluster: str | None
    cluster_tls_ca: PathLike | None
    cluster_tls_cert: PathLike | None
    cluster_tls_key: PathLike | None
    chunk_size: int | None
    observer: Observer | None


class ScanOptionsKw(EngineKw, total=False):
    """What `iter_scan` and `aiter_scan` take: the targets and how to scan and judge them."""

    targets_file: PathLike | Iterable[PathLike] | None
    sni: str | None
    allow_cidr: bool
    max_targets: int | None


class RunOptionsKw(TypedDict, total=False):
    """History, alerting and exit-code options of `scan`, `scan_async` and `sweep`."""

    db: PathLike | None
    label: str
    lock_timeout: float
    baseline: str | None
    debounce: int
    fail_on: Severity | str | None
    fail_on_error: bool
    alert_webhook: str | None
    alert_on: str
    alert_format: str
    metrics_file: PathLike | None
    resume: int | None


class ScanKw(ScanOptionsKw, RunOptionsKw, total=False):
    """Every option of `scan` and `scan_async`."""


class DiscoverKw(TypedDict, total=False):
    """What `discover` takes (`tlsprobe discover`'s options)."""

    provider: str | Iterable[str]
    regions: str | None
    aws_profile: str | None
    role_arn: Iterable[str] | None
    external_id: str | None
    org_role: str | None
    endpoint_url: str | None
    services: str | None
    max_workers: int
    azure_subscription: Iterable[str] | None
    azure_endpoint: str | None
    gcp_project: Iterable[str] | None
    gcp_endpoint: str | None
    cloud_ca_file: PathLike | None
    targets_file: PathLike | None


class SweepKw(DiscoverKw, RunOptionsKw, EngineKw, total=False):
    """Every option of `sweep`: discovery, scanning (without the target list's) and the run's."""

    require_kms_replica: bool
    sensitive_tag: Iterable[str] | None


def _keys(allowed: type) -> frozenset[str]:
    keys: frozenset[str] = getattr(allowed, "__optional_keys__", frozenset())
    return keys


def _check(function: str, given: dict[str, Any], allowed: type) -> None:
    """TypeError for a keyword the function does not take, as Python says it."""
    known = _keys(allowed)
    for key in given:
        if key not in known:
            raise TypeError(f"{function}() got an unexpected keyword argument {key!r}")


def _paths(value: PathLike | Iterable[PathLike] | None) -> tuple[Path, ...]:
    if value is None:
        return ()
    if isinstance(value, str | Path):
        return (Path(value),)
    return tuple(Path(item) for item in value)


def _severity(value: Severity | str | None) -> Severity | None:
    if value is None or isinstance(value, Severity):
        return value
    try:
        return Severity(value)
    except ValueError:
        raise InputError(f"--fail-on must be one of {', '.join(Severity)}, not {value!r}") from None


def _targets(targets: Iterable[str | Target] | str | Target, options: dict[str, Any]) -> tuple[Iterable[Target], int]:
    """Strings as on the command line and Target values, with --targets files; validated, read lazily."""
    if isinstance(targets, str | Target):
        targets = [targets]
    strings: list[str] = []
    values: list[Target] = []
    for item in targets:
        if isinstance(item, Target):
            values.append(item)
        elif isinstance(item, str):
            strings.append(item)
        else:
            raise InputError(f"a target is a 'host[:port]' string or a Target, not {type(item).__name__}")
    spec = target_spec(
        tuple(strings),
        _paths(options.get("targets_file")),
        sni=options.get("sni"),
        allow_cidr=bool(options.get("allow_cidr", False)),
        max_targets=options.get("max_targets"),
    )
    counted = 0 if not (strings or spec.files) and values else spec.validate()
    if not (strings or spec.files):
        if not values:
            raise InputError("no targets given (pass host[:port] strings or targets_file=)")
        return iter(values), len(values)

    def chained() -> Iterator[Target]:
        yield from values
        yield from spec.targets()

    return chained(), counted + len(values)


def _plan(options: dict[str, Any]) -> ScanPlan:
    return ScanOptions.from_values(options).plan()


def _run_options(options: dict[str, Any]) -> RunOptions:
    db = options.get("db")
    metrics = options.get("metrics_file")
    defaults = RunOptions()
    return RunOptions(
        db=Path(db) if db is not None else None,
        label=options.get("label", defaults.label),
        lock_timeout=options.get("lock_timeout", defaults.lock_timeout),
        baseline=options.get("baseline"),
        fail_on=_severity(options.get("fail_on")),
        fail_on_error=bool(options.get("fail_on_error", False)),
        debounce=options.get("debounce", defaults.debounce),
        alerts=alert_settings(
            options.get("alert_webhook"), options.get("alert_on", "regression"), options.get("alert_format", "json")
        ),
        metrics_file=Path(metrics) if metrics is not None else None,
        resume=options.get("resume"),
    )


def _document(job: JobResult) -> ScanDocument:
    return ScanDocument.build(
        job.results(),
        resources=job.resources(),
        policy=job.policy,
        started_at=job.started_at,
        finished_at=job.finished_at,
        discovery_errors=job.discovery_errors,
    )


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, in a thread of its own when a loop already runs here."""

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=runner, name="tlsprobe-scan")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result


# ------------------------------------------------------------------------------------------------------ scan


@dataclass(frozen=True)
class _Prepared:
    plan: ScanPlan
    work: Work
    run: RunOptions
    observer: Observer | None


def _prepare_scan(function: str, targets: Iterable[str | Target] | str | Target, options: dict[str, Any],
                  allowed: type) -> _Prepared:
    _check(function, options, allowed)
    plan = _plan(options)
    stream, total = _targets(targets, options)
    judge = policy_judge(plan.profile, plan.waivers, today=date.today())
    run = _run_options(options) if allowed is ScanKw else RunOptions()
    return _Prepared(plan, Work(targets=stream, judge=judge, total=total), run, options.get("observer"))


async def scan_async(targets: Iterable[str | Target] | str | Target = (), **options: Unpack[ScanKw]) -> ScanDocument:
    """Scan the targets, judge them against the policy, store them when `db` is given; the scan document."""
    prepared = _prepare_scan("scan_async", targets, dict(options), ScanKw)
    job = await run_job(prepared.plan, prepared.work, prepared.run, observer=prepared.observer)
    return _document(job)


def scan(targets: Iterable[str | Target] | str | Target = (), **options: Unpack[ScanKw]) -> ScanDocument:
    """`scan_async` from sync code: the scan document of the targets."""
    prepared = _prepare_scan("scan", targets, dict(options), ScanKw)
    job = _run_sync(partial(run_job, prepared.plan, prepared.work, prepared.run, observer=prepared.observer))
    return _document(job)


async def _stream(prepared: _Prepared) -> AsyncIterator[EndpointReport]:
    async for result in judged_results(
        prepared.plan, prepared.work.targets, prepared.work.judge, observer=prepared.observer,
        total=prepared.work.total,
    ):
        yield EndpointReport.model_validate(endpoint_entry(result))


def aiter_scan(
    targets: Iterable[str | Target] | str | Target = (), **options: Unpack[ScanOptionsKw]
) -> AsyncIterator[EndpointReport]:
    """Each endpoint's judged entry as its scan completes, in constant memory (nothing is stored).

    Options are checked now: InputError and TypeError are raised by the call, not by the first step."""
    return _stream(_prepare_scan("aiter_scan", targets, dict(options), ScanOptionsKw))


_END = object()


def iter_scan(
    targets: Iterable[str | Target] | str | Target = (), **options: Unpack[ScanOptionsKw]
) -> Iterator[EndpointReport]:
    """`aiter_scan` from sync code: the scan runs on its own thread, a few results ahead of the caller."""
    prepared = _prepare_scan("iter_scan", targets, dict(options), ScanOptionsKw)
    return _pumped(prepared)


def _pumped(prepared: _Prepared) -> Iterator[EndpointReport]:
    handoff: queue.Queue[Any] = queue.Queue(maxsize=16)
    abandoned = threading.Event()

    def put(item: object) -> bool:
        while not abandoned.is_set():
            with contextlib.suppress(queue.Full):
                handoff.put(item, timeout=0.1)
                return True
        return False

    async def pump() -> None:
        async for entry in _stream(prepared):
            # a full queue waits here without blocking the loop (the gate's rate limiter runs on it)
            while not abandoned.is_set():
                try:
                    handoff.put_nowait(entry)
                    break
                except queue.Full:
                    await asyncio.sleep(0.01)
            if abandoned.is_set():
                return

    def run() -> None:
        try:
            asyncio.run(pump())
        except BaseException as exc:  # handed to the consumer
            put(exc)
            return
        put(_END)

    thread = threading.Thread(target=run, name="tlsprobe-iter-scan", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        abandoned.set()
        thread.join(timeout=5)


# -------------------------------------------------------------------------------------------- discover/sweep


def discover(**options: Unpack[DiscoverKw]) -> DiscoveryResult:
    """Discover the endpoints and key/certificate items of AWS, Azure and GCP estates (read-only calls; `provider`
    is one name or several, "all" for the three), or of a targets file."""
    _check("discover", dict(options), DiscoverKw)
    return _discover(dict(options))


def _discover(options: dict[str, Any]) -> DiscoveryResult:
    targets_file = options.get("targets_file")
    provider = options.get("provider", "aws")
    return discover_clouds(
        provider if isinstance(provider, str) else list(provider),
        targets=Path(targets_file) if targets_file is not None else None, regions=options.get("regions"),
        aws_profile=options.get("aws_profile"), role_arn=list(options.get("role_arn") or ()),
        external_id=options.get("external_id"), org_role=options.get("org_role"),
        endpoint_url=options.get("endpoint_url"), services=options.get("services"),
        max_workers=options.get("max_workers", 32), azure_subscription=list(options.get("azure_subscription") or ()),
        azure_endpoint=options.get("azure_endpoint"), gcp_project=list(options.get("gcp_project") or ()),
        gcp_endpoint=options.get("gcp_endpoint"), cloud_ca_file=options.get("cloud_ca_file"),
    )  # fmt: skip


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the document, its sweep id (None without `db`), the diff against the baseline (None
    without one), whether an alert was delivered, and what the CLI would have said."""

    document: ScanDocument
    sweep_id: int | None
    diff: SweepDiff | None
    alert_sent: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def exit_code(self, fail_on: Severity | str | None = None, *, fail_on_error: bool = False) -> int:
        """The CLI's exit code for this sweep: 3 alert undelivered, 1 findings or regressions at or above
        `fail_on` (or errored endpoints with `fail_on_error`), else 0."""
        results = self.document.results()
        resources = [entry.result() for entry in self.document.resources]
        code = exit_code_for([*results, *resources], self.diff, fail_on=_severity(fail_on), fail_on_error=fail_on_error)
        return max(code, 3 if self.problems else 0)


def sweep(**options: Unpack[SweepKw]) -> SweepResult:
    """Discover, scan, judge (observed and declared configuration, keys and certificates, the AWS estate's
    encryption posture with `sensitive_tag`: "KEY=VALUE" strings, by default DataClassification=ePHI and
    DataClassification=sensitive), store, diff and alert."""
    given: dict[str, Any] = dict(options)
    _check("sweep", given, SweepKw)
    plan = _plan(given)
    run = _run_options(given)
    from probe.policy.aws_posture import parse_sensitive_tags

    tags = given.get("sensitive_tag")
    sensitive = parse_sensitive_tags([tags] if isinstance(tags, str) else tags) if tags else None
    work = sweep_work(plan, _discover(given), require_kms_replica=bool(given.get("require_kms_replica")),
                      sensitive_tags=sensitive)
    observer = given.get("observer")
    job = _run_sync(partial(run_job, plan, work, run, observer=observer))
    return SweepResult(
        document=_document(job), sweep_id=job.sweep_id, diff=job.outcome.diff, alert_sent=job.outcome.alert_sent,
        problems=job.outcome.problems, notes=tuple(job.notes),
    )


def option_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """The keyword options a public function takes (for documentation and tests)."""
    kinds = {scan: ScanKw, scan_async: ScanKw, iter_scan: ScanOptionsKw, aiter_scan: ScanOptionsKw,
             discover: DiscoverKw, sweep: SweepKw}
    return tuple(sorted(_keys(kinds[function])))


__all__ = [
    "SweepResult",
    "aiter_scan",
    "discover",
    "iter_scan",
    "option_names",
    "scan",
    "scan_async",
    "sweep",
]
