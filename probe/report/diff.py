"""The diff of two sweeps (probe.diff.SweepDiff) as JSON (schema tlsprobe.diff/1) and as Markdown. No IO.

A change's `endpoint` is an endpoint's key (host:port@ip) or a resource's id (its ARN): both are shown as they
are, never as a made-up host name.
"""

from __future__ import annotations

import json
from typing import Any

from probe.diff import EndpointChange, SweepDiff
from probe.report.escape import json_safe, md_code, md_escape

DIFF_SCHEMA_ID = "tlsprobe.diff/1"


def diff_to_dict(diff: SweepDiff) -> dict[str, Any]:
    """A JSON-ready dict of the diff (schema tlsprobe.diff/1)."""
    body = diff.model_dump(mode="json")
    for change, data in zip(diff.changes, body["changes"], strict=True):
        data["compliance_flipped"] = change.compliance_flipped
    result: dict[str, Any] = json_safe({"schema": DIFF_SCHEMA_ID, **body})
    return result


def render_diff_json(diff: SweepDiff) -> str:
    """The diff as pretty JSON text (tlsprobe.diff/1)."""
    return json.dumps(diff_to_dict(diff), indent=2, ensure_ascii=False) + "\n"


def _flip(value: bool | None) -> str:
    return {True: "compliant", False: "non-compliant", None: "unknown"}[value]


def _change_lines(change: EndpointChange) -> list[str]:
    lines: list[str] = []

    def listed(label: str, names: tuple[str, ...]) -> None:
        if names:
            lines.append(f"- {label}: " + ", ".join(md_code(n) for n in names))

    listed("protocols enabled", change.protocols_enabled)
    listed("protocols disabled", change.protocols_disabled)
    listed("suites enabled", change.suites_enabled)
    listed("suites disabled", change.suites_disabled)
    if change.key_change:
        old_key, new_key = md_escape(change.key_old or ""), md_escape(change.key_new or "")
        lines.append(f"- key {change.key_change}: {old_key} → {new_key}")
    if change.certificate_replaced:
        lines.append("- certificate replaced")
    if change.newly_expiring:
        lines.append("- certificate newly expiring")
    if change.became_errored:
        lines.append(f"- became errored: {md_escape(change.error or '')}")
    if change.recovered:
        lines.append("- recovered from an error")
    if change.compliance_flipped:
        lines.append(f"- compliance: {_flip(change.compliant_before)} → {_flip(change.compliant_after)}")
    for label, refs in (("new", change.new_findings), ("raised", change.raised_findings),
                        ("resolved", change.resolved_findings)):
        for ref in refs:
            waived = " (waived)" if ref.waived else ""
            rule = md_code(ref.rule)
            lines.append(f"- {label} finding {rule} ({ref.severity.value}){waived}: {md_escape(ref.message)}")
    return lines


def render_diff_md(diff: SweepDiff) -> str:
    """The diff as Markdown for chat and tickets."""
    worst = diff.worst()
    lines = [
        "# tlsprobe diff",
        "",
        f"{diff.compared} endpoints and resources compared; {len(diff.appeared)} appeared, "
        f"{len(diff.disappeared)} disappeared; {len(diff.regressions)} regressions"
        + (f" (worst: {worst.value})" if worst else "") + ".",
        "",
        "## Regressions",
        "",
    ]
    if diff.regressions:
        lines += ["| severity | endpoint / resource | kind | rule | change |", "|---|---|---|---|---|"]
        for r in diff.regressions:
            lines.append(f"| {r.severity.value} | {md_escape(r.endpoint)} | {r.kind} | "
                         f"{md_code(r.rule) if r.rule else '-'} | {md_escape(r.message)} |")
    else:
        lines.append("None.")
    for title, keys in (("Appeared", diff.appeared), ("Disappeared", diff.disappeared)):
        if keys:
            lines += ["", f"## {title}", ""] + [f"- {md_escape(k)}" for k in keys]
    if diff.changes:
        lines += ["", "## Changes"]
        for change in diff.changes:
            lines += ["", f"### {md_escape(change.endpoint)}", "", *_change_lines(change)]
    return "\n".join(lines) + "\n"
