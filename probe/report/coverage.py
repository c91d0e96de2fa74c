"""The coverage matrix (probe.policy.coverage) and a summary of the resources by kind, as text, Markdown, HTML and
JSON. Formatters return text and do no IO; every value is escaped for its format."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from probe.models import EndpointResult, PolicyRef, ResourceResult
from probe.policy.coverage import ClauseStatus, Coverage, CoverageCounter, CoverageRow
from probe.report.context import ReportContext
from probe.report.escape import clean_text, md_code, md_escape

__all__ = [
    "coverage_counter",
    "coverage_for",
    "coverage_html",
    "coverage_json",
    "coverage_md",
    "coverage_report",
    "coverage_text",
    "report_coverage",
    "resources_summary_md",
    "resources_summary_text",
]

_SHORT = {ClauseStatus.PASSED: "passed", ClauseStatus.FAILED: "FAILED", ClauseStatus.NOT_SEEN: "not seen",
          ClauseStatus.NOT_CHECKED: "not checked"}
_COUNTS = "checked/passed/failed"


def coverage_counter(policy: PolicyRef) -> CoverageCounter | None:
    """A counter for the run's coverage matrix against its profile, loaded by name; None when the profile cannot
    be loaded (a profile file that is gone) or lists no clauses."""
    from probe.errors import TlsProbeError
    from probe.policy import load_profile

    try:
        profile = load_profile(policy.profile)
    except (TlsProbeError, OSError, ValueError):
        return None
    return CoverageCounter(profile) if profile.clauses else None


def coverage_for(policy: PolicyRef, endpoints: Iterable[EndpointResult],
                 resources: Iterable[ResourceResult]) -> Coverage | None:
    """The run's coverage matrix against its profile (see `coverage_counter`); None without one."""
    counter = coverage_counter(policy)
    if counter is None:
        return None
    for endpoint in endpoints:
        counter.add(endpoint)
    for resource in resources:
        counter.add(resource)
    return counter.coverage()


def report_coverage(context: ReportContext, endpoints: Iterable[EndpointResult],
                    resources: Iterable[ResourceResult]) -> Coverage | None:
    """The coverage matrix a report shows: the whole run's when the results are a capped part of it
    (`context.coverage`), else counted over the results it has."""
    return context.coverage if context.coverage is not None else coverage_for(context.policy, endpoints, resources)


def _headline(coverage: Coverage) -> str:
    parts = [f"{coverage.count(status)} {status.value}" for status in ClauseStatus if coverage.count(status)]
    return (f"{coverage.policy} coverage (profile {coverage.profile}): {len(coverage.rows)} clauses; "
            + ", ".join(parts))


def _text(value: object) -> str:
    return clean_text(str(value))


# ------------------------------------------------------------------------------------------------------ text


def coverage_text(coverage: Coverage, *, width: int = 120) -> str:
    """A plain-text table, one row per clause: its status, endpoints and resources checked/passed/failed, its
    title, then the rules that check it and what tlsprobe cannot check of it."""
    head = f"{'clause':<9} {'status':<11} {'endpoints':>10} {'resources':>10} {'findings':>8}  title"
    indent = " " * 54
    legend = (f"endpoints and resources: {_COUNTS}; findings: unwaived, of any severity (one below the compliance "
              "threshold does not fail its clause)")
    lines = [*textwrap.wrap(_headline(coverage), width), *textwrap.wrap(legend, width), "", head]
    wrap = max(len(indent) + 40, width)
    for row in coverage.rows:
        findings = str(row.findings) if row.rules else "-"
        lines.append(f"{row.clause:<9} {_SHORT[row.status]:<11} {row.endpoints.label():>10} "
                     f"{row.resources.label():>10} {findings:>8}  {_text(row.title)}")
        if row.rules:
            lines += textwrap.wrap("rules: " + ", ".join(row.rules), wrap, initial_indent=indent,
                                   subsequent_indent=indent + "       ", break_on_hyphens=False,
                                   break_long_words=False)
        if row.not_checked:
            lines += textwrap.wrap(f"not checked by tlsprobe: {_text(row.not_checked)}", wrap, initial_indent=indent,
                                   subsequent_indent=indent + "  ")
    for clause, rules in coverage.beyond.items():
        lines += ["", *textwrap.wrap(f"{clause}: " + ", ".join(rules), width, break_on_hyphens=False,
                                     break_long_words=False)]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------------- Markdown


