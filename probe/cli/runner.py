"""The CLI side of a `scan` or `sweep` run: a progress bar, signals, the notes, the reports, the exit code.

The run itself is the application layer's (`probe.app.job.run_job`). Here SIGTERM and SIGINT stop new scans
(the sweep is marked interrupted and the command to resume is printed), and the reports are written.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from probe.app.finish import Reiterable
from probe.app.job import Interrupted, JobResult, ProgressEvent, RunOptions, Work, run_job
from probe.app.options import ScanPlan
from probe.cli.common import fail_from, stderr, write_output
from probe.errors import TlsProbeError
from probe.models import EndpointResult
from probe.report.outputs import (
    RENDERERS,
    OutputFormat,
    ReportContext,
    Result,
    check_available,
    format_for,
    render_chunks,
)
from probe.report.streaming import DEFAULT_MAX_ROWS, Tally


@dataclass(frozen=True)
class ReportSettings:
    """Where the reports go: --output files (format by suffix) and stdout's --format."""

    fmt: OutputFormat | None
    outputs: tuple[Path, ...]
    max_rows: int | None = DEFAULT_MAX_ROWS  # detail rows of the table, Markdown and HTML (None or 0: all)


class _ProgressBar:
    """The terminal's progress bar: one observer of the run."""

    def __init__(self, progress: Progress, total: int | None) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("", total=total)

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "finished":
            self.progress.update(self.task, advance=1, description=event.target.key[:40])


async def _run_with_signals(plan: ScanPlan, work: Work, run: RunOptions) -> JobResult:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
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
        return await run_job(
            plan,
            work,
            run,
            observer=_ProgressBar(progress, work.total),
            stop=stop,
            stop_reason=lambda: f"{signal.Signals(received[0]).name} received" if received else "stopped",
        )


def execute(plan: ScanPlan, work: Work, run: RunOptions, reports: ReportSettings, *, resume_hint: str) -> int:
    """Run the whole job, print its notes, write its reports; the exit code (2 input, 3 alert, 1 findings, 0)."""

    def say(text: str) -> None:
        stderr.print(f"tlsprobe: {text}", markup=False, soft_wrap=True)

    try:
        for fmt in {format_for(path, reports.fmt) for path in reports.outputs} | {reports.fmt}:
            if fmt is not None:
                check_available(fmt)  # a missing extra (Parquet) is refused before the scan, not after it
        job = asyncio.run(_run_with_signals(plan, work, run))
    except Interrupted as stop:
        say(f"{stop}; resume with: {resume_hint} --db {run.db} --resume {stop.sweep_id}")
        sys.stdout.flush()
        sys.stderr.flush()
        signum = signal.SIGTERM if "SIGTERM" in stop.reason else signal.SIGINT
        os._exit(128 + signum)  # worker threads may still be mid-handshake: don't wait for them
    except TlsProbeError as exc:
        if exc.sweep_id is not None:  # stored endpoints stay; say how to finish the rest
            exc = type(exc)(f"{exc}; resume with: {resume_hint} --db {run.db} --resume {exc.sweep_id}")
        fail_from(exc)
    for note in job.notes:
        say(note)
    subtitle = f"sweep {job.sweep_id} · " if job.sweep_id is not None else ""
    context = ReportContext(
        policy=job.policy,
        started_at=job.started_at,
        finished_at=job.finished_at,
        discovery_errors=job.discovery_errors,
        resources=list(job.resources()),
        rules=job.rules,
        title=f"tlsprobe: {run.label}",
        subtitle=f"{subtitle}{job.policy.id} ({job.policy.profile})",
    )
    full = f"tlsprobe report --db {run.db} --sweep {job.sweep_id} --format jsonl" if job.sweep_id is not None else ""
    write_reports(reports, Reiterable(job.results), context, full=full)  # read from the store for each report
    return job.exit_code


def write_reports(reports: ReportSettings, results: Iterable[EndpointResult], context: ReportContext, *,
                  full: str = "") -> None:
    """--output files by suffix; stdout gets the table after files, else --format (table on a terminal). The
    context's resources are rendered with the endpoints, in every format.

    `results` is read once per report (a list, or a `Reiterable` over the store) and never held: JSON, JSONL and
    CSV are written as they stream; the table, Markdown and HTML show at most `reports.max_rows` results and say
    that the full list is in the first streamed --output file, else in `full`."""
    resources = list(context.resources)
    context = replace(context, resources=())
    streamed = [path for path in reports.outputs if RENDERERS[format_for(path, reports.fmt)].stream is not None]
    full = str(streamed[0]) if streamed else full
    tally = Tally()

    def items(count: bool = False) -> Iterator[Result]:
        everything: Iterable[Result] = chain(results, resources)
        for item in everything:
            if count:
                tally.add(item)
            yield item

    for index, path in enumerate(reports.outputs):
        pieces = render_chunks(format_for(path, reports.fmt), items(count=index == 0), context,
                               max_rows=reports.max_rows, full=full)
        write_output(pieces, path)
    if reports.outputs:
        more = f", {tally.resources} resources" if tally.resources else ""
        stderr.print(f"{tally.endpoints} endpoints ({tally.ok} ok){more}; wrote {', '.join(map(str, reports.outputs))}",
                     markup=False)
        fmt = OutputFormat.TABLE
    else:
        fmt = reports.fmt or (OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON)
    width = stderr.width if sys.stdout.isatty() else 150
    write_output(render_chunks(fmt, items(), replace(context, width=width), max_rows=reports.max_rows, full=full),
                 None)
