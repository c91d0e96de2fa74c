"""Terminal table (rich) rendered to text: one row per endpoint, then the summary. Colour only when asked."""

from __future__ import annotations

import io

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from probe.models import Severity
from probe.report.escape import clean_text
from probe.report.view import (
    ReportInput,
    as_results,
    compliant_label,
    findings_label,
    status_label,
    summary_of,
    versions_label,
    worst_severity,
)

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("endpoint", "left"),
    ("status", "left"),
    ("versions", "left"),
    ("worst severity", "left"),
    ("findings", "right"),
    ("compliant", "left"),
    ("connections", "right"),
)
_COMPLIANT_STYLE = {True: "green", False: "red", None: "dim"}


def _cell(text: str, style: str = "") -> Text:
    """A cell from untrusted text: control characters stripped, never parsed as rich markup."""
    return Text(clean_text(text), style=style)


def format_table(doc: ReportInput, *, width: int = 120, color: bool = False) -> str:
    """The endpoint table and a summary line as text `width` columns wide; ANSI colour only if `color`."""
    document, results = as_results(doc)
    table = Table(show_lines=False, expand=False, highlight=False)
    for header, justify in _COLUMNS:
        table.add_column(header, justify=justify, overflow="fold")
    for result in results:
        worst = worst_severity(result)
        table.add_row(
            _cell(result.observation.target.key),
            _cell(status_label(result), "" if result.observation.status == "ok" else "red"),
            _cell(versions_label(result)),
            _cell(worst.value if worst else "-", _SEVERITY_STYLE[worst] if worst else ""),
            _cell(findings_label(result)),
            _cell(compliant_label(result.compliant), _COMPLIANT_STYLE[result.compliant]),
            _cell(str(result.observation.connections)),
        )
    summary = summary_of(document, results)
    counts = ", ".join(f"{severity} {count}" for severity, count in summary.findings_by_severity.items()) or "none"
    line = (
        f"{summary.endpoints} endpoints: {summary.ok} ok, {summary.errors} errors, "
        f"{summary.compliant} compliant; unwaived findings: {counts}"
    )
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        _environ={},
    )
    console.print(table)
    console.print(_cell(line))
    return buffer.getvalue()
