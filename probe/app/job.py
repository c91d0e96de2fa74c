"""The whole job of `scan` and `sweep`: scan streaming into the store, judge, finish, diff, alert, metrics.

Each endpoint's result is committed to the store as it completes, so a run stopped at any point keeps
everything it finished. Nothing here prints or exits: the CLI and the public API call `run_job` and
decide what to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from probe.app.finish import AlertSettings, RunOutcome, finish_run
from probe.app.options import ScanPlan
from probe.errors import TlsProbeError
from probe.models import DiscoveryError, EndpointResult, Observation, PolicyRef, ResourceResult, Severity, Target
from probe.store import Store

Judge = Callable[[Observation], EndpointResult]
# Where observations come from: `Engine.run` in this process, or `ClusterScanner.run` on a Dask cluster.
Source = Callable[[Iterable[Target], Callable[[Target], None] | None], AsyncIterator[Observation]]


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run for an observer: a target taken up, or an endpoint's result in."""

    kind: Literal["started", "finished"]
    target: Target
    done: int
    total: int | None
    result: EndpointResult | None = None


Observer = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class RunOptions:
    """History, alerting and exit-code settings of a run (`db=None`: nothing is stored)."""

    db: Path | None = None
    label: str = "default"
    lock_timeout: float = 30.0
    baseline: str | None = None
    fail_on: Severity | None = None
    fail_on_error: bool = False
    debounce: int = 2
    alerts: AlertSettings = field(default_factory=AlertSettings)
    metrics_file: Path | None = None
    resume: int | None = None
    argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class Work:
    """What a run scans and how it judges: the targets (lazy), their count if known, and what is already judged."""

    targets: Iterable[Target]
    judge: Judge
    total: int | None = None
    discovery_errors: Sequence[DiscoveryError] = ()
    resources: Sequence[ResourceResult] = ()  # judged without a scan (discovered keys, certificates...)


class Interrupted(TlsProbeError):
    """The run was stopped (a signal, or the caller's stop event); what was scanned is stored."""

    def __init__(self, reason: str, sweep_id: int | None, kept: int) -> None:
        super().__init__(f"{reason}: sweep {sweep_id} interrupted with {kept} endpoints stored")
        self.reason = reason
        self.sweep_id = sweep_id
        self.kept = kept


