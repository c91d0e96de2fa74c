"""Markdown output for chat and tickets: a summary table, the endpoints and their findings, then the resources
(ACM certificates, KMS keys ...) by their full id and their findings. All text escaped."""

from __future__ import annotations

from collections.abc import Iterable

from probe.models import CertificateInfo, EndpointResult, Finding, ResourceResult, Severity, Summary
from probe.report.context import ReportContext, Result
from probe.report.document import ParsedDocument
from probe.report.escape import md_code, md_escape
from probe.report.view import (
    ReportInput,
    compliant_label,
    document_of,
    findings_label,
    report_data,
    resource_sort_key,
    sorted_findings,
    status_label,
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


def _worst(result: Result) -> str:
    worst = worst_severity(result)
    return worst.value if worst else "-"


def _summary(summary: Summary) -> list[str]:
    """The counts table; the resource columns only when there are resources."""
    header = ["endpoints", "ok", "errors", "compliant"]
    row = [summary.endpoints, summary.ok, summary.errors, summary.compliant]
    if summary.resources:
        header += ["resources", "resources compliant"]
        row += [summary.resources, summary.resources_compliant]
    header += [s.value for s in _SEVERITIES_DESC]
    row += [summary.findings_by_severity.get(s.value, 0) for s in _SEVERITIES_DESC]
    return _table(header, [[str(value) for value in row]], ["---:"] * len(header))


def _resource_section(item: ResourceResult) -> list[str]:
    resource = item.resource
    lines = [f"### {md_escape(resource.kind)} {md_code(resource.id)}", ""]
    lines.extend(_finding_line(finding) for finding in sorted_findings(item))
    return [*lines, ""]


def _resources(resources: Iterable[ResourceResult]) -> list[str]:
    ordered = sorted(resources, key=resource_sort_key)
    if not ordered:
        return []
    rows = [
        [
            md_code(item.resource.id),
            md_escape(item.resource.kind),
            md_escape(item.resource.name or "-"),
            md_escape(item.resource.account or "-"),
            md_escape(item.resource.region or "-"),
            _worst(item),
            findings_label(item),
            compliant_label(item.compliant),
        ]
        for item in ordered
    ]
    header = ["resource", "kind", "name", "account", "region", "worst severity", "findings", "compliant"]
    lines = ["## Resources", "", *_table(header, rows, ["---"] * 5 + ["---", "---:", "---"]), ""]
    for item in ordered:
        if item.findings:
            lines += _resource_section(item)
    return lines


def format_md(doc: ReportInput, *, note: str = "") -> str:
    """Markdown: summary counts, one row per endpoint, findings per endpoint that has any or errored, then the
    resources (one row each by full id, and the findings of each that has any) and the discovery errors."""
    data = report_data(doc)
    document, results = data.document, data.endpoints
    lines = _heading(document) + _summary(data.summary)
    lines.append("")
    if note:
        lines += [f"*{md_escape(note)}*", ""]
    rows = [
        [
            md_escape(r.observation.target.key),
            md_escape(status_label(r)),
            versions_label(r),
            _worst(r),
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
    lines += _resources(data.resources)
    if document is not None and document.discovery_errors:
        lines += ["## Discovery errors", ""]
        for error in document.discovery_errors:
            where = " ".join(
                md_escape(part) for part in (error.provider, error.account, error.region, error.service) if part
            )
            lines.append(f"- {where}: {md_escape(error.error)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_md(items: Iterable[Result], context: ReportContext) -> str:
    """The registry's Markdown: the results with the run's policy, times and discovery errors, then the policy's
    coverage matrix (a row per clause, when the profile lists them)."""
    from probe.report.coverage import coverage_md, report_coverage
    from probe.report.streaming import omitted_note

    document = document_of(items, context)
    text = format_md(document, note=omitted_note(context.totals) if context.totals else "")
    coverage = report_coverage(context, document.results, document.resources)
    return text if coverage is None else f"{text}\n{coverage_md(coverage)}"
