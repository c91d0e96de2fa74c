"""One self-contained HTML report: summary, findings by severity (endpoints' and resources'), endpoint x protocol
matrix, resources (ACM certificates, KMS keys ... by their full id), the policy's coverage matrix (a row per
clause), certificate expiry timeline (inline SVG) and
filters (a little inline JS). No external URL; every value is escaped (certificate subjects and error messages
are attacker-controlled)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape

from probe.models import TLS_VERSIONS, EndpointResult, Finding, ResourceResult, Severity
from probe.report.context import ReportContext, Result, Totals, split_results
from probe.report.escape import clean_text
from probe.report.view import compliant_label, resource_sort_key, worst_severity

_SEVERITY_COLOURS = {"critical": "#7b1fa2", "high": "#d32f2f", "medium": "#f57c00", "low": "#fbc02d", "info": "#90a4ae"}
_SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
_TIMELINE_MIN, _TIMELINE_MAX = -30, 400

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f7fa;color:#1d2733}
header{background:#1f3a5f;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
main{padding:18px 28px}section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);
margin-bottom:18px;padding:14px 18px}h2{font-size:17px;margin:0 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border-radius:6px;padding:10px 16px;min-width:110px;
background:#e8eef6}.card b{display:block;font-size:24px}.card span{font-size:12px;color:#4a5a6a}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e8ee;padding:5px 8px;
text-align:left;vertical-align:top}th{background:#f0f3f7}td.on{background:#c8e6c9;text-align:center}
td.off{background:#eceff1;color:#78909c;text-align:center}td.bad{background:#ffcdd2;text-align:center;
font-weight:600}td.unk{text-align:center;color:#90a4ae}.sev{display:inline-block;border-radius:3px;padding:1px 6px;
color:#fff;font-size:11px;font-weight:600;text-transform:uppercase}.yes{color:#2e7d32;font-weight:600}
.no{color:#c62828;font-weight:600}.err{color:#6d4c41}.filters{display:flex;gap:14px;align-items:center;
font-size:13px;margin-bottom:10px}.filters input,.filters select{padding:4px 6px}.hidden{display:none}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.key{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
"""

_JS = """
(function(){
  var order={info:0,low:1,medium:2,high:3,critical:4};
  function apply(){
    var text=document.getElementById('f-text').value.toLowerCase();
    var min=order[document.getElementById('f-sev').value]||0;
    var only=document.getElementById('f-noncompliant').checked;
    document.querySelectorAll('tr.endpoint-row,tr.resource-row').forEach(function(row){
      var ok=row.getAttribute('data-search').indexOf(text)>=0;
      if(only&&row.getAttribute('data-compliant')!=='no'){ok=false;}
      row.classList.toggle('hidden',!ok);
    });
    document.querySelectorAll('tr.finding-row').forEach(function(row){
      var ok=row.getAttribute('data-search').indexOf(text)>=0&&order[row.getAttribute('data-severity')]>=min;
      row.classList.toggle('hidden',!ok);
    });
  }
  ['f-text','f-sev','f-noncompliant'].forEach(function(id){
    var el=document.getElementById(id);el.addEventListener('input',apply);el.addEventListener('change',apply);
  });
})();
"""


def _e(value: object) -> str:
    """Escaped, single-line text for HTML content and attribute values."""
    return escape(clean_text(str(value)), quote=True)


def _badge(severity: str) -> str:
    return f'<span class="sev" style="background:{_SEVERITY_COLOURS[severity]}">{_e(severity)}</span>'


def _summary(results: list[EndpointResult], resources: list[ResourceResult], counts: Counter[str],
             totals: Totals | None = None) -> str:
    if totals is not None:  # a capped report: the whole run's counts
        whole = totals.summary
        cards = [("endpoints", whole.endpoints), ("scanned", whole.ok), ("errored", whole.errors),
                 ("compliant", whole.compliant), ("non-compliant", totals.noncompliant)]
        if whole.resources:
            cards += [("resources", whole.resources), ("resources compliant", whole.resources_compliant),
                      ("resources non-compliant", totals.resources_noncompliant)]
    else:
        ok = sum(1 for r in results if r.observation.status == "ok")
        compliant = sum(1 for r in results if r.compliant is True)
        cards = [
            ("endpoints", len(results)),
            ("scanned", ok),
            ("errored", len(results) - ok),
            ("compliant", compliant),
            ("non-compliant", sum(1 for r in results if r.compliant is False)),
        ]
        if resources:
            cards += [
                ("resources", len(resources)),
                ("resources compliant", sum(1 for r in resources if r.compliant is True)),
                ("resources non-compliant", sum(1 for r in resources if r.compliant is False)),
            ]
    cards += [(f"{s} findings", counts.get(s, 0)) for s in _SEVERITIES if s != "info"]
    body = "".join(
        f'<div class="card" id="card-{_e(name.replace(" ", "-"))}"><b>{value}</b><span>{_e(name)}</span></div>'
        for name, value in cards
    )
    return f'<section id="summary"><h2>Summary</h2><div class="cards">{body}</div></section>'


