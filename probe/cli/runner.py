"""One run of `scan` or `sweep`: scan streaming into the store, report, diff, alert, exit code.

Each endpoint's result is committed to the store as it completes, so a run killed at any point
keeps everything it finished; SIGTERM and SIGINT stop new scans, mark the sweep interrupted and
say how to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from probe.cli.common import fail_from, stderr, write_output
from probe.cli.history import AlertSettings, finish_run
from probe.errors import TlsProbeError
from probe.models import DiscoveryError, EndpointResult, Severity, Target
from probe.policy import Profile
from probe.report.outputs import OutputFormat, ReportContext, format_for, render_output
from probe.scan.engine import Engine
from probe.scan.pipeline import Judge, scan_and_judge
from probe.store import Store


@dataclass(frozen=True)
class RunSettings:
    """History, alerting and exit-code settings shared by `scan` and `sweep`."""

    db: Path
    label: str
    lock_timeout: float
    baseline: str | None
    fail_on: Severity | None
    fail_on_error: bool
    alerts: AlertSettings
    metrics_file: Path | None
    resume: int | None
    debounce: int
    fmt: OutputFormat | None
    outputs: tuple[Path, ...]
    argv: tuple[str, ...]


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived during the scan."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _endpoint_part(key: str) -> str:
    return key.split("@", 1)[0]


def _not_done(targets: Iterable[Target], done: set[str]) -> Iterator[Target]:
    for target in targets:
        if _endpoint_part(target.key) not in done:
            yield target


def _scan_into(
    store: Store,
    sweep_id: int,
    engine: Engine,
    targets: Iterable[Target],
    judge_one: Judge,
    total: int | None,
    extra: Sequence[EndpointResult],
) -> None:
    """Scan, judging and recording each endpoint as it completes; raise Interrupted on a signal."""
    for result in extra:
        store.record(sweep_id, result)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[int] = loop.create_future()

        def on_signal(signum: int) -> None:
            if not stop.done():
                stop.set_result(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)

        async def consume() -> None:
            with Progress(
                TextColumn("[bold]scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=stderr,
                transient=True,
                disable=not sys.stderr.isatty(),
            ) as progress:
                task = progress.add_task("", total=total)
                async for result in scan_and_judge(engine, targets, judge_one):
                    store.record(sweep_id, result)
                    progress.update(task, advance=1, description=result.observation.target.key[:40])

        consumer: asyncio.Future[None] = asyncio.ensure_future(consume())
        waiting: set[asyncio.Future[Any]] = {consumer, stop}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if consumer in done:
            consumer.result()
            return
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        raise Interrupted(stop.result())

    asyncio.run(run())


def execute(
    settings: RunSettings,
    *,
    engine: Engine,
    profile: Profile,
    judge_one: Judge,
    targets: Iterable[Target],
    total: int | None,
    resume_hint: str,
    discovery_errors: Sequence[DiscoveryError] = (),
    extra: Sequence[EndpointResult] = (),
) -> int:
    """Run the whole job and return its exit code (DESIGN.md: 2 input, 3 alert, 1 findings, 0)."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    try:
        store = Store.open(settings.db, lock_timeout=settings.lock_timeout)
    except TlsProbeError as exc:
        fail_from(exc)
    with store:
        sweep_id: int | None = None
        try:
            if settings.resume is not None:
                record = store.resume_sweep(settings.resume)
                sweep_id = record.id
                done = {_endpoint_part(k) for k in store.done_keys(sweep_id)}
                targets = _not_done(targets, done)
                stderr.print(f"tlsprobe: resuming sweep {sweep_id}: {len(done)} endpoints already done", markup=False)
            else:
                sweep_id = store.begin_sweep(settings.label, profile.slug, total, settings.argv)
            if discovery_errors:
                store.record_discovery_errors(sweep_id, discovery_errors)
            _scan_into(store, sweep_id, engine, targets, judge_one, total, extra)
        except Interrupted as stop:
            assert sweep_id is not None, "signals are handled only while scanning"
            store.finish_sweep(sweep_id, "interrupted")
            kept = len(store.done_keys(sweep_id))
            stderr.print(
                f"tlsprobe: {stop} received: sweep {sweep_id} interrupted with {kept} endpoints stored; "
                f"resume with: {resume_hint} --db {settings.db} --resume {sweep_id}",
                markup=False,
                soft_wrap=True,
            )
            store.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + stop.signum)  # worker threads may still be mid-handshake: don't wait for them
        except TlsProbeError as exc:
            if sweep_id is not None:  # stored endpoints stay; say how to finish the rest
                with contextlib.suppress(TlsProbeError):
                    store.finish_sweep(sweep_id, "interrupted")
                exc = type(exc)(f"{exc}; resume with: {resume_hint} --db {settings.db} --resume {sweep_id}")
            fail_from(exc)
        store.finish_sweep(sweep_id, "done")
        results = list(store.results(sweep_id))
        context = ReportContext(
            policy=profile.ref(),
            started_at=started,
            finished_at=datetime.now(UTC),
            discovery_errors=discovery_errors,
            rules=profile.active_rules(),
            title=f"tlsprobe: {settings.label}",
            subtitle=f"sweep {sweep_id} · {profile.id} ({profile.slug})",
        )
        _write_reports(settings, results, context)
        try:
            outcome = finish_run(
                store,
                sweep_id,
                label=settings.label,
                results=results,
                baseline=settings.baseline,
                fail_on=settings.fail_on,
                fail_on_error=settings.fail_on_error,
                debounce=settings.debounce,
                alerts=settings.alerts,
                metrics_file=settings.metrics_file,
                duration_s=time.monotonic() - clock,
                expiry_warning_days=profile.certificates.expiry_warning_days,
            )
        except TlsProbeError as exc:
            fail_from(exc)
    return outcome.exit_code


def _write_reports(settings: RunSettings, results: list[EndpointResult], context: ReportContext) -> None:
    """--output files by suffix; stdout gets the table after files, else --format (table on a terminal)."""
    for path in settings.outputs:
        write_output(render_output(format_for(path, settings.fmt), results, context), path)
    if settings.outputs:
        ok = sum(1 for r in results if r.observation.status == "ok")
        stderr.print(f"{len(results)} endpoints ({ok} ok); wrote {', '.join(map(str, settings.outputs))}", markup=False)
        fmt = OutputFormat.TABLE
    else:
        fmt = settings.fmt or (OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON)
    width = stderr.width if sys.stdout.isatty() else 150
    table_context = ReportContext(**{**context.__dict__, "width": width})
    write_output(render_output(fmt, results, table_context), None)
