"""Terminal table (rich) rendered to text: one row per endpoint, then the summary. Colour only when asked."""

from __future__ import annotations

import io
from collections import Counter

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from probe.models import EndpointResult, Severity
from probe.report.escape import clean_text
from probe.report.view import (
    ReportInput,
    as_results,
    compliant_label,
    sorted_findings,
    status_label,
    summary_of,
    versions_label,
)

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("host", "left"),
    ("address:port", "left"),
    ("status", "left"),
    ("versions", "left"),
    ("findings (severity rule)", "left"),
    ("compliant", "left"),
    ("conns", "right"),
)
_COMPLIANT_STYLE = {True: "green", False: "red", None: "dim"}


def _cell(text: str, style: str = "") -> Text:
    """A cell from untrusted text: control characters stripped, never parsed as rich markup."""
    return Text(clean_text(text), style=style)


def _findings_cell(result: EndpointResult) -> Text:
    """One line per distinct finding, worst first: `high tls.protocol.deprecated x2`, waived ones marked."""
    error = result.observation.error
    if error is not None:
        return _cell(error.message[:120], "red")
    counts = Counter((f.severity, f.rule, f.waived) for f in sorted_findings(result))
    if not counts:
        return _cell("-")
    text = Text()
    for index, ((severity, rule, waived), count) in enumerate(counts.items()):
        if index:
            text.append("\n")
        label = f"{severity.value} {rule}" + (f" x{count}" if count > 1 else "") + (" (waived)" if waived else "")
        text.append(clean_text(label), style="dim" if waived else _SEVERITY_STYLE[severity])
    return text


def format_table(doc: ReportInput, *, width: int = 120, color: bool = False) -> str:
    """The endpoint table and a summary line as text `width` columns wide; ANSI colour only if `color`."""
    document, results = as_results(doc)
    table = Table(show_lines=False, expand=False, highlight=False)
    for header, justify in _COLUMNS:
        wide = header.startswith("findings")
        table.add_column(header, justify=justify, overflow="fold", min_width=30 if wide else None)
    for result in sorted(results, key=lambda r: (r.observation.target.host, r.observation.target.port)):
        target = result.observation.target
        address = target.ip or target.host
        address = f"[{address}]" if ":" in address else address
        table.add_row(
            _cell(target.host),
            _cell(f"{address}:{target.dial_port}"),
            _cell(status_label(result), "" if result.observation.status == "ok" else "red"),
            _cell(versions_label(result)),
            _findings_cell(result),
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