def _severity_chart(counts: Counter[str]) -> str:
    top = max(counts.values(), default=0) or 1
    bars = []
    for index, severity in enumerate(_SEVERITIES):
        n = counts.get(severity, 0)
        width = int(420 * n / top)
        y = 8 + index * 26
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{severity}</text>'
            f'<rect x="80" y="{y}" width="{max(width, 1)}" height="18" fill="{_SEVERITY_COLOURS[severity]}"/>'
            f'<text x="{86 + width}" y="{y + 14}" font-size="12">{n}</text>'
        )
    height = 16 + 26 * len(_SEVERITIES)
    return (
        f'<svg id="severity-chart" width="560" height="{height}" viewBox="0 0 560 {height}" role="img" '
        f'aria-label="findings by severity">{"".join(bars)}</svg>'
    )


def _findings(results: list[EndpointResult], resources: list[ResourceResult], counts: Counter[str]) -> str:
    rows = []
    live: list[tuple[str, Finding]] = [(r.observation.target.key, f) for r in results for f in r.findings
                                       if not f.waived]
    live += [(r.resource.id, f) for r in resources for f in r.findings if not f.waived]
    for key, f in sorted(live, key=lambda kf: (-kf[1].severity.rank, kf[0], kf[1].rule)):
        search = f"{key} {f.rule} {f.message}".lower()
        rows.append(
            f'<tr class="finding-row" data-severity="{f.severity.value}" data-search="{_e(search)}">'
            f'<td>{_badge(f.severity.value)}</td><td class="key">{_e(key)}</td>'
            f'<td class="key">{_e(f.rule)}</td><td>{_e(f.clause)}</td><td>{_e(f.message)}</td></tr>'
        )
    table = (
        '<table id="findings-table"><thead><tr><th>severity</th><th>endpoint / resource</th><th>rule</th>'
        f"<th>clause</th><th>finding</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>No unwaived findings.</p>"
    )
    return f'<section id="findings"><h2>Findings by severity</h2>{_severity_chart(counts)}{table}</section>'


