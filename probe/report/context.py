"""What every renderer takes: a stream of results (endpoints and resources) and the run's context."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from probe.models import DiscoveryError, EndpointResult, PolicyRef, ResourceResult, Summary

if TYPE_CHECKING:
    from probe.policy.coverage import Coverage

# One item of a report: a TLS endpoint's result or a resource's (ACM certificate, KMS key ...).
Result = EndpointResult | ResourceResult


@dataclass(frozen=True)
class Totals:
    """Counts over a whole run, for a report that shows only part of it (`--max-rows`, probe.report.streaming.cap):
    its summary, the non-compliant counts, how many results it leaves out and where the full list is."""

    summary: Summary
    noncompliant: int = 0
    resources_noncompliant: int = 0
    omitted: int = 0
    full: str = ""


@dataclass(frozen=True)
class ReportContext:
    """What a report says about the run besides its results.

    `resources`: resources the caller holds apart from the results; `probe.report.outputs.render_output` puts
    them into the stream after the results. Renderers read resources from the stream only, never from here.
    `width` and `color` apply to the terminal table.
    """

    policy: PolicyRef
    started_at: datetime
    finished_at: datetime
    discovery_errors: Sequence[DiscoveryError] = ()
    resources: Sequence[ResourceResult] = ()
    rules: Sequence[str] = ()
    title: str = "tlsprobe report"
    subtitle: str = ""
    width: int = 140
    color: bool = False
    totals: Totals | None = None  # the whole run's counts when the results are a capped part of it
    coverage: Coverage | None = None  # the whole run's coverage matrix when the results are a capped part of it


def split_results(items: Iterable[Result]) -> tuple[list[EndpointResult], list[ResourceResult]]:
    """The stream's endpoint results and resource results, each in stream order."""
    endpoints: list[EndpointResult] = []
    resources: list[ResourceResult] = []
    for item in items:
        if isinstance(item, ResourceResult):
            resources.append(item)
        else:
            endpoints.append(item)
    return endpoints, resources