@dataclass
class JobResult:
    """A finished run: when it ran, its sweep id (None when nothing was stored) and the outcome. Its results are
    read back from the store as streams (`results()`, `resources()`; each call reads them again, none is held),
    or, for a run that stored nothing, from what it held."""

    policy: PolicyRef
    rules: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    discovery_errors: tuple[DiscoveryError, ...]
    sweep_id: int | None
    outcome: RunOutcome
    notes: list[str] = field(default_factory=list)
    db: Path | None = None
    held: list[EndpointResult] = field(default_factory=list)
    held_resources: list[ResourceResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def results(self) -> Iterator[EndpointResult]:
        """The run's endpoint results in recording order, streamed from the store."""
        if self.db is None or self.sweep_id is None:
            yield from self.held
            return
        with Store.open(self.db) as store:
            yield from store.results(self.sweep_id)

    def resources(self) -> Iterator[ResourceResult]:
        if self.db is None or self.sweep_id is None:
            yield from self.held_resources
            return
        with Store.open(self.db) as store:
            yield from store.resources(self.sweep_id)


def _endpoint_part(key: str) -> str:
    return key.split("@", 1)[0]


def _not_done(targets: Iterable[Target], done: set[str]) -> Iterator[Target]:
    for target in targets:
        if _endpoint_part(target.key) not in done:
            yield target


@contextlib.asynccontextmanager
async def scan_source(plan: ScanPlan) -> AsyncIterator[Source]:
    """Where a run's observations come from: this process's engine, or the plan's cluster (started or connected
    here, before anything is stored; ClusterError when it cannot be used)."""
    if plan.cluster is None:
        yield lambda targets, on_start: plan.engine().run(targets, on_start=on_start)
        return
    from probe.cluster.client import ClusterScanner, cluster_session  # Dask only with --cluster

    async with cluster_session(plan.cluster) as session:
        yield ClusterScanner(plan, session).run


async def judged_results(
    plan: ScanPlan, targets: Iterable[Target], judge: Judge, *, observer: Observer | None = None,
    total: int | None = None, source: Source | None = None,
) -> AsyncIterator[EndpointResult]:
    """Each endpoint's judged result as its scan completes (the stream the whole library builds on)."""
    if source is None:
        async with scan_source(plan) as opened:
            async for result in judged_results(plan, targets, judge, observer=observer, total=total, source=opened):
                yield result
        return
    done = 0

    def started(target: Target) -> None:
        if observer is not None:
            observer(ProgressEvent("started", target, done, total))

    async for observation in source(targets, started if observer else None):
        result = judge(observation)
        done += 1
        if observer is not None:
            observer(ProgressEvent("finished", observation.target, done, total, result))
        yield result


async def _consume(
    stream: AsyncIterator[EndpointResult], keep: Callable[[EndpointResult], None], stop: asyncio.Event | None
) -> bool:
    """Feed `keep` until the stream ends (True) or `stop` is set (False)."""

    async def drain() -> None:
        async for result in stream:
            keep(result)

    consumer = asyncio.ensure_future(drain())
    if stop is None:
        await consumer
        return True
    waiter = asyncio.ensure_future(stop.wait())
    waiting: set[asyncio.Future[Any]] = {consumer, waiter}
    finished, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if consumer in finished:
        consumer.result()
        return True
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer
    return False


async def run_job(
    plan: ScanPlan,
    work: Work,
    run: RunOptions,
    *,
    observer: Observer | None = None,
    stop: asyncio.Event | None = None,
    stop_reason: Callable[[], str] = lambda: "stopped",
) -> JobResult:
    """Scan, judge and store every target, then diff, alert and write metrics. Raises TlsProbeError (with
    `sweep_id` set when a sweep was begun) for what makes the run impossible, Interrupted when `stop` is set.
    With a cluster, it is started or connected to first: a cluster that cannot be used stores nothing."""
    async with scan_source(plan) as source:
        return await _run_job(plan, work, run, source, observer=observer, stop=stop, stop_reason=stop_reason)


async def _run_job(
    plan: ScanPlan,
    work: Work,
    run: RunOptions,
    source: Source,
    *,
    observer: Observer | None,
    stop: asyncio.Event | None,
    stop_reason: Callable[[], str],
) -> JobResult:
    started = datetime.now(UTC)
    clock = time.monotonic()
    profile = plan.profile
    store = Store.open(run.db, lock_timeout=run.lock_timeout) if run.db is not None else None
    held: list[EndpointResult] = []
    notes: list[str] = []
    with store if store is not None else contextlib.nullcontext():
        sweep_id: int | None = None
        targets = work.targets
        try:
            if store is not None:
                if run.resume is not None:
                    sweep_id = store.resume_sweep(run.resume).id
                    done = {_endpoint_part(k) for k in store.done_keys(sweep_id)}
                    targets = _not_done(targets, done)
                    notes.append(f"resuming sweep {sweep_id}: {len(done)} endpoints already done")
                else:
                    sweep_id = store.begin_sweep(run.label, profile.slug, work.total, run.argv)
                if work.discovery_errors:
                    store.record_discovery_errors(sweep_id, work.discovery_errors)
            keep: Callable[[EndpointResult], None] = held.append
            if store is not None and sweep_id is not None:
                keep = partial(store.record, sweep_id)
            if store is not None and sweep_id is not None and run.resume is None:
                for item in work.resources:
                    store.record_resource(sweep_id, item)
            stream = judged_results(plan, targets, work.judge, observer=observer, total=work.total, source=source)
            completed = await _consume(stream, keep, stop)
            if not completed:
                kept = len(held)
                if store is not None and sweep_id is not None:
                    store.finish_sweep(sweep_id, "interrupted")
                    kept = len(store.done_keys(sweep_id))
                raise Interrupted(stop_reason(), sweep_id, kept)
        except Interrupted:
            raise
        except TlsProbeError as exc:
            if store is not None and sweep_id is not None:
                with contextlib.suppress(TlsProbeError):
                    store.finish_sweep(sweep_id, "interrupted")
                exc.sweep_id = sweep_id
            raise
        if store is not None and sweep_id is not None:
            store.finish_sweep(sweep_id, "done")
            results: list[EndpointResult] | None = None  # finish_run reads them from the store, as it needs them
            resources: list[ResourceResult] | None = None
        else:
            results, resources = held, list(work.resources)
        outcome = finish_run(
            store,
            sweep_id,
            label=run.label,
            results=results,
            resources=resources,
            baseline=run.baseline,
            fail_on=run.fail_on,
            fail_on_error=run.fail_on_error,
            debounce=run.debounce,
            alerts=run.alerts,
            metrics_file=run.metrics_file,
            duration_s=time.monotonic() - clock,
            expiry_warning_days=profile.certificates.expiry_warning_days,
            profile_slug=profile.slug,
        )
    return JobResult(
        policy=profile.ref(),
        rules=tuple(profile.active_rules()),
        started_at=started,
        finished_at=datetime.now(UTC),
        discovery_errors=tuple(work.discovery_errors),
        sweep_id=sweep_id,
        outcome=outcome,
        notes=notes + list(outcome.notes),
        db=run.db if store is not None else None,
        held=held,
        held_resources=resources if resources is not None else [],
    )


__all__ = [
    "Interrupted",
    "JobResult",
    "Judge",
    "Observer",
    "ProgressEvent",
    "RunOptions",
    "Source",
    "Work",
    "judged_results",
    "run_job",
    "scan_source",
]
