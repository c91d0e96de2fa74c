"""JSON output: the scan document, pretty-printed in its stable key order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from probe.report.context import ReportContext, Result, split_results
from probe.report.document import ParsedDocument, build_document
from probe.report.escape import json_safe


def format_json(doc: Mapping[str, Any] | ParsedDocument, *, indent: int | None = 2) -> str:
    """The document as JSON text (UTF-8 safe, no NaN, newline-terminated)."""
    data = doc.to_document() if isinstance(doc, ParsedDocument) else json_safe(doc)
    return json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"


def render_json(items: Iterable[Result], context: ReportContext) -> str:
    """The registry's JSON: the tlsprobe.scan/2 document of the results (endpoints[], resources[])."""
    endpoints, resources = split_results(items)
    document = build_document(
        endpoints,
        resources=resources,
        policy=context.policy,
        started_at=context.started_at,
        finished_at=context.finished_at,
        discovery_errors=context.discovery_errors,
    )
    return format_json(document)
