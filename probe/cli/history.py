"""`tlsprobe diff`, `report` and `prune` over the sweep store, and the history options `scan` and `sweep` share."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import Annotated

import typer

from probe.app.finish import WEBHOOK_ENV, flags_for, is_sweep_id, load_side
from probe.cli.common import fail, fail_from, stderr, write_output
from probe.diff import diff_sweeps, exceeds
from probe.errors import TlsProbeError
from probe.models import PolicyRef, Severity
from probe.report.outputs import (
    DiffFormat,
    OutputFormat,
    ReportContext,
    Result,
    render_chunks,
    render_diff,
    render_output,
)
from probe.report.streaming import DEFAULT_MAX_ROWS
from probe.store import DB_ENV, Store, default_db

DEFAULT_LABEL = "default"


class AlertOnChoice(StrEnum):
    REGRESSION = "regression"
    FINDING = "finding"


class AlertFormatChoice(StrEnum):
    JSON = "json"
    SLACK = "slack"


DbOpt = Annotated[Path | None, typer.Option(
    "--db", envvar=DB_ENV, show_default=False,
    help="Sweep history database (SQLite). Default: ~/.local/share/tlsprobe/history.db ($XDG_DATA_HOME).")]
LabelOpt = Annotated[str, typer.Option("--label", help="Sweep label; --baseline previous compares within it.")]
LockTimeoutOpt = Annotated[float, typer.Option("--lock-timeout", help="Seconds to wait for another run's lock.")]
BaselineOpt = Annotated[str | None, typer.Option(
    "--baseline", help="previous (last done sweep with the same label), a sweep ID, or a JSON scan document.")]
FailOnOpt = Annotated[Severity | None, typer.Option("--fail-on", help="Exit 1 on a regression at or above this.")]
DebounceOpt = Annotated[int, typer.Option("--debounce", min=1, help="Sweeps an endpoint must stay errored to count.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]
AlertWebhookOpt = Annotated[str | None, typer.Option(
    "--alert-webhook", help=f"Webhook URL for one alert per run (or ${WEBHOOK_ENV}); never printed.",
    show_default=False)]
AlertOnOpt = Annotated[AlertOnChoice, typer.Option("--alert-on", help="Alert on regressions, or also new findings.")]
AlertFormatOpt = Annotated[AlertFormatChoice, typer.Option("--alert-format", help="Webhook body: json or slack.")]
MetricsFileOpt = Annotated[Path | None, typer.Option("--metrics-file", help="Write Prometheus metrics here.")]


# ------------------------------------------------------------------------------------------------- commands


@contextlib.contextmanager
def _opened(db: Path | None, lock_timeout: float, *, must_exist: bool = True) -> Iterator[Store]:
    db = db or default_db()
    if must_exist and not db.exists():
        fail(f"no sweep database at {db} (run a scan with --db first)")
    try:
        with Store.open(db, lock_timeout=lock_timeout) as store:
            yield store
    except TlsProbeError as exc:
        fail_from(exc)


def diff_command(
    old: Annotated[str | None, typer.Argument(help="Old sweep ID or JSON scan document.")] = None,
    new: Annotated[str | None, typer.Argument(help="New sweep ID or JSON document (default: latest sweep).")] = None,
    db: DbOpt = None,
    baseline: BaselineOpt = None,
    label: Annotated[str | None, typer.Option("--label", help="Latest sweep of this label (default: any).")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="md or json.")] = DiffFormat.MD,
    fail_on: FailOnOpt = None,
    debounce: DebounceOpt = 2,
    output: OutputOpt = None,
    lock_timeout: LockTimeoutOpt = 30.0,
) -> None:
    """Regressions between two sweeps: `diff OLD NEW`, or `diff [NEW] --baseline previous|ID|FILE`."""
    db = db or default_db()
    if old is not None and new is None and baseline is not None:
        old, new = None, old
    if baseline is not None and old is not None:
        fail("give OLD NEW or --baseline, not both")
    if baseline is None and (old is None or new is None):
        fail("give OLD and NEW, or --baseline previous|ID|FILE")
    needs_db = any(side is not None and is_sweep_id(side) for side in (old, new, baseline)) or (
        new is None or baseline == "previous")
    try:
        store_context = _opened(db, lock_timeout) if needs_db else contextlib.nullcontext(None)
        with store_context as store:
            new_id: int | None = None
            if new is None:
                assert store is not None
                new_id = store.latest(label) or store.latest(label, state=None)
                if new_id is None:
                    fail(f"no sweep {'labelled ' + repr(label) + ' ' if label else ''}in {db}")
                new = str(new_id)
            elif is_sweep_id(new):
                new_id = int(new)
            new_side = load_side(store, new)
            if baseline is not None:
                if baseline == "previous":
                    assert store is not None and new_id is not None
                    label = store.sweep(new_id).label
                    resolved = store.previous_done(label, new_id)
                    if resolved is None:
                        fail(f"no done sweep labelled {label!r} before sweep {new_id}")
                    old = str(resolved)
                else:
                    old = baseline
            assert old is not None
            old_side = load_side(store, old)
            history = None
            if store is not None and new_id is not None and label is not None and baseline == "previous":
                history = store.error_streaks(label, new_id, depth=debounce)
            diff = diff_sweeps(old_side.results, new_side.results, debounce=debounce, error_history=history,
                               flags=flags_for(store, new_id), old_resources=old_side.resources,
                               new_resources=new_side.resources)
    except TlsProbeError as exc:
        fail_from(exc)
    write_output(render_diff(format, diff), output)
    if fail_on is not None and exceeds(diff, fail_on):
        raise typer.Exit(1)


def _policy_ref(profile_slug: str) -> tuple[PolicyRef, tuple[str, ...]]:
    """The stored profile as a PolicyRef and its active rules (none when the profile cannot be loaded)."""
    try:
        from probe.policy import load_profile

        profile = load_profile(profile_slug)
        return profile.ref(), profile.active_rules()
    except (TlsProbeError, OSError, ValueError):
        return PolicyRef(id=profile_slug.upper(), profile=profile_slug), ()


def render_report(store: Store, sweep_id: int, fmt: OutputFormat, *, width: int = 150) -> str | bytes:
    """One stored sweep, its endpoints and its resources, in `fmt` (text, or bytes for parquet); a table is
    `width` columns wide."""
    items: list[Result] = [*store.results(sweep_id), *store.resources(sweep_id)]
    return render_output(fmt, items, _report_context(store, sweep_id, width))


def report_pieces(store: Store, sweep_id: int, fmt: OutputFormat, *, width: int = 150,
                  max_rows: int | None = DEFAULT_MAX_ROWS) -> Iterator[str | bytes]:
    """`render_report` as pieces streamed from the store (JSON, JSONL, CSV in constant memory; the table,
    Markdown and HTML with at most `max_rows` detail rows): write them while the store is open."""
    items: Iterable[Result] = chain(store.results(sweep_id), store.resources(sweep_id))
    full = f"tlsprobe report --db {store.path} --sweep {sweep_id} --format jsonl"
    return render_chunks(fmt, items, _report_context(store, sweep_id, width), max_rows=max_rows, full=full)


def _report_context(store: Store, sweep_id: int, width: int) -> ReportContext:
    record = store.sweep(sweep_id)
    policy, rules = _policy_ref(record.profile)
    context = ReportContext(
        policy=policy,
        started_at=record.started_at,
        finished_at=record.finished_at or datetime.now(UTC),
        discovery_errors=store.discovery_errors(sweep_id),
        rules=rules,
        title=f"tlsprobe report: {record.label}",
        subtitle=f"sweep {record.id} · label {record.label} · {policy.id} ({policy.profile}) · {record.state}",
        width=width,
    )
    return context


def report_command(
    db: DbOpt = None,
    sweep: Annotated[int | None, typer.Option("--sweep", help="Sweep ID (default: the latest done sweep).")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.HTML,
    output: OutputOpt = None,
    label: Annotated[str | None, typer.Option("--label", help="Latest sweep of this label.")] = None,
    lock_timeout: LockTimeoutOpt = 30.0,
    max_rows: Annotated[int, typer.Option("--max-rows", min=0, help="Detail rows of the table, Markdown and HTML "
                                          "reports (0: no limit).")] = DEFAULT_MAX_ROWS,
    coverage: Annotated[bool, typer.Option(
        "--coverage", help="The resources by kind and the policy's coverage matrix, one row per clause: text, or "
        "--format md or json.")] = False,
) -> None:
    """A stored sweep, endpoints and resources, as SARIF, JUnit, HTML, Markdown, CSV, Parquet, JSON, JSON Lines
    or a table; or (--coverage) clause by clause, what it checked."""
    db = db or default_db()
    with _opened(db, lock_timeout) as store:
        try:
            sweep_id = sweep if sweep is not None else (store.latest(label) or store.latest(label, state=None))
            if sweep_id is None:
                fail(f"no sweeps in {db}")
            width = stderr.width if output is None and sys.stdout.isatty() else 150  # as scan's table
            if coverage:
                from probe.report.coverage import coverage_report

                style = format.value if format in (OutputFormat.MD, OutputFormat.JSON) else "text"
                context = _report_context(store, sweep_id, width)
                write_output(coverage_report(context.policy, store.results(sweep_id), store.resources(sweep_id),
                                             style, width=min(width, 150)), output)
                return
            pieces = report_pieces(store, sweep_id, format, width=width, max_rows=max_rows or None)
            write_output(pieces, output)  # streamed while the store is open
        except TlsProbeError as exc:
            fail_from(exc)


def prune_command(
    db: DbOpt = None,
    keep: Annotated[int | None, typer.Option("--keep", min=0, help="Keep the newest N sweeps.")] = None,
    older_than: Annotated[str | None, typer.Option(
        "--older-than", help="Delete sweeps started before this date (YYYY-MM-DD).")] = None,
    lock_timeout: LockTimeoutOpt = 30.0,
) -> None:
    """Delete old sweeps: keep the newest N, or those started on or after a date."""
    db = db or default_db()
    if (keep is None) == (older_than is None):
        fail("give exactly one of --keep N or --older-than DATE")
    cutoff: date | None = None
    if older_than is not None:
        try:
            cutoff = date.fromisoformat(older_than)
        except ValueError:
            fail(f"--older-than: not a date (YYYY-MM-DD): {older_than!r}")
    with _opened(db, lock_timeout) as store:
        try:
            removed = store.prune(keep=keep, older_than=cutoff)
        except TlsProbeError as exc:
            fail_from(exc)
    stderr.print(f"tlsprobe: pruned {removed} sweep{'' if removed == 1 else 's'} from {db}", markup=False)
