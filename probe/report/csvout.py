"""CSV output: one row per finding, one row for an endpoint without findings. Cells are formula-safe."""

from __future__ import annotations

import csv
import io

from probe.models import EndpointResult, Finding
from probe.report.escape import csv_cell
from probe.report.view import ReportInput, as_results, sorted_findings

CSV_COLUMNS = (
    "endpoint", "host", "port", "ip", "sni", "status", "error_kind", "error_message",
    "rule", "severity", "clause", "message", "waived", "waiver_reason", "compliant",
)  # fmt: skip


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def _row(result: EndpointResult, finding: Finding | None) -> list[str]:
    observation = result.observation
    target = observation.target
    error = observation.error
    cells = [
        target.key, target.host, str(target.port), target.ip or "", target.sni or "", observation.status,
        error.kind.value if error else "", error.message if error else "",
        finding.rule if finding else "", finding.severity.value if finding else "", finding.clause if finding else "",
        finding.message if finding else "", _flag(finding.waived) if finding else "",
        finding.waiver.reason if finding and finding.waiver else "", _flag(result.compliant),
    ]  # fmt: skip
    return [csv_cell(cell) for cell in cells]


def format_csv(doc: ReportInput) -> str:
    """CSV text with a header row (CSV_COLUMNS); every cell cleaned and neutralised against formulas."""
    _, results = as_results(doc)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for result in results:
        findings = sorted_findings(result)
        if not findings:
            writer.writerow(_row(result, None))
        for finding in findings:
            writer.writerow(_row(result, finding))
    return buffer.getvalue()
