"""Every output format behind one call: the scan command's --output files and the report command."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import assert_never

from probe.extras import require
from probe.models import DiscoveryError, EndpointResult, PolicyRef, ResourceResult
from probe.report.document import build_document
from probe.report.render import Format, render


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MD = "md"
    HTML = "html"
    SARIF = "sarif"
    JUNIT = "junit"
    PARQUET = "parquet"


SUFFIXES = {
    ".txt": OutputFormat.TABLE,
    ".json": OutputFormat.JSON,
    ".csv": OutputFormat.CSV,
    ".md": OutputFormat.MD,
    ".html": OutputFormat.HTML,
    ".sarif": OutputFormat.SARIF,
    ".xml": OutputFormat.JUNIT,
    ".parquet": OutputFormat.PARQUET,
}


def format_for(path: Path, fallback: OutputFormat | None) -> OutputFormat:
    """A file's format: its suffix decides, then `fallback`, then JSON."""
    return SUFFIXES.get(path.suffix.lower()) or fallback or OutputFormat.JSON


def check_available(fmt: OutputFormat) -> None:
    """Raise `probe.extras.MissingExtra` if writing `fmt` needs an extra that is not installed (Parquet: the
    parquet extra), so that a run can refuse before it scans rather than fail when it writes."""
    if fmt is OutputFormat.PARQUET:
        require("parquet", "Parquet output")


@dataclass(frozen=True)
class ReportContext:
    """What a report says about the run besides its results."""

    policy: PolicyRef
    started_at: datetime
    finished_at: datetime
    discovery_errors: Sequence[DiscoveryError] = ()
    resources: Sequence[ResourceResult] = ()
    rules: Sequence[str] = ()
    title: str = "tlsprobe report"
    subtitle: str = ""
    width: int = 140
    extra: dict[str, str] = field(default_factory=dict)


def render_output(fmt: OutputFormat, results: Sequence[EndpointResult], context: ReportContext) -> str | bytes:
    """The results in `fmt`: text, or bytes for Parquet. No IO."""
    match fmt:
        case OutputFormat.TABLE | OutputFormat.JSON | OutputFormat.MD:
            document = build_document(
                results,
                policy=context.policy,
                started_at=context.started_at,
                finished_at=context.finished_at,
                discovery_errors=context.discovery_errors,
                resources=context.resources,
            )
            return render(Format(fmt.value), document, width=context.width)
        case OutputFormat.HTML:
            from probe.report.html import render_html

            return render_html(results, title=context.title, subtitle=context.subtitle)
        case OutputFormat.SARIF:
            from probe.report.sarif import render_sarif

            return render_sarif(results, policy_id=context.policy.id)
        case OutputFormat.JUNIT:
            from probe.report.junit import render_junit

            return render_junit(results, rules=context.rules, name=context.title)
        case OutputFormat.CSV:
            from probe.report.tabular import render_csv

            return render_csv(results)
        case OutputFormat.PARQUET:
            from probe.report.tabular import render_parquet

            return render_parquet(results)
        case _:
            assert_never(fmt)
