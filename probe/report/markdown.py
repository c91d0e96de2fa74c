"""Markdown output for chat and tickets: a summary table, then each endpoint's findings. All text escaped."""

from __future__ import annotations

from probe.models import CertificateInfo, EndpointResult, Finding, Severity
from probe.report.document import ParsedDocument
from probe.report.escape import md_code, md_escape
from probe.report.view import (
    ReportInput,
    as_results,
    compliant_label,
    findings_label,
    sorted_findings,
    status_label,
    summary_of,
    versions_label,
    worst_severity,
)

_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))


def _table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _heading(document: ParsedDocument | None) -> list[str]:
    lines = ["# tlsprobe scan", ""]
    if document is not None:
        policy = f"{md_escape(document.policy.id)} ({md_code(document.policy.profile)})"
        started = document.started_at.isoformat(timespec="seconds")
        finished = document.finished_at.isoformat(timespec="seconds")
        lines += [f"Policy {policy}, scanned {md_escape(started)} to {md_escape(finished)}.", ""]
    return lines


def _finding_line(finding: Finding) -> str:
    head = f"**{finding.severity.value}** {md_code(finding.rule)} ({md_escape(finding.clause)}): "
    line = head + md_escape(finding.message)
    if finding.waived:
        waiver = finding.waiver
        detail = f": {md_escape(waiver.reason)}, until {waiver.expires.isoformat()}" if waiver else ""
        line = f"~~{line}~~ waived{detail}"
    return "- " + line


def _certificate_line(certificate: CertificateInfo) -> str:
    key = f"{certificate.key_type}-{certificate.curve or certificate.key_bits}"
    sans = ", ".join(md_escape(name) for name in certificate.sans) or "none"
    return (
        f"- certificate {md_escape(certificate.subject)} ({md_escape(key)}), issued by {md_escape(certificate.issuer)},"
        f" expires {certificate.not_after.date().isoformat()}; SANs: {sans}"
    )


def _endpoint_section(result: EndpointResult) -> list[str]:
    observation = result.observation
    lines = [f"## {md_escape(observation.target.key)}", ""]
    if observation.error is not None:
        lines.append(f"- error {md_code(observation.error.kind.value)}: {md_escape(observation.error.message)}")
    lines.extend(_finding_line(finding) for finding in sorted_findings(result))
    lines.extend(_certificate_line(certificate) for certificate in observation.certificates)
    return [*lines, ""]


def format_md(doc: ReportInput) -> str:
    """Markdown: summary counts, one row per endpoint, then findings per endpoint that has any or errored."""
    document, results = as_results(doc)
    summary = summary_of(document, results)
    lines = _heading(document)
    counts = [str(summary.findings_by_severity.get(s.value, 0)) for s in _SEVERITIES_DESC]
    lines += _table(
        ["endpoints", "ok", "errors", "compliant", *(s.value for s in _SEVERITIES_DESC)],
        [[str(summary.endpoints), str(summary.ok), str(summary.errors), str(summary.compliant), *counts]],
        ["---:"] * (4 + len(_SEVERITIES_DESC)),
    )
    lines.append("")
    rows = [
        [
            md_escape(r.observation.target.key),
            md_escape(status_label(r)),
            versions_label(r),
            (worst.value if (worst := worst_severity(r)) else "-"),
            findings_label(r),
            compliant_label(r.compliant),
            str(r.observation.connections),
        ]
        for r in results
    ]
    header = ["endpoint", "status", "versions", "worst severity", "findings", "compliant", "connections"]
    lines += _table(header, rows, ["---", "---", "---", "---", "---:", "---", "---:"])
    lines.append("")
    for result in results:
        if result.findings or result.observation.error is not None:
            lines += _endpoint_section(result)
    if document is not None and document.discovery_errors:
        lines += ["## Discovery errors", ""]
        for error in document.discovery_errors:
            where = " ".join(
                md_escape(part) for part in (error.provider, error.account, error.region, error.service) if part
            )
            lines.append(f"- {where}: {md_escape(error.error)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
