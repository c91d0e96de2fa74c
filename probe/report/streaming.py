"""Reports that stream: a run of any size is written as its results come (from the store), in constant memory.

- JSON: the tlsprobe.scan/2 document, written incrementally: each endpoint entry is written as it comes; the
  resources (few, and already held by discovery), the discovery errors, then `finished_at` and `summary` come
  last. Parsed, it is the document `render_json` builds.
- JSON Lines (`jsonl`): one object per line, `{"type": "endpoint" | "resource" | "discovery_error" |
  "summary", ...}`: each endpoint's and resource's entry as in the JSON document, each discovery error, and last
  the summary line with the run's schema, policy, start and end times and the summary counts. For pipelines and
  `jq`: `jq -c 'select(.type == "endpoint" and .compliant == false)'`.
- CSV: the one CSV writer (`probe.report.tabular.csv_text`), row by row.

The human formats (terminal table, Markdown, HTML) are for reading, not for a million rows: `cap` keeps at most
`--max-rows` results for their detail rows (the worst first: errors and the highest unwaived severity; shown in
stream order) and counts the whole run for their summary (`Totals`), which also says how many results were left
out and where the full list is. A stream is read once.

No IO here: the writers yield text; `probe.report.atomic.write_atomically` and the CLI write it.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from probe.models import SCHEMA_ID, EndpointResult, ResourceResult, Severity, Summary
from probe.report.context import ReportContext, Result, Totals
from probe.report.document import endpoint_entry, resource_entry
from probe.report.escape import json_safe

DEFAULT_MAX_ROWS = 1000
_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))


class Tally:
    """The summary of a run, counted as its results stream by (`probe.report.document.summarize`, one at a time)."""

    def __init__(self) -> None:
        self.endpoints = self.ok = self.errors = self.compliant = self.noncompliant = 0
        self.resources = self.resources_compliant = self.resources_noncompliant = 0
        self._counts: dict[Severity, int] = {}

    def add(self, item: Result) -> None:
        if isinstance(item, ResourceResult):
            self.resources += 1
            self.resources_compliant += item.compliant is True
            self.resources_noncompliant += item.compliant is False
        else:
            self.endpoints += 1
            if item.observation.status == "ok":
                self.ok += 1
            else:
                self.errors += 1
            self.compliant += item.compliant is True
            self.noncompliant += item.compliant is False
        for finding in item.findings:
            if not finding.waived:
                self._counts[finding.severity] = self._counts.get(finding.severity, 0) + 1

    def summary(self) -> Summary:
        by_severity = {s.value: self._counts[s] for s in _SEVERITIES_DESC if self._counts.get(s)}
        return Summary(endpoints=self.endpoints, ok=self.ok, errors=self.errors, compliant=self.compliant,
                       resources=self.resources, resources_compliant=self.resources_compliant,
                       findings_by_severity=by_severity)

    def totals(self, omitted: int = 0, full: str = "") -> Totals:
        return Totals(summary=self.summary(), noncompliant=self.noncompliant,
                      resources_noncompliant=self.resources_noncompliant, omitted=omitted, full=full)


def _dumps(value: Any, indent: int | None) -> str:
    return json.dumps(json_safe(value), ensure_ascii=False, indent=indent, allow_nan=False)


def _nested(value: Any, depth: int) -> str:
    """`value` pretty-printed as it appears `depth` levels deep in an indent=2 document."""
    return _dumps(value, 2).replace("\n", "\n" + "  " * depth)


def iso(moment: datetime) -> str:
    """ISO 8601 as the document writes it (a naive time is taken as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def stream_json(items: Iterable[Result], context: ReportContext) -> Iterator[str]:
    """The scan document of `items`, in pieces: endpoints as they come; resources, discovery errors,
    `finished_at` and `summary` last. The context's resources join the resources."""
    tally = Tally()
    resources: list[ResourceResult] = []
    policy = _nested(context.policy.model_dump(mode="json"), 1)
    yield (f'{{\n  "schema": {_dumps(SCHEMA_ID, None)},\n  "policy": {policy},'
           f'\n  "started_at": {_dumps(iso(context.started_at), None)},\n  "endpoints": [')
    first = True
    batch: list[str] = []
    for item in items:
        tally.add(item)
        if isinstance(item, ResourceResult):
            resources.append(item)
            continue
        batch.append(("\n    " if first else ",\n    ") + _nested(endpoint_entry(item), 2))
        first = False
        if len(batch) >= 64:
            yield "".join(batch)
            batch = []
    yield "".join(batch) + ("\n  ]" if not first else "]")
    for item in context.resources:
        tally.add(item)
        resources.append(item)
    entries = [_nested(resource_entry(item), 2) for item in resources]
    yield ',\n  "resources": ' + ("[\n    " + ",\n    ".join(entries) + "\n  ]" if entries else "[]")
    errors = [_nested(error.model_dump(mode="json"), 2) for error in context.discovery_errors]
    yield ',\n  "discovery_errors": ' + ("[\n    " + ",\n    ".join(errors) + "\n  ]" if errors else "[]")
    yield (f',\n  "finished_at": {_dumps(iso(context.finished_at), None)},\n  "summary": '
           f"{_nested(tally.summary().model_dump(mode='json'), 1)}\n}}\n")


def stream_jsonl(items: Iterable[Result], context: ReportContext) -> Iterator[str]:
    """One JSON object per line: endpoints and resources as they come, discovery errors, the summary last."""
    tally = Tally()
    batch: list[str] = []
    for item in _chain(items, context.resources):
        tally.add(item)
        if isinstance(item, ResourceResult):
            line = {"type": "resource", **resource_entry(item)}
        else:
            line = {"type": "endpoint", **endpoint_entry(item)}
        batch.append(_dumps(line, None) + "\n")
        if len(batch) >= 256:
            yield "".join(batch)
            batch = []
    for error in context.discovery_errors:
        batch.append(_dumps({"type": "discovery_error", **error.model_dump(mode="json")}, None) + "\n")
    summary = {"type": "summary", "schema": SCHEMA_ID, "policy": context.policy.model_dump(mode="json"),
               "started_at": iso(context.started_at), "finished_at": iso(context.finished_at),
               **tally.summary().model_dump(mode="json")}
    batch.append(_dumps(summary, None) + "\n")
    yield "".join(batch)


def _chain(items: Iterable[Result], more: Iterable[ResourceResult]) -> Iterator[Result]:
    yield from items
    yield from more


def render_jsonl(items: Iterable[Result], context: ReportContext) -> str:
    return "".join(stream_jsonl(items, context))


def stream_csv(items: Iterable[Result], context: ReportContext | None = None) -> Iterator[str]:
    """The CSV report (header, then one row per finding of each endpoint and resource), in pieces."""
    from probe.report.tabular import csv_text

    yield from csv_text(_chain(items, context.resources if context is not None else ()))


def _rank(item: Result) -> tuple[int, int]:
    """How much a result deserves a detail row: errored endpoints, then the worst unwaived severity."""
    worst = max((f.severity.rank for f in item.findings if not f.waived), default=-1)
    failed = isinstance(item, EndpointResult) and item.observation.status == "error"
    return (worst, int(failed))


def cap(items: Iterable[Result], max_rows: int | None, *, full: str = "") -> tuple[list[Result], Totals]:
    """At most `max_rows` results (None or 0: all of them), the worst first, in stream order; and the run's
    totals, counted over every result, with how many were left out and where the full list is (`full`)."""
    tally = Tally()
    if not max_rows:
        kept_all: list[Result] = []
        for item in items:
            tally.add(item)
            kept_all.append(item)
        return kept_all, tally.totals(0, full)
    heap: list[tuple[tuple[int, int], int, Result]] = []  # the smallest (least deserving, latest) on top
    seen = 0
    for index, item in enumerate(items):
        tally.add(item)
        seen += 1
        entry = (_rank(item), -index, item)
        if len(heap) < max_rows:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    kept = [item for _, _, item in sorted(heap, key=lambda e: -e[1])]
    return kept, tally.totals(seen - len(kept), full)


def omitted_note(totals: Totals) -> str:
    """What a capped report says about what it leaves out."""
    if not totals.omitted:
        return ""
    shown = totals.summary.endpoints + totals.summary.resources - totals.omitted
    where = f"; the full list is in {totals.full}" if totals.full else ""
    return (f"{totals.omitted:,} more results are not shown here: {shown:,} of "
            f"{totals.summary.endpoints + totals.summary.resources:,} (the worst first; the summary counts every "
            f"one){where}")


__all__ = ["DEFAULT_MAX_ROWS", "Tally", "cap", "omitted_note", "render_jsonl", "stream_csv", "stream_json",
           "stream_jsonl"]
