"""`tlsprobe diff`, `report` and `prune` over the sweep store, and `finish_run`: the post-scan steps that
`scan` and `sweep` share (baseline diff, webhook alert, metrics file, exit code)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from probe.alerts.base import AlertOn
from probe.cli.common import fail, fail_from, stderr, write_output
from probe.diff import (
    FlagLookup,
    SweepDiff,
    diff_sweeps,
    exceeds,
    profile_flags,
    render_diff_json,
    render_diff_markdown,
)
from probe.errors import InputError, TlsProbeError
from probe.models import EndpointResult, Frozen, PolicyRef, Severity
from probe.report.outputs import OutputFormat, ReportContext, render_output
from probe.store import Store

DEFAULT_DB = Path("reports/tlsprobe.db")
DEFAULT_LABEL = "default"
WEBHOOK_ENV = "TLSPROBE_WEBHOOK"


class DiffFormat(StrEnum):
    MD = "md"
    JSON = "json"


class AlertOnChoice(StrEnum):
    REGRESSION = "regression"
    FINDING = "finding"


class AlertFormatChoice(StrEnum):
    JSON = "json"
    SLACK = "slack"


DbOpt = Annotated[Path, typer.Option("--db", help="Sweep history database (SQLite).")]
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


class AlertSettings(Frozen):
    """Where and when to alert (from --alert-webhook / TLSPROBE_WEBHOOK, --alert-on, --alert-format)."""

    webhook: str | None = None
    alert_on: AlertOn = "regression"
    format: AlertFormatChoice = AlertFormatChoice.JSON
    attempts: int = 3
    backoff_s: float = 0.5
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never show the URL
        return f"AlertSettings(webhook={'set' if self.webhook else None}, alert_on={self.alert_on!r})"

    __str__ = __repr__


def alert_settings(webhook: str | None, alert_on: AlertOnChoice = AlertOnChoice.REGRESSION,
                   alert_format: AlertFormatChoice = AlertFormatChoice.JSON) -> AlertSettings:
    """Settings from the options, the URL falling back to $TLSPROBE_WEBHOOK."""
    url = webhook or os.environ.get(WEBHOOK_ENV) or None
    return AlertSettings(webhook=url, alert_on=alert_on.value, format=alert_format)


class RunOutcome(Frozen):
    """What `finish_run` did: the exit code, the diff (None without a baseline) and problems met."""

    exit_code: int
    diff: SweepDiff | None = None
    baseline: str | None = None
    alert_sent: bool = False
    problems: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------- baselines


def _is_sweep_id(text: str) -> bool:
    return text.isdigit()


def load_side(store: Store | None, spec: str) -> tuple[list[EndpointResult], str]:
    """A sweep ID from the store or a JSON scan document file: its results and a description."""
    if _is_sweep_id(spec):
        if store is None:
            raise InputError(f"sweep {spec} needs --db")
        return list(store.results(int(spec))), f"sweep {int(spec)}"
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read baseline {spec}: {exc.strerror or exc}") from None
    from probe.report.document import read_document

    return list(read_document(text).results), str(path)


def resolve_baseline(store: Store, baseline: str, *, label: str, current_id: int) -> int | str | None:
    """The baseline to compare sweep `current_id` with: a sweep id, a file path, or None (no previous)."""
    if baseline == "previous":
        return store.previous_done(label, current_id)
    if _is_sweep_id(baseline):
        return int(baseline)
    return baseline


def _flags_for(store: Store | None, sweep_id: int | None) -> FlagLookup | None:
    """The profile flags of a stored sweep's profile (None when it cannot be loaded)."""
    if store is None or sweep_id is None:
        return None
    from probe.policy import load_profile

    try:
        return profile_flags(load_profile(store.sweep(sweep_id).profile))
    except (TlsProbeError, OSError, ValueError):
        return None


