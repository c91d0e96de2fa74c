"""JUnit XML: a test suite per endpoint, a test case per endpoint x rule; failures for unwaived findings,
skipped for waived ones, an error case for an errored endpoint (never a pass)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from probe.models import EndpointResult, Finding

# Characters XML 1.0 cannot carry at all.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _failure_text(findings: list[Finding]) -> str:
    return "\n".join(f"[{f.severity.value}] {f.message} ({f.clause})" for f in findings)


def render_junit(results: Iterable[EndpointResult], *, rules: Sequence[str] = (), name: str = "tlsprobe") -> str:
    """JUnit XML text. Rule cases cover `rules` (e.g. the profile's active rules) plus every rule found."""
    materialised = list(results)
    universe = list(dict.fromkeys([*rules, *(f.rule for r in materialised for f in r.findings)]))
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in materialised:
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
                case = ET.SubElement(suite, "testcase", classname=key, name=rule)
                counts["tests"] += 1
                hits = [f for f in result.findings if f.rule == rule]
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
        for field, value in counts.items():
            suite.set(field, str(value))
            totals[field] += value
    for field, value in totals.items():
        root.set(field, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