def _md_row(row: CoverageRow) -> str:
    rules = ", ".join(md_code(rule) for rule in row.rules) or "-"
    note = md_escape(row.not_checked) if row.not_checked else "-"
    return (f"| {md_escape(row.clause)} | {md_escape(row.title)} | {row.status.value} | {row.endpoints.label()} | "
            f"{row.resources.label()} | {rules} | {note} |")


def coverage_md(coverage: Coverage, *, heading: str = "##") -> str:
    """The matrix as a Markdown section."""
    lines = [f"{heading} Coverage of {md_escape(coverage.policy)}", "", md_escape(_headline(coverage)) + ".", "",
             f"| clause | title | status | endpoints ({_COUNTS}) | resources ({_COUNTS}) | rules | "
             "not checked by tlsprobe |", "|---|---|---|---:|---:|---|---|"]
    lines += [_md_row(row) for row in coverage.rows]
    for clause, rules in coverage.beyond.items():
        lines += ["", f"{md_escape(clause)}: " + ", ".join(md_code(rule) for rule in rules)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------ HTML


def _e(value: object) -> str:
    return escape(clean_text(str(value)), quote=True)


_STATUS_CLASS = {ClauseStatus.PASSED: "yes", ClauseStatus.FAILED: "no", ClauseStatus.NOT_SEEN: "unk",
                 ClauseStatus.NOT_CHECKED: "unk"}


def coverage_html(coverage: Coverage) -> str:
    """The matrix as an HTML <section id="coverage"> (escaped; styled by the report's classes)."""
    rows = []
    for row in coverage.rows:
        rules = "<br>".join(_e(rule) for rule in row.rules) or "-"
        rows.append(
            f'<tr class="coverage-row" data-clause="{_e(row.clause)}" data-status="{_e(row.status.value)}">'
            f'<td class="key">{_e(row.clause)}</td><td>{_e(row.title)}</td>'
            f'<td class="{_STATUS_CLASS[row.status]}">{_e(row.status.value)}</td>'
            f"<td>{_e(row.endpoints.label())}</td><td>{_e(row.resources.label())}</td>"
            f'<td class="key">{rules}</td><td>{_e(row.not_checked or "")}</td></tr>')
    beyond = "".join(f"<p>{_e(clause)}: {_e(', '.join(rules))}</p>" for clause, rules in coverage.beyond.items())
    return (
        f'<section id="coverage"><h2>Coverage of {_e(coverage.policy)}</h2><p>{_e(_headline(coverage))}</p>'
        f'<table id="coverage-table"><thead><tr><th>clause</th><th>title</th><th>status</th>'
        f"<th>endpoints<br>{_COUNTS}</th><th>resources<br>{_COUNTS}</th><th>rules</th>"
        f"<th>not checked by tlsprobe</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{beyond}</section>"
    )


# ------------------------------------------------------------------------------------------------------ JSON


def _counts(row: CoverageRow, which: str) -> dict[str, int]:
    counts = row.endpoints if which == "endpoints" else row.resources
    return {"checked": counts.checked, "passed": counts.passed, "failed": counts.failed}


def coverage_json(coverage: Coverage) -> str:
    """{"policy", "profile", "clauses": [{clause, title, status, rules, endpoints, resources, findings,
    not_checked}], "beyond": {clause text: [rules]}} as JSON text."""
    document: dict[str, Any] = {
        "policy": coverage.policy, "profile": coverage.profile,
        "clauses": [{"clause": row.clause, "title": row.title, "status": row.status.value, "rules": list(row.rules),
                     "endpoints": _counts(row, "endpoints"), "resources": _counts(row, "resources"),
                     "findings": row.findings, "not_checked": row.not_checked} for row in coverage.rows],
        "beyond": {clause: list(rules) for clause, rules in coverage.beyond.items()},
    }
    return json.dumps(document, indent=2) + "\n"


# ------------------------------------------------------------------------------------------ resources by kind


def _by_kind(resources: Sequence[ResourceResult]) -> list[tuple[str, list[ResourceResult]]]:
    kinds: dict[str, list[ResourceResult]] = {}
    for item in resources:
        kinds.setdefault(item.resource.kind, []).append(item)
    return sorted(kinds.items())


def _kind_facts(items: Sequence[ResourceResult]) -> tuple[int, int, int, str]:
    compliant = sum(item.compliant is True for item in items)
    sensitive = sum(item.resource.attributes.get("sensitive") is True for item in items)
    customer = sum(item.resource.attributes.get("key_manager") == "customer" for item in items)
    rules = Counter(f.rule for item in items for f in item.findings if not f.waived)
    findings = ", ".join(f"{rule} x{count}" if count > 1 else rule for rule, count in sorted(rules.items())) or "-"
    return compliant, sensitive, customer, findings


def resources_summary_text(resources: Sequence[ResourceResult], *, width: int = 120) -> str:
    """One line per resource kind: how many, compliant, sensitive, encrypted with a customer-managed key, and the
    unwaived findings by rule."""
    total = len(resources)
    compliant = sum(item.compliant is True for item in resources)
    lines = [f"Resources: {total}, {compliant} compliant", "",
             f"{'kind':<24} {'count':>5} {'compliant':>9} {'sensitive':>9} {'customer key':>12}  unwaived findings"]
    indent = " " * 65
    for kind, items in _by_kind(resources):
        ok, sensitive, customer, findings = _kind_facts(items)
        first, *rest = textwrap.wrap(findings, max(30, width - len(indent)), break_on_hyphens=False,
                                     break_long_words=False) or ["-"]
        lines.append(f"{_text(kind):<24} {len(items):>5} {ok:>9} {sensitive:>9} {customer:>12}  {first}")
        lines += [indent + line for line in rest]
    return "\n".join(lines) + "\n"


def resources_summary_md(resources: Sequence[ResourceResult]) -> str:
    lines = ["| kind | count | compliant | sensitive | customer key | unwaived findings |",
             "|---|---:|---:|---:|---:|---|"]
    for kind, items in _by_kind(resources):
        ok, sensitive, customer, findings = _kind_facts(items)
        lines.append(f"| {md_code(kind)} | {len(items)} | {ok} | {sensitive} | {customer} | {md_escape(findings)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- `report --coverage`


def coverage_report(policy: PolicyRef, endpoints: Iterable[EndpointResult], resources: Iterable[ResourceResult],
                    fmt: str = "text", *, width: int = 120) -> str:
    """What `tlsprobe report --coverage` prints for a stored sweep: the resources by kind, then the coverage
    matrix, as text, Markdown ("md") or JSON ("json", the matrix alone). InputError when the sweep's profile
    cannot be loaded or lists no clauses."""
    from probe.errors import InputError

    resource_list = list(resources)
    coverage = coverage_for(policy, endpoints, resource_list)
    if coverage is None:
        raise InputError(f"no coverage matrix: the sweep's profile {policy.profile!r} cannot be loaded or lists "
                         "no clauses")
    if fmt == "json":
        return coverage_json(coverage)
    if fmt == "md":
        return (f"## Resources by kind\n\n{resources_summary_md(resource_list)}\n"
                f"{coverage_md(coverage)}")
    return f"{resources_summary_text(resource_list, width=width)}\n{coverage_text(coverage, width=width)}"