def _diff_against(store: Store, baseline: int | str, new_results: Sequence[EndpointResult], *, label: str,
                  new_id: int | None, debounce: int, expiry_warning_days: int,
                  previous: bool) -> tuple[SweepDiff, str]:
    old, described = load_side(store, str(baseline))
    history = store.error_streaks(label, new_id, depth=debounce) if previous and new_id is not None else None
    diff = diff_sweeps(old, new_results, debounce=debounce, error_history=history, flags=_flags_for(store, new_id),
                       expiry_warning_days=expiry_warning_days)
    return diff, described


# ------------------------------------------------------------------------------------------------ finish_run


def _last_success(store: Store, label: str, before_id: int) -> float | None:
    previous = store.previous_done(label, before_id)
    if previous is None:
        return None
    finished = store.sweep(previous).finished_at
    return finished.timestamp() if finished else None


def finish_run(
    store: Store,
    sweep_id: int,
    *,
    label: str,
    results: Sequence[EndpointResult] | None = None,
    baseline: str | None = None,
    fail_on: Severity | None = None,
    fail_on_findings: bool = True,
    fail_on_error: bool = False,
    debounce: int = 2,
    alerts: AlertSettings | None = None,
    metrics_file: Path | None = None,
    duration_s: float = 0.0,
    expiry_warning_days: int = 30,
    echo: Callable[[str], None] | None = None,
) -> RunOutcome:
    """After a sweep is stored (and finished): diff against `baseline`, alert, write metrics, and return
    the exit code (highest wins: 3 alert undelivered, 1 findings/regressions at or above `fail_on` or errored
    endpoints with `fail_on_error`, else 0). Store or input problems raise (exit 2). `echo` gets one-line
    notes for stderr (regression count, alert failure)."""
    say = echo or (lambda text: stderr.print(text, markup=False, soft_wrap=True))
    current = list(results) if results is not None else list(store.results(sweep_id))
    record = store.sweep(sweep_id)
    diff: SweepDiff | None = None
    described: str | None = None
    code = 0
    problems: list[str] = []
    if baseline is not None:
        resolved = resolve_baseline(store, baseline, label=label, current_id=sweep_id)
        if resolved is None:
            say(f"tlsprobe: no earlier done sweep labelled {label!r}: nothing to compare with")
        else:
            diff, described = _diff_against(store, resolved, current, label=label, new_id=sweep_id,
                                            debounce=debounce, expiry_warning_days=expiry_warning_days,
                                            previous=baseline == "previous")
            worst = diff.worst()
            say(f"tlsprobe: {len(diff.regressions)} regressions since {described}"
                + (f" (worst: {worst.value})" if worst else ""))
    if fail_on is not None:
        from probe.policy import exceeds as findings_exceed

        if (diff is not None and exceeds(diff, fail_on)) or (fail_on_findings and findings_exceed(current, fail_on)):
            code = 1
    if fail_on_error and any(r.observation.status == "error" for r in current):
        code = max(code, 1)
    sent = False
    if alerts is not None and alerts.webhook:
        from probe.alerts.base import build_alert
        from probe.alerts.webhook import WebhookAlerter  # httpx only when alerting

        message = build_alert(diff, current, alert_on=alerts.alert_on, sweep_id=sweep_id, label=label)
        if message is not None:
            alerter = WebhookAlerter(alerts.webhook, format=alerts.format.value, attempts=alerts.attempts,
                                     backoff_s=alerts.backoff_s, timeout_s=alerts.timeout_s)
            try:
                alerter.send(message)
                sent = True
            except TlsProbeError as exc:
                problems.append(str(exc))
                say(f"tlsprobe: error: {exc} (sweep {sweep_id} is stored)")
                code = max(code, exc.exit_code)
    if metrics_file is not None:
        from probe.metrics import RunInfo, write_metrics  # prometheus-client only when asked

        run = RunInfo(duration_s=duration_s, finished_at=time.time(), succeeded=record.state == "done",
                      last_success=_last_success(store, label, sweep_id), label=label, profile=record.profile)
        write_metrics(metrics_file, current, run)
    return RunOutcome(exit_code=code, diff=diff, baseline=described, alert_sent=sent, problems=tuple(problems))


