"""What every human-facing formatter shows about an endpoint, computed once from typed values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from probe.models import TLS_VERSIONS, EndpointResult, Finding, Severity, Summary
from probe.report.document import ParsedDocument, document_from_dict, summarize

# A formatter takes a document dict (as build_document makes it), a ParsedDocument, or bare results.
ReportInput = Mapping[str, Any] | ParsedDocument | Iterable[EndpointResult]

_SHORT_VERSION = {"TLSv1.0": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}


def as_results(source: ReportInput) -> tuple[ParsedDocument | None, list[EndpointResult]]:
    """The document (None for bare results) and its endpoint results."""
    if isinstance(source, ParsedDocument):
        return source, list(source.results)
    if isinstance(source, Mapping):
        document = document_from_dict(source, check_schema=False)
        return document, list(document.results)
    results = list(source)
    return None, results


def summary_of(document: ParsedDocument | None, results: list[EndpointResult]) -> Summary:
    """The document's summary, or one computed from bare results."""
    return document.summary if document is not None else summarize(results)


def unwaived(result: EndpointResult) -> list[Finding]:
    return [finding for finding in result.findings if not finding.waived]


def worst_severity(result: EndpointResult) -> Severity | None:
    """The highest severity among unwaived findings, None when there are none."""
    severities = [finding.severity for finding in unwaived(result)]
    return max(severities, key=lambda s: s.rank) if severities else None


def versions_label(result: EndpointResult) -> str:
    """Accepted protocol versions, short ("1.2 1.3"); "-" when none or unknown."""
    accepted = [v for v in TLS_VERSIONS if result.observation.tls_versions.get(v)]
    return " ".join(_SHORT_VERSION.get(v, v) for v in accepted) or "-"


def status_label(result: EndpointResult) -> str:
    """Either "ok" or "error: <kind>"."""
    error = result.observation.error
    if result.observation.status == "ok":
        return "ok"
    return f"error: {error.kind.value}" if error else "error"


def compliant_label(compliant: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[compliant]


def findings_label(result: EndpointResult) -> str:
    """Unwaived count, with the waived ones in brackets ("2 (+1 waived)")."""
    active = len(unwaived(result))
    waived = len(result.findings) - active
    return f"{active} (+{waived} waived)" if waived else str(active)


def sorted_findings(result: EndpointResult) -> list[Finding]:
    """Unwaived before waived, then by severity (worst first), rule, message."""
    return sorted(result.findings, key=lambda f: (f.waived, -f.severity.rank, f.rule, f.message))
