"""The compliance verdict, in one place: no unwaived finding at or above the profile's threshold."""

from __future__ import annotations

from collections.abc import Iterable

from probe.models import Finding, Severity

__all__ = ["compliant"]


def compliant(findings: Iterable[Finding], threshold: Severity) -> bool:
    """True when no unwaived finding is at or above `threshold`."""
    return not any(not f.waived and f.severity >= threshold for f in findings)
