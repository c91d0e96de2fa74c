"""What every human-facing formatter shows about an endpoint or a resource, computed once from typed values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from probe.models import TLS_VERSIONS, EndpointResult, Finding, Resource, ResourceResult, Severity, Summary, Target
from probe.report.context import ReportContext, Result, split_results
from probe.report.document import ParsedDocument, document_from_dict, summarize

# A formatter takes a document dict (as build_document makes it), a ParsedDocument, or bare results
# (endpoint and resource results, in any order).
ReportInput = Mapping[str, Any] | ParsedDocument | Iterable[Result]

_SHORT_VERSION = {"TLSv1.0": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}


@dataclass(frozen=True)
class ReportData:
    """A formatter's input, whatever its form: the document (None for bare results), endpoints, resources and
    the summary."""

    document: ParsedDocument | None
    endpoints: list[EndpointResult]
    resources: list[ResourceResult]
    summary: Summary


def report_data(source: ReportInput) -> ReportData:
    """The endpoints, resources and summary of a document dict, a ParsedDocument or bare results."""
    if isinstance(source, Mapping):
        source = document_from_dict(source, check_schema=False)
    if isinstance(source, ParsedDocument):
        return ReportData(source, list(source.results), list(source.resources), source.summary)
    endpoints, resources = split_results(source)
    return ReportData(None, endpoints, resources, summarize(endpoints, resources))


def document_of(items: Iterable[Result], context: ReportContext) -> ParsedDocument:
    """A run's results and context as the document the text formatters read (no JSON round trip)."""
    endpoints, resources = split_results(items)
    return ParsedDocument(
        policy=context.policy,
        started_at=context.started_at,
        finished_at=context.finished_at,
        results=tuple(endpoints),
        resources=tuple(resources),
        discovery_errors=tuple(context.discovery_errors),
        summary=context.totals.summary if context.totals is not None else summarize(endpoints, resources),
    )


def unwaived(result: Result) -> list[Finding]:
    return [finding for finding in result.findings if not finding.waived]


def worst_severity(result: Result) -> Severity | None:
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


def findings_label(result: Result) -> str:
    """Unwaived count, with the waived ones in brackets ("2 (+1 waived)")."""
    active = len(unwaived(result))
    waived = len(result.findings) - active
    return f"{active} (+{waived} waived)" if waived else str(active)


def sorted_findings(result: Result) -> list[Finding]:
    """Unwaived before waived, then by severity (worst first), rule, message."""
    return sorted(result.findings, key=lambda f: (f.waived, -f.severity.rank, f.rule, f.message))


def host_port(target: Target) -> str:
    """`host:port` as the target names it (an IPv6 host in brackets)."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{host}:{target.port}"


def address_port(target: Target) -> str:
    """The address dialled, `ip:port` (the host when not resolved; IPv6 in brackets)."""
    address = target.ip or target.host
    address = f"[{address}]" if ":" in address else address
    return f"{address}:{target.dial_port}"


def resource_name(resource: Resource) -> str | None:
    """The resource's name when it says more than its short id (an ACM certificate's domain; not a KMS key id
    that its `key/<id>` already shows)."""
    name = resource.name
    if not name or name in resource.short_id:
        return None
    return name


def resource_sort_key(item: ResourceResult) -> tuple[str, str, str]:
    resource = item.resource
    return (resource.kind, resource.short_id, resource.id)


def endpoint_sort_key(item: EndpointResult) -> tuple[str, int, str]:
    target = item.observation.target
    return (target.host, target.port, target.ip or "")
