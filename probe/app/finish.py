"""After a sweep's results are in: diff against a baseline, alert, write metrics, and the exit-code rule.

No printing and no exits: what the CLI would say goes into `RunOutcome.notes`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import Generic, TypeVar

from probe.alerts.base import AlertOn
from probe.diff import FlagLookup, SweepDiff, diff_sweeps, exceeds, profile_flags
from probe.errors import InputError, TlsProbeError
from probe.models import EndpointResult, Frozen, ResourceResult, Severity
from probe.store import Store

WEBHOOK_ENV = "TLSPROBE_WEBHOOK"
T = TypeVar("T")


class AlertFormat(StrEnum):
    JSON = "json"
    SLACK = "slack"


class AlertSettings(Frozen):
    """Where and when to alert (from --alert-webhook / TLSPROBE_WEBHOOK, --alert-on, --alert-format)."""

    webhook: str | None = None
    alert_on: AlertOn = "regression"
    format: AlertFormat = AlertFormat.JSON
    attempts: int = 3
    backoff_s: float = 0.5
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never show the URL
        return f"AlertSettings(webhook={'set' if self.webhook else None}, alert_on={self.alert_on!r})"

    __str__ = __repr__


def alert_settings(webhook: str | None, alert_on: str = "regression", alert_format: str = "json") -> AlertSettings:
    """Settings from the options, the URL falling back to $TLSPROBE_WEBHOOK; InputError on unknown choices."""
    if alert_on not in ("regression", "finding"):
        raise InputError(f"--alert-on must be regression or finding, not {alert_on!r}")
    try:
        fmt = AlertFormat(alert_format)
    except ValueError:
        raise InputError(f"--alert-format must be json or slack, not {alert_format!r}") from None
    url = webhook or os.environ.get(WEBHOOK_ENV) or None
    return AlertSettings(webhook=url, alert_on="finding" if alert_on == "finding" else "regression", format=fmt)


class RunOutcome(Frozen):
    """What the post-scan steps did: the exit code, the diff (None without a baseline), notes and problems."""

    exit_code: int
    diff: SweepDiff | None = None
    baseline: str | None = None
    alert_sent: bool = False
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class Reiterable(Generic[T]):
    """A stream that can be read again (each `iter` starts over) without being held: a stored sweep's results."""

    def __init__(self, make: Callable[[], Iterable[T]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[T]:
        return iter(self._make())


def exit_code_for(
    results: Iterable[EndpointResult | ResourceResult],
    diff: SweepDiff | None,
    *,
    fail_on: Severity | None,
    fail_on_error: bool = False,
    fail_on_findings: bool = True,
) -> int:
    """1 when a finding (or regression) is at or above `fail_on`, or an endpoint errored with `fail_on_error`."""
    code = 0
    if fail_on is not None:
        from probe.policy import exceeds as findings_exceed

        if (diff is not None and exceeds(diff, fail_on)) or (fail_on_findings and findings_exceed(results, fail_on)):
            code = 1
    if fail_on_error and any(isinstance(r, EndpointResult) and r.observation.status == "error" for r in results):
        code = 1
    return code


# ----------------------------------------------------------------------------------------------- baselines


def is_sweep_id(text: str) -> bool:
    return text.isdigit()


@dataclass(frozen=True)
class Side:
    """One side of a diff: a stored sweep or a JSON scan document."""

    results: list[EndpointResult]
    resources: list[ResourceResult]
    described: str


def load_side(store: Store | None, spec: str) -> Side:
    """A sweep ID from the store or a JSON scan document file: its endpoints, resources and a description."""
    if is_sweep_id(spec):
        if store is None:
            raise InputError(f"sweep {spec} needs --db")
        sweep_id = int(spec)
        return Side(list(store.results(sweep_id)), list(store.resources(sweep_id)), f"sweep {sweep_id}")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read baseline {spec}: {exc.strerror or exc}") from None
    from probe.report.document import read_document

    document = read_document(text)
    return Side(list(document.results), list(document.resources), str(path))


def flags_for(store: Store | None, sweep_id: int | None) -> FlagLookup | None:
    """The profile flags of a stored sweep's profile (None when it cannot be loaded)."""
    if store is None or sweep_id is None:
        return None
    from probe.policy import load_profile

    try:
        return profile_flags(load_profile(store.sweep(sweep_id).profile))
    except (TlsProbeError, OSError, ValueError):
        return None


def _last_success(store: Store, label: str, before_id: int) -> float | None:
    previous = store.previous_done(label, before_id)
    if previous is None:
        return None
    finished = store.sweep(previous).finished_at
    return finished.timestamp() if finished else None


def finish_run(
    store: Store | None,
    sweep_id: int | None,
    *,
    label: str,
    results: Sequence[EndpointResult] | None = None,
    resources: Sequence[ResourceResult] | None = None,
    baseline: str | None = None,
    fail_on: Severity | None = None,
    fail_on_findings: bool = True,
    fail_on_error: bool = False,
    debounce: int = 2,
    alerts: AlertSettings | None = None,
    metrics_file: Path | None = None,
    duration_s: float = 0.0,
    expiry_warning_days: int = 30,
    profile_slug: str | None = None,
) -> RunOutcome:
    """After a sweep is finished (stored, or held in memory when `store` is None): diff against `baseline`,
    alert, write metrics, and return the exit code (highest wins: 3 alert undelivered, 1 findings/regressions at
    or above `fail_on` or errored endpoints with `fail_on_error`, else 0). Store or input problems raise."""
    def recorded() -> Iterable[EndpointResult]:
        if results is not None:
            return results
        if store is not None and sweep_id is not None:
            return store.results(sweep_id)
        return ()

    # Read from the store as often as needed, never held: only a diff against a baseline takes them all at once.
    current: Iterable[EndpointResult] = Reiterable(recorded)
    if resources is not None:
        current_resources = list(resources)
    elif store is not None and sweep_id is not None:
        current_resources = list(store.resources(sweep_id))
    else:
        current_resources = []
    diff: SweepDiff | None = None
    described: str | None = None
    notes: list[str] = []
    problems: list[str] = []
    if baseline is not None:
        resolved: int | str | None
        if baseline == "previous":
            if store is None or sweep_id is None:
                raise InputError("--baseline previous needs --db")
            resolved = store.previous_done(label, sweep_id)
        else:
            resolved = int(baseline) if is_sweep_id(baseline) else baseline
        if resolved is None:
            notes.append(f"no earlier done sweep labelled {label!r}: nothing to compare with")
        else:
            side = load_side(store, str(resolved))
            described = side.described
            history = None
            if baseline == "previous" and store is not None and sweep_id is not None:
                history = store.error_streaks(label, sweep_id, depth=debounce)
            diff = diff_sweeps(side.results, list(current), debounce=debounce, error_history=history,
                               flags=flags_for(store, sweep_id), expiry_warning_days=expiry_warning_days,
                               old_resources=side.resources, new_resources=current_resources)
            worst = diff.worst()
            notes.append(f"{len(diff.regressions)} regressions since {described}"
                         + (f" (worst: {worst.value})" if worst else ""))
    everything: Iterable[EndpointResult | ResourceResult] = Reiterable(lambda: chain(current, current_resources))
    code = exit_code_for(everything, diff, fail_on=fail_on, fail_on_error=fail_on_error,
                         fail_on_findings=fail_on_findings)
    sent = False
    if alerts is not None and alerts.webhook:
        from probe.alerts.base import build_alert
        from probe.alerts.webhook import WebhookAlerter  # httpx only when alerting

        message = build_alert(diff, everything, alert_on=alerts.alert_on, sweep_id=sweep_id,
                              label=label)
        if message is not None:
            alerter = WebhookAlerter(alerts.webhook, format=alerts.format.value, attempts=alerts.attempts,
                                     backoff_s=alerts.backoff_s, timeout_s=alerts.timeout_s)
            try:
                alerter.send(message)
                sent = True
            except TlsProbeError as exc:
                stored = f"sweep {sweep_id} is stored" if sweep_id is not None else "results are kept"
                problems.append(str(exc))
                notes.append(f"error: {exc} ({stored})")
                code = max(code, exc.exit_code)
    if metrics_file is not None:
        from probe.metrics import RunInfo, write_metrics  # prometheus-client only when asked

        record = store.sweep(sweep_id) if store is not None and sweep_id is not None else None
        run = RunInfo(duration_s=duration_s, finished_at=time.time(),
                      succeeded=record.state == "done" if record else True,
                      last_success=_last_success(store, label, sweep_id) if store and sweep_id else None,
                      label=label, profile=record.profile if record else (profile_slug or ""))
        write_metrics(metrics_file, everything, run)
    return RunOutcome(exit_code=code, diff=diff, baseline=described, alert_sent=sent, problems=tuple(problems),
                      notes=tuple(notes))


__all__ = [
    "WEBHOOK_ENV",
    "AlertFormat",
    "AlertSettings",
    "Reiterable",
    "RunOutcome",
    "Side",
    "alert_settings",
    "exit_code_for",
    "finish_run",
    "flags_for",
    "is_sweep_id",
    "load_side",
]
