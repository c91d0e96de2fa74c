"""JUnit XML: a test suite per endpoint, a test case per endpoint x rule; failures for unwaived findings,
skipped for waived ones, an error case for an errored endpoint (never a pass).

Resources (ACM certificates, KMS keys ...) have one test suite, `resources`: a test case per resource x rule
found on resources of its kind (class name: the resource's full id), or one `posture` case for a resource
whose kind has no finding anywhere in the run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from probe.models import Finding
from probe.report.context import ReportContext, Result, split_results

RESOURCE_SUITE = "resources"
# Characters XML 1.0 cannot carry at all.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _failure_text(findings: list[Finding]) -> str:
    return "\n".join(f"[{f.severity.value}] {f.message} ({f.clause})" for f in findings)


def _rule_case(suite: ET.Element, classname: str, rule: str, findings: Sequence[Finding],
               counts: dict[str, int]) -> None:
    """One case: a failure for the rule's unwaived findings, skipped when they are all waived, else a pass."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=rule)
    counts["tests"] += 1
    hits = [f for f in findings if f.rule == rule]
    live = [f for f in hits if not f.waived]
    if live:
        worst = max(live, key=lambda f: f.severity.rank)
        ET.SubElement(case, "failure", type=worst.severity.value, message=_x(worst.message)).text = _x(
            _failure_text(live)
        )
        counts["failures"] += 1
    elif hits:
        reasons = "; ".join(f.waiver.reason for f in hits if f.waiver) or "waived"
        ET.SubElement(case, "skipped", message=_x(f"waived: {reasons}"))
        counts["skipped"] += 1


def build_junit(items: Iterable[Result], *, rules: Sequence[str] = (), name: str = "tlsprobe") -> str:
    """JUnit XML text. Endpoint rule cases cover `rules` (e.g. the profile's active rules) plus every rule found
    on an endpoint; resource cases every rule found on a resource of the same kind."""
    endpoints, resources = split_results(items)
    universe = list(dict.fromkeys([*rules, *(f.rule for r in endpoints for f in r.findings)]))
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def close(suite: ET.Element, counts: dict[str, int]) -> None:
        for field, value in counts.items():
            suite.set(field, str(value))
            totals[field] += value

    for result in endpoints:
        key = _x(result.observation.target.key)
        suite = ET.SubElement(root, "testsuite", name=key)
        counts = dict.fromkeys(totals, 0)
        if result.observation.status == "error":
            case = ET.SubElement(suite, "testcase", classname=key, name="scan")
            error = result.observation.error
            kind = error.kind.value if error else "error"
            message = error.message if error else "endpoint could not be scanned"
            ET.SubElement(case, "error", type=kind, message=_x(f"{kind}: {message}")).text = _x(message)
            counts["tests"] += 1
            counts["errors"] += 1
        else:
            for rule in universe:
                _rule_case(suite, key, rule, result.findings, counts)
        close(suite, counts)
    if resources:
        by_kind: dict[str, list[str]] = {}
        for item in resources:
            by_kind.setdefault(item.resource.kind, []).extend(f.rule for f in item.findings)
        suite = ET.SubElement(root, "testsuite", name=RESOURCE_SUITE)
        counts = dict.fromkeys(totals, 0)
        for item in resources:
            classname = _x(item.resource.id)
            kind_rules = list(dict.fromkeys(by_kind[item.resource.kind]))
            for rule in kind_rules:
                _rule_case(suite, classname, rule, item.findings, counts)
            if not kind_rules:
                ET.SubElement(suite, "testcase", classname=classname, name="posture")
                counts["tests"] += 1
        close(suite, counts)
    for field, value in totals.items():
        root.set(field, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_junit(items: Iterable[Result], context: ReportContext) -> str:
    """The registry's JUnit: the profile's active rules (`context.rules`), named after the report's title."""
    return build_junit(items, rules=context.rules, name=context.title)