def _matrix(results: list[EndpointResult]) -> str:
    head = "".join(f"<th>{_e(v)}</th>" for v in TLS_VERSIONS)
    rows = []
    for result in results:
        obs = result.observation
        key = obs.target.key
        flagged = {
            str(f.evidence.get("version"))
            for f in result.findings
            if f.rule == "tls.protocol.deprecated" and not f.waived
        }
        cells = []
        for version in TLS_VERSIONS:
            state = obs.tls_versions.get(version) if obs.status == "ok" else None
            if state is None:
                cells.append('<td class="unk">?</td>')
            elif state:
                cells.append('<td class="bad">on</td>' if version in flagged else '<td class="on">on</td>')
            else:
                cells.append('<td class="off">off</td>')
        compliant = {True: "yes", False: "no", None: "-"}[result.compliant]
        if obs.status == "error":
            status = f'<span class="err">error: {_e(obs.error.kind.value if obs.error else "?")}</span>'
            detail = _e(obs.error.message) if obs.error else ""
        else:
            status = "ok"
            cert = obs.certificates[0] if obs.certificates else None
            detail = _e(cert.subject) if cert else ""
        worst = max((f.severity for f in result.findings if not f.waived), key=lambda s: s.rank, default=None)
        search = f"{key} {detail}".lower()
        rows.append(
            f'<tr class="endpoint-row" data-endpoint="{_e(key)}" data-compliant="{compliant}" '
            f'data-search="{_e(search)}"><td class="key">{_e(key)}</td><td>{status}</td>'
            f'<td class="{compliant}">{compliant}</td><td>{_badge(worst.value) if worst else ""}</td>'
            f"{''.join(cells)}<td>{detail}</td></tr>"
        )
    return (
        '<section id="endpoints"><h2>Endpoints x protocols</h2><table id="endpoint-table"><thead><tr>'
        f"<th>endpoint</th><th>status</th><th>compliant</th><th>worst</th>{head}<th>certificate / error</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _resources(resources: list[ResourceResult]) -> str:
    if not resources:
        return ""
    rows = []
    for item in sorted(resources, key=resource_sort_key):
        res = item.resource
        compliant = compliant_label(item.compliant)
        worst = worst_severity(item)
        rules = ", ".join(dict.fromkeys(f.rule for f in item.findings if not f.waived)) or "-"
        waived = sum(1 for f in item.findings if f.waived)
        rules += f" (+{waived} waived)" if waived else ""
        search = f"{res.id} {res.kind} {res.name or ''} {rules}".lower()
        rows.append(
            f'<tr class="resource-row" data-resource="{_e(res.id)}" data-compliant="{compliant}" '
            f'data-search="{_e(search)}"><td class="mono">{_e(res.id)}</td><td class="key">{_e(res.kind)}</td>'
            f"<td>{_e(res.name or '')}</td><td>{_e(res.account or '')}</td><td>{_e(res.region or '')}</td>"
            f'<td class="{compliant}">{compliant}</td><td>{_badge(worst.value) if worst else ""}</td>'
            f'<td class="key">{_e(rules)}</td></tr>'
        )
    return (
        '<section id="resources"><h2>Resources</h2><table id="resource-table"><thead><tr><th>resource</th>'
        "<th>kind</th><th>name</th><th>account</th><th>region</th><th>compliant</th><th>worst</th><th>findings</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _timeline(results: list[EndpointResult], expiry_warning_days: int) -> str:
    certs = [
        (r.observation.target.key, c)
        for r in results
        if r.observation.status == "ok"
        for c in r.observation.certificates[:1]
    ]
    certs.sort(key=lambda kc: kc[1].days_to_expiry)
    width, left, row_h = 900, 220, 18
    span = _TIMELINE_MAX - _TIMELINE_MIN

    def x(days: int) -> float:
        clamped = min(max(days, _TIMELINE_MIN), _TIMELINE_MAX)
        return left + (width - left - 20) * (clamped - _TIMELINE_MIN) / span

    height = 40 + row_h * max(len(certs), 1)
    parts = [
        f'<rect x="{x(_TIMELINE_MIN):.1f}" y="20" width="{x(0) - x(_TIMELINE_MIN):.1f}" '
        f'height="{height - 30}" fill="#ffebee"/>',
        f'<rect x="{x(0):.1f}" y="20" width="{x(expiry_warning_days) - x(0):.1f}" height="{height - 30}" '
        'fill="#fff3e0"/>',
    ]
    for tick in (-30, 0, 30, 90, 180, 365):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="16" x2="{x(tick):.1f}" y2="{height - 10}" stroke="#b0bec5"/>'
            f'<text x="{x(tick):.1f}" y="12" font-size="10" text-anchor="middle">{tick}d</text>'
        )
    for index, (key, cert) in enumerate(certs):
        y = 30 + index * row_h
        days = cert.days_to_expiry
        colour = "#c62828" if days < 0 else "#ef6c00" if days <= expiry_warning_days else "#2e7d32"
        label = f"{key}: {cert.subject} expires in {days} days ({cert.not_after.date().isoformat()})"
        parts.append(
            f'<text x="0" y="{y + 4}" font-size="11">{_e(key)[:34]}</text>'
            f'<circle class="expiry-point" cx="{x(days):.1f}" cy="{y}" r="6" fill="{colour}">'
            f"<title>{_e(label)}</title></circle>"
        )
    if not certs:
        parts.append('<text x="230" y="40" font-size="12">no certificates</text>')
    return (
        f'<section id="timeline"><h2>Certificate expiry (days from now)</h2><svg id="expiry-timeline" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="certificate expiry timeline">{"".join(parts)}</svg></section>'
    )


def _coverage(results: list[EndpointResult], resources: list[ResourceResult], context: ReportContext) -> str:
    """The policy's coverage matrix (probe.report.coverage), clause by clause; none when the profile lists no
    clauses."""
    from probe.report.coverage import coverage_html, report_coverage

    coverage = report_coverage(context, results, resources)
    return coverage_html(coverage) if coverage is not None else ""


def render_html(
    items: Iterable[Result],
    context: ReportContext,
    *,
    generated_at: datetime | None = None,
    expiry_warning_days: int = 30,
) -> str:
    """The whole report as one HTML document (inline CSS, JS and SVG; nothing fetched), titled from `context`."""
    materialised, resources = split_results(items)
    everything: list[Result] = [*materialised, *resources]
    counts: Counter[str] = Counter(f.severity.value for r in everything for f in r.findings if not f.waived)
    totals = context.totals
    if totals is not None:
        counts = Counter(totals.summary.findings_by_severity)
    from probe.report.streaming import omitted_note

    note = f'<p id="omitted">{_e(omitted_note(totals))}</p>' if totals is not None and totals.omitted else ""
    title, subtitle = context.title, context.subtitle
    moment = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    filters = (
        '<div class="filters"><label>search <input id="f-text" type="search" placeholder="endpoint, resource, '
        'rule, subject"></label><label>minimum severity <select id="f-sev">'
        + "".join(f'<option value="{s}">{s}</option>' for s in reversed(_SEVERITIES))
        + '</select></label><label><input id="f-noncompliant" type="checkbox"> non-compliant only</label></div>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body><header><h1>{_e(title)}</h1>"
        f"<p>{_e(subtitle) + ' · ' if subtitle else ''}generated {_e(moment)}</p></header><main>"
        f"{_summary(materialised, resources, counts, totals)}{note}"
        f'<section id="filters"><h2>Filters</h2>{filters}</section>'
        f"{_matrix(materialised)}{_resources(resources)}{_coverage(materialised, resources, context)}"
        f"{_findings(materialised, resources, counts)}"
        f"{_timeline(materialised, expiry_warning_days)}"
        f"</main><script>{_JS}</script></body></html>\n"
    )
