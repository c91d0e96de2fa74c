"""The alert interface and the message it carries (built from a diff and the new sweep's results)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from probe.diff import Regression, SweepDiff
from probe.models import EndpointResult, Frozen, ResourceResult, Severity

AlertOn = Literal["regression", "finding"]
_ALERT_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)


class AlertFinding(Frozen):
    """A new critical or high finding named in an alert; `endpoint` is an endpoint's key or a resource's id."""

    endpoint: str
    rule: str
    severity: Severity
    message: str


class AlertMessage(Frozen):
    """What one run tells the alert channel."""

    title: str
    sweep_id: int | None = None
    label: str | None = None
    endpoints: int = 0
    errors: int = 0
    resources: int = 0
    regressions: tuple[Regression, ...] = ()
    new_findings: tuple[AlertFinding, ...] = ()


class Alerter(Protocol):
    """Delivers an alert; raises probe.errors.AlertError when it cannot."""

    def send(self, message: AlertMessage) -> None: ...


def _new_high_findings(diff: SweepDiff | None,
                       results: Iterable[EndpointResult | ResourceResult]) -> list[AlertFinding]:
    """Unwaived critical/high findings new since the baseline (all of them without a baseline)."""
    if diff is None:
        fresh: set[tuple[str, str, str]] | None = None
    else:
        fresh = {(c.endpoint, f.rule, f.message) for c in diff.changes for f in (*c.new_findings, *c.raised_findings)}
        appeared = set(diff.appeared)
    found: list[AlertFinding] = []
    for result in results:
        key = result.resource.id if isinstance(result, ResourceResult) else result.observation.target.key
        for finding in result.findings:
            if finding.waived or finding.severity not in _ALERT_SEVERITIES:
                continue
            if fresh is None or key in appeared or (key, finding.rule, finding.message) in fresh:
                found.append(AlertFinding(endpoint=key, rule=finding.rule, severity=finding.severity,
                                          message=finding.message))
    found.sort(key=lambda f: (-f.severity.rank, f.endpoint, f.rule))
    return found


def build_alert(
    diff: SweepDiff | None,
    results: Iterable[EndpointResult | ResourceResult],
    *,
    alert_on: AlertOn = "regression",
    sweep_id: int | None = None,
    label: str | None = None,
) -> AlertMessage | None:
    """The run's alert, or None when there is nothing to say.

    alert_on="regression": sent when the diff has regressions; "finding": also when there are new
    critical/high unwaived findings (all current ones when there is no baseline). `results` may hold the
    sweep's resources (ACM certificates, KMS keys ...) besides its endpoints: their new findings are named by
    the resource's id.
    """
    materialised = list(results)
    regressions = diff.regressions if diff is not None else ()
    new_findings = tuple(_new_high_findings(diff, materialised))
    if not regressions and not (alert_on == "finding" and new_findings):
        return None
    endpoints = [r for r in materialised if isinstance(r, EndpointResult)]
    errors = sum(1 for r in endpoints if r.observation.status == "error")
    parts = []
    if regressions:
        parts.append(f"{len(regressions)} regression" + ("" if len(regressions) == 1 else "s"))
    if new_findings:
        parts.append(f"{len(new_findings)} new critical/high finding" + ("" if len(new_findings) == 1 else "s"))
    where = f" in sweep {sweep_id}" if sweep_id is not None else ""
    where += f" ({label})" if label else ""
    return AlertMessage(title=f"tlsprobe: {', '.join(parts)}{where}", sweep_id=sweep_id, label=label,
                        endpoints=len(endpoints), errors=errors, resources=len(materialised) - len(endpoints),
                        regressions=tuple(regressions),
                        new_findings=new_findings)