# ------------------------------------------------------------------------------------------------- commands


@contextlib.contextmanager
def _opened(db: Path, lock_timeout: float, *, must_exist: bool = True) -> Iterator[Store]:
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
    db: DbOpt = DEFAULT_DB,
    baseline: BaselineOpt = None,
    label: Annotated[str | None, typer.Option("--label", help="Latest sweep of this label (default: any).")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="md or json.")] = DiffFormat.MD,
    fail_on: FailOnOpt = None,
    debounce: DebounceOpt = 2,
    output: OutputOpt = None,
    lock_timeout: LockTimeoutOpt = 30.0,
) -> None:
    """Regressions between two sweeps: `diff OLD NEW`, or `diff [NEW] --baseline previous|ID|FILE`."""
    if old is not None and new is None and baseline is not None:
        old, new = None, old
    if baseline is not None and old is not None:
        fail("give OLD NEW or --baseline, not both")
    if baseline is None and (old is None or new is None):
        fail("give OLD and NEW, or --baseline previous|ID|FILE")
    needs_db = any(side is not None and _is_sweep_id(side) for side in (old, new, baseline)) or (
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
            elif _is_sweep_id(new):
                new_id = int(new)
            new_results, _ = load_side(store, new)
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
            old_results, _ = load_side(store, old)
            history = None
            if store is not None and new_id is not None and label is not None and baseline == "previous":
                history = store.error_streaks(label, new_id, depth=debounce)
            diff = diff_sweeps(old_results, new_results, debounce=debounce, error_history=history,
                               flags=_flags_for(store, new_id))
    except TlsProbeError as exc:
        fail_from(exc)
    text = render_diff_json(diff) if format == DiffFormat.JSON else render_diff_markdown(diff)
    write_output(text, output)
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


def render_report(store: Store, sweep_id: int, fmt: OutputFormat) -> str | bytes:
    """One stored sweep in `fmt` (text, or bytes for parquet)."""
    record = store.sweep(sweep_id)
    results = list(store.results(sweep_id))
    policy, rules = _policy_ref(record.profile)
    context = ReportContext(
        policy=policy,
        started_at=record.started_at,
        finished_at=record.finished_at or datetime.now(UTC),
        discovery_errors=store.discovery_errors(sweep_id),
        rules=rules,
        title=f"tlsprobe report: {record.label}",
        subtitle=f"sweep {record.id} · label {record.label} · {policy.id} ({policy.profile}) · {record.state}",
    )
    return render_output(fmt, results, context)


def report_command(
    db: DbOpt = DEFAULT_DB,
    sweep: Annotated[int | None, typer.Option("--sweep", help="Sweep ID (default: the latest done sweep).")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.HTML,
    output: OutputOpt = None,
    label: Annotated[str | None, typer.Option("--label", help="Latest sweep of this label.")] = None,
    lock_timeout: LockTimeoutOpt = 30.0,
) -> None:
    """A stored sweep as SARIF, JUnit, HTML, Markdown, CSV, Parquet or JSON."""
    with _opened(db, lock_timeout) as store:
        try:
            sweep_id = sweep if sweep is not None else (store.latest(label) or store.latest(label, state=None))
            if sweep_id is None:
                fail(f"no sweeps in {db}")
            content = render_report(store, sweep_id, format)
        except TlsProbeError as exc:
            fail_from(exc)
    write_output(content, output)


def prune_command(
    db: DbOpt = DEFAULT_DB,
    keep: Annotated[int | None, typer.Option("--keep", min=0, help="Keep the newest N sweeps.")] = None,
    older_than: Annotated[str | None, typer.Option(
        "--older-than", help="Delete sweeps started before this date (YYYY-MM-DD).")] = None,
    lock_timeout: LockTimeoutOpt = 30.0,
) -> None:
    """Delete old sweeps: keep the newest N, or those started on or after a date."""
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
