"""Terminal tables (rich) rendered to text: endpoints, then resources, then the summary. Colour only when asked.

Every line fits `width` columns and no identifier (a host:port, an address, a resource id, a rule id) is broken
across lines: each table is laid out in the richest form that fits, from

- wide: one column per fact (host, address:port, status, versions, findings, compliant, connections);
- narrow: identity, status, findings and compliance, the address or the resource's name under its identity;
- stacked: one block per endpoint or resource, its identity on a line of its own, then its facts and findings
  on indented lines that wrap between words.

A resource shows the resource part of its ARN (`Resource.short_id`, e.g. `key/1234…`); the full id is in the
files (JSON, CSV, SARIF ...). Only an identifier longer than the whole terminal is folded.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from probe.models import EndpointResult, Finding, ResourceResult, Severity, Summary
from probe.report.context import ReportContext, Result
from probe.report.escape import clean_text
from probe.report.view import (
    ReportInput,
    address_port,
    compliant_label,
    endpoint_sort_key,
    host_port,
    report_data,
    resource_name,
    resource_sort_key,
    sorted_findings,
    status_label,
    versions_label,
)

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_COMPLIANT_STYLE = {True: "green", False: "red", None: "dim"}
_MAX_ERROR = 120  # characters of an error message shown
_BREAKABLE_WORD = 16  # a word of free text (an error message) longer than this may be folded
_INDENT = 2  # stacked layout: facts and findings under the identity line
# The blanks rich pads a line with, among colour codes, at its end.
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_TRAILING_BLANKS = re.compile(r"(?:\x1b\[[0-9;]*m| )+$")


def _clean(text: str, style: str = "") -> Text:
    """Text from untrusted input: control characters stripped, never parsed as rich markup."""
    return Text(clean_text(text), style=style)


@dataclass
class _Cell:
    """One table cell and the narrowest width that breaks none of its words (identifiers: none of its lines)."""

    text: Text
    min_width: int


def _words(text: str, cap: int | None = None) -> int:
    """The widest word of `text` (capped at `cap` for free text that may be folded)."""
    widest = max((cell_len(word) for line in text.split("\n") for word in line.split(" ")), default=0)
    return min(widest, cap) if cap is not None else widest


def _ident(*lines: str, style: str = "") -> _Cell:
    """An identifier (host:port, address, resource id) on each line, every line whole."""
    cell = Text("\n").join(_clean(line, style) for line in lines)
    return _Cell(cell, max((cell_len(line) for line in cell.plain.split("\n")), default=0))


def _words_cell(text: Text, cap: int | None = None) -> _Cell:
    """Text that wraps between words; words longer than `cap` may be folded."""
    return _Cell(text, _words(text.plain, cap))


@dataclass
class _Column:
    header: str
    justify: JustifyMethod = "left"
    no_wrap: bool = False  # identifiers: lines never wrap
    grow: int = 0  # share of spare width: higher first
    cells: list[_Cell] = field(default_factory=list)

    def min_width(self) -> int:
        return max([_words(self.header), *(cell.min_width for cell in self.cells)])

    def max_width(self) -> int:
        lines = [self.header, *(line for cell in self.cells for line in cell.text.plain.split("\n"))]
        return max(max(cell_len(line) for line in lines), self.min_width())


def _overhead(columns: int) -> int:
    """Width the box and padding take: a rule between columns (no outer edge), one space each side of a cell."""
    return 3 * columns - 1


def _fit(columns: Sequence[_Column], width: int, *, wrap: bool) -> Table | None:
    """The table with column widths that fit `width` and keep every word whole (without `wrap`: every line
    whole), or None when it cannot fit."""
    budget = width - _overhead(len(columns))
    widths = [column.min_width() if wrap else column.max_width() for column in columns]
    if sum(widths) > budget:
        return None
    spare = budget - sum(widths)
    for index in sorted(range(len(columns)), key=lambda i: -columns[i].grow):
        grant = min(spare, columns[index].max_width() - widths[index])
        widths[index] += grant
        spare -= grant
    # A rule between rows when an identity takes two lines (an address or a name under it).
    stacked_identity = any("\n" in cell.text.plain for column in columns if column.no_wrap for cell in column.cells)
    table = Table(show_lines=stacked_identity, show_edge=False, expand=False, highlight=False)
    for column, column_width in zip(columns, widths, strict=True):
        table.add_column(column.header, justify=column.justify, width=column_width, no_wrap=column.no_wrap,
                         overflow="fold")
    rows = max((len(column.cells) for column in columns), default=0)
    for row in range(rows):
        table.add_row(*(column.cells[row].text for column in columns))
    return table


def _findings_cell(findings: Iterable[Finding]) -> _Cell:
    """The findings, one per line; a line may wrap after its rule, never between severity and rule."""
    listed = list(findings)
    narrowest = max((cell_len(f"{f.severity.value} {clean_text(f.rule)}") for f in listed), default=1)
    return _Cell(_joined(_finding_lines(listed)), narrowest)


def _finding_lines(findings: Iterable[Finding]) -> list[Text]:
    """One line per distinct finding, worst first: `high tls.protocol.deprecated x2`, waived ones marked."""
    counts = Counter((f.severity, f.rule, f.waived) for f in findings)
    lines = []
    for (severity, rule, waived), count in counts.items():
        label = f"{severity.value} {rule}" + (f" x{count}" if count > 1 else "") + (" (waived)" if waived else "")
        lines.append(_clean(label, "dim" if waived else _SEVERITY_STYLE[severity]))
    return lines


def _shown(result: Result) -> list[Finding]:
    """The findings a terminal row lists: all but info (the summary line counts those; the files list them)."""
    return [f for f in sorted_findings(result) if f.severity is not Severity.INFO]


def _joined(lines: Sequence[Text]) -> Text:
    return Text("\n").join(lines) if lines else Text("-")


def _endpoint_findings(result: EndpointResult) -> _Cell:
    error = result.observation.error
    if error is not None:
        return _words_cell(_clean(error.message[:_MAX_ERROR], "red"), _BREAKABLE_WORD)
    return _findings_cell(_shown(result))


def _compliant(value: bool | None) -> _Cell:
    return _words_cell(_clean(compliant_label(value), _COMPLIANT_STYLE[value]))


def _status(result: EndpointResult) -> Text:
    return _clean(status_label(result), "" if result.observation.status == "ok" else "red")


# --------------------------------------------------------------------------------------------- endpoints


def _hsts_label(result: EndpointResult) -> str:
    """The HSTS an HTTPS endpoint sends: `1y sub preload`, `1d`, `none`, `invalid`, `no answer`; `-` without a
    GET (not HTTPS, or --no-http)."""
    http = result.observation.http
    if http is None:
        return "-"
    if http.status is None:
        return "no answer"
    if http.hsts is None:
        return "none"
    age = http.hsts.max_age
    if age is None:
        return "invalid"
    day, year = 86400, 365 * 86400
    label = f"{age // year}y" if age and age % year == 0 else f"{age // day}d" if age and age % day == 0 else f"{age}s"
    return label + (" sub" if http.hsts.include_subdomains else "") + (" preload" if http.hsts.preload else "")


def _pq_label(result: EndpointResult) -> str:
    """The post-quantum key exchange of a TLS 1.3 endpoint: its first hybrid group (`+HRR` when an X25519 share
    draws a HelloRetryRequest for it), `none`; `-` when TLS 1.3 is not offered or nothing was probed."""
    pq = result.observation.pq
    if pq is None:
        return "-"
    if not pq.supported:
        return "none"
    return pq.supported[0] + (" +HRR" if pq.hrr_upgrade else "")


def _endpoint_layouts(results: Sequence[EndpointResult]) -> list[list[_Column]]:
    host = _Column("host", no_wrap=True)
    address = _Column("address:port", no_wrap=True)
    status = _Column("status")
    versions = _Column("versions", grow=1)
    findings = _Column("findings (severity rule)", grow=2)
    compliant = _Column("compliant")
    conns = _Column("conns", justify="right")
    hsts = _Column("hsts")  # only when an endpoint was asked GET / (HTTPS)
    pq = _Column("pq")  # only when an endpoint offers TLS 1.3 (post-quantum probes ran)
    endpoint = _Column("endpoint", no_wrap=True)
    state = _Column("status", grow=1)
    narrow_findings = _Column("findings", grow=2)
    for result in results:
        target = result.observation.target
        identity, dialled = host_port(target), address_port(target)
        host.cells.append(_ident(target.host))
        address.cells.append(_ident(dialled))
        status.cells.append(_words_cell(_status(result)))
        versions.cells.append(_words_cell(_clean(versions_label(result))))
        findings.cells.append(_endpoint_findings(result))
        compliant.cells.append(_compliant(result.compliant))
        conns.cells.append(_words_cell(_clean(str(result.observation.connections))))
        hsts.cells.append(_words_cell(_clean(_hsts_label(result))))
        pq.cells.append(_words_cell(_clean(_pq_label(result))))
        endpoint.cells.append(_ident(identity) if dialled == identity else _ident(identity, dialled))
        lines = [_status(result)]
        if result.observation.status == "ok":
            lines.append(_clean(versions_label(result)))
        if result.observation.pq is not None:
            lines.append(_clean(f"PQ {_pq_label(result)}"))
        if result.observation.http is not None:
            lines.append(_clean(f"HSTS {_hsts_label(result)}"))
        state.cells.append(_words_cell(Text("\n").join(lines)))
        narrow_findings.cells.append(_endpoint_findings(result))
    https = any(result.observation.http is not None for result in results)
    tls13 = any(result.observation.pq is not None for result in results)
    return [
        [host, address, status, versions, *([pq] if tls13 else []), *([hsts] if https else []), findings, compliant,
         conns],
        [endpoint, state, narrow_findings, compliant],
    ]


def _endpoint_block(result: EndpointResult) -> list[RenderableType]:
    target = result.observation.target
    identity, dialled = host_port(target), address_port(target)
    head = _clean(identity, "bold")
    if dialled != identity:
        head.append("  ")
        head.append(clean_text(dialled))
    facts = _status(result)
    if result.observation.status == "ok":
        facts.append(f" · TLS {versions_label(result)}")
    facts.append(" · compliant: ")
    facts.append(compliant_label(result.compliant), _COMPLIANT_STYLE[result.compliant])
    connections = result.observation.connections
    facts.append(f" · {connections} connection{'' if connections == 1 else 's'}")
    if result.observation.pq is not None:
        facts.append(f" · PQ {_pq_label(result)}")
    if result.observation.http is not None:
        facts.append(f" · HSTS {_hsts_label(result)}")
    details = [facts]
    error = result.observation.error
    if error is not None:
        details.append(_clean(error.message[:_MAX_ERROR], "red"))
    details += _finding_lines(_shown(result))
    return [head, *(Padding(line, (0, 0, 0, _INDENT)) for line in details)]


# --------------------------------------------------------------------------------------------- resources


def _resource_identity(item: ResourceResult) -> _Cell:
    """The ARN's resource part, then the name (or, for a nameless resource such as a region's EBS default
    encryption, its region, so that one per region is told apart)."""
    detail = resource_name(item.resource) or item.resource.region
    return _ident(item.resource.short_id, detail) if detail else _ident(item.resource.short_id)


def _resource_findings(item: ResourceResult) -> _Cell:
    return _findings_cell(_shown(item))


def _resource_layouts(items: Sequence[ResourceResult]) -> list[list[_Column]]:
    resource = _Column("resource", no_wrap=True)
    kind = _Column("kind", no_wrap=True)
    account = _Column("account", no_wrap=True)
    region = _Column("region", no_wrap=True)
    findings = _Column("findings (severity rule)", grow=2)
    compliant = _Column("compliant")
    narrow_findings = _Column("findings", grow=2)
    for item in items:
        res = item.resource
        resource.cells.append(_resource_identity(item))
        kind.cells.append(_ident(res.kind))
        account.cells.append(_ident(res.account or "-"))
        region.cells.append(_ident(res.region or "-"))
        findings.cells.append(_resource_findings(item))
        compliant.cells.append(_compliant(item.compliant))
        narrow_findings.cells.append(_resource_findings(item))
    return [
        [resource, kind, account, region, findings, compliant],
        [resource, kind, region, findings, compliant],
        [resource, narrow_findings, compliant],
    ]


def _resource_block(item: ResourceResult) -> list[RenderableType]:
    res = item.resource
    facts = _clean(" · ".join(part for part in (res.kind, resource_name(res), res.region, res.account) if part))
    facts.append(" · compliant: ")
    facts.append(compliant_label(item.compliant), _COMPLIANT_STYLE[item.compliant])
    details = [facts, *_finding_lines(_shown(item))]
    return [_clean(res.short_id, "bold"), *(Padding(line, (0, 0, 0, _INDENT)) for line in details)]


# ----------------------------------------------------------------------------------------------- the page


def _section(layouts: list[list[_Column]], blocks: list[list[RenderableType]], width: int,
             title: str | None) -> list[RenderableType]:
    """The first layout whose every line fits `width` unwrapped, else the first that fits with cells wrapped
    between words, else the stacked blocks; under `title` if given."""
    heading: list[RenderableType] = [Text(title, style="bold")] if title else []
    for wrap in (False, True):
        for columns in layouts:
            table = _fit(columns, width, wrap=wrap)
            if table is not None:
                return [*heading, table]
    return heading + [part for block in blocks for part in block]


def _summary_line(summary: Summary) -> Text:
    counts = ", ".join(f"{severity} {count}" for severity, count in summary.findings_by_severity.items()) or "none"
    line = f"{summary.endpoints} endpoints: {summary.ok} ok, {summary.errors} errors, {summary.compliant} compliant; "
    if summary.resources:
        line += f"{summary.resources} resources: {summary.resources_compliant} compliant; "
    return _clean(line + f"unwaived findings: {counts}")


def _page(endpoints: Sequence[EndpointResult], resources: Sequence[ResourceResult], summary: Summary,
          *, width: int, color: bool, note: str = "") -> str:
    endpoints = sorted(endpoints, key=endpoint_sort_key)
    resources = sorted(resources, key=resource_sort_key)
    parts: list[RenderableType] = []
    if endpoints or not resources:
        parts += _section(_endpoint_layouts(endpoints), [_endpoint_block(r) for r in endpoints], width,
                          "Endpoints" if resources else None)
    if resources:
        parts += _section(_resource_layouts(resources), [_resource_block(r) for r in resources], width, "Resources")
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
    console.print(Group(*parts))
    console.print(_summary_line(summary))
    if note:
        console.print(note)
    return "".join(f"{_rstrip(line)}\n" for line in buffer.getvalue().splitlines())


def _rstrip(line: str) -> str:
    """`line` without trailing blanks; the colour codes among them are kept."""
    tail = _TRAILING_BLANKS.search(line)
    return line if tail is None else line[: tail.start()] + "".join(_SGR.findall(tail.group()))


def format_table(doc: ReportInput, *, width: int = 120, color: bool = False) -> str:
    """The endpoints, the resources and a summary line as text `width` columns wide; ANSI colour only if
    `color`."""
    data = report_data(doc)
    return _page(data.endpoints, data.resources, data.summary, width=width, color=color)


def render_table(items: Iterable[Result], context: ReportContext) -> str:
    """The registry's table: the results `context.width` columns wide (colour if `context.color`)."""
    from probe.report.streaming import omitted_note

    data = report_data(items)
    totals = context.totals
    return _page(data.endpoints, data.resources, totals.summary if totals else data.summary, width=context.width,
                 color=context.color, note=omitted_note(totals) if totals else "")
