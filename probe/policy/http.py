"""HSTS rules (RFC 6797) on the `GET /` of HTTPS endpoints (Observation.http). Pure.

Judged only when the endpoint answered (a status); a request that failed is `http.error`, never a finding.
- `http.hsts.missing`: no Strict-Transport-Security header, one browsers ignore (no valid max-age, a repeated
  directive, not the grammar), or max-age=0 (which tells browsers to forget the host).
- `http.hsts.ineffective`: a valid header behind a certificate that does not validate (untrusted chain, another
  name, expired): browsers ignore HSTS received over a connection with certificate errors (RFC 6797 8.1).
- `http.hsts.short_max_age`: max-age below the profile's `hsts.min_max_age` (one year in op-pol-001).
- `http.hsts.no_subdomains`: no includeSubDomains.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from probe.models import CertificateInfo, Finding, HstsHeader, Observation, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import Profile

__all__ = ["certificate_problems", "hsts_findings"]


def _finding(profile: Profile, rule: str, severity: Severity, message: str, evidence: dict[str, Any]) -> Finding:
    return Finding(rule=rule, severity=severity, clause=profile.clause(rule), message=message, evidence=evidence)


def certificate_problems(cert: CertificateInfo) -> list[str]:
    """Why a browser would refuse this certificate ([] when it validates)."""
    problems = []
    if not cert.chain_trusted:
        problems.append("untrusted chain")
    if not cert.hostname_match:
        problems.append("another host name")
    if cert.days_to_expiry < 0:
        problems.append("expired")
    return problems


def _missing_reason(header: HstsHeader | None) -> str | None:
    if header is None:
        return "no Strict-Transport-Security header"
    if header.max_age is None:
        return ("its Strict-Transport-Security header is not valid (RFC 6797 6.1: max-age missing or not a number, "
                "a repeated directive, or not the header's grammar) and browsers ignore it")
    if header.max_age == 0:
        return "its Strict-Transport-Security header has max-age=0, which tells browsers to forget HSTS"
    return None


def hsts_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    """HSTS findings of one observation ([] without an HSTS section in the profile or an HTTP answer)."""
    settings, http = profile.hsts, obs.http
    if settings is None or http is None or http.status is None:
        return
    header = http.hsts
    evidence: dict[str, Any] = {"status": http.status, "header": header.raw if header else None}
    reason = _missing_reason(header)
    if reason is not None or header is None:
        if settings.missing_severity is not None:
            yield _finding(profile, R.HSTS_MISSING, settings.missing_severity, f"HTTPS endpoint without HSTS: {reason}",
                           evidence)
        return
    evidence.update(max_age=header.max_age, include_subdomains=header.include_subdomains, preload=header.preload)
    problems = certificate_problems(obs.certificates[0]) if obs.certificates else []
    if problems and settings.ineffective_severity is not None:
        yield _finding(profile, R.HSTS_INEFFECTIVE, settings.ineffective_severity,
                       f"HSTS is served behind a certificate that does not validate ({', '.join(problems)}): "
                       "browsers ignore it", {**evidence, "certificate": obs.certificates[0].subject,
                                              "certificate_problems": problems})
    assert header.max_age is not None
    if header.max_age < settings.min_max_age and settings.short_max_age_severity is not None:
        yield _finding(profile, R.HSTS_SHORT_MAX_AGE, settings.short_max_age_severity,
                       f"HSTS max-age is {header.max_age} s, below {settings.min_max_age} s",
                       {**evidence, "minimum_max_age": settings.min_max_age})
    if not header.include_subdomains and settings.no_subdomains_severity is not None:
        yield _finding(profile, R.HSTS_NO_SUBDOMAINS, settings.no_subdomains_severity,
                       "HSTS does not cover subdomains (no includeSubDomains)", evidence)
