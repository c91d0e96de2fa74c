"""Post-quantum key exchange judged (pure): absent, not preferred, obsolete; and declared versus observed.

Only the standardised hybrids count as readiness: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024. The draft
X25519Kyber768Draft00 is obsolete, pure ML-KEM is not a hybrid. Post-quantum key exchange needs TLS 1.3, so an
endpoint that refuses TLS 1.3 has none; an endpoint whose post-quantum groups were not probed (`pq` None while
TLS 1.3 is accepted, as with the sslyze engine) is not judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from probe.models import Finding, Observation, Severity
from probe.policy import rule_ids as R
from probe.policy.profile import Profile

__all__ = ["HYBRID_GROUPS", "OBSOLETE_GROUPS", "PQ_GROUP_NAMES", "hybrids_of", "pq_drift", "pq_findings"]

HYBRID_GROUPS: tuple[str, ...] = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
OBSOLETE_GROUPS: tuple[str, ...] = ("X25519Kyber768Draft00",)
PQ_GROUP_NAMES: tuple[str, ...] = (*HYBRID_GROUPS, *OBSOLETE_GROUPS, "MLKEM512", "MLKEM768", "MLKEM1024")


def hybrids_of(groups: tuple[str, ...] | list[str]) -> list[str]:
    """The hybrid post-quantum groups among `groups`, in their order."""
    return [g for g in groups if g in HYBRID_GROUPS]


def _finding(profile: Profile, rule: str, severity: Severity, message: str, evidence: dict[str, Any]) -> Finding:
    return Finding(rule=rule, severity=severity, clause=profile.clause(rule), message=message, evidence=evidence)


def pq_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    """`tls.kex.pq_absent`, `tls.kex.pq_not_preferred`, `tls.kex.pq_obsolete` under the profile's `pq` settings."""
    settings = profile.pq
    if settings is None or obs.status != "ok":
        return
    tls13 = obs.tls_versions.get("TLSv1.3")
    pq = obs.pq
    if settings.absent_severity is not None:
        if tls13 is False and any(obs.tls_versions.values()):
            yield _finding(profile, R.KEX_PQ_ABSENT, settings.absent_severity,
                           "no post-quantum key exchange: TLS 1.3 is not enabled",
                           {"tls13": False, "supported": []})
        elif pq is not None and not hybrids_of(pq.supported) and not hybrids_of(pq.undecided):
            yield _finding(profile, R.KEX_PQ_ABSENT, settings.absent_severity,
                           "no hybrid post-quantum key exchange group is accepted "
                           f"({', '.join(HYBRID_GROUPS)})", {"tls13": True, "supported": list(pq.supported)})
    if pq is None:
        return
    hybrids = hybrids_of(pq.supported)
    if (settings.not_preferred_severity is not None and hybrids and pq.negotiated is not None
            and pq.negotiated not in HYBRID_GROUPS):
        yield _finding(profile, R.KEX_PQ_NOT_PREFERRED, settings.not_preferred_severity,
                       f"{pq.negotiated} is negotiated under a browser-like hello although "
                       f"{', '.join(hybrids)} {'is' if len(hybrids) == 1 else 'are'} accepted",
                       {"negotiated": pq.negotiated, "supported": list(pq.supported)})
    obsolete = [g for g in pq.supported if g in OBSOLETE_GROUPS]
    if settings.obsolete_severity is not None and obsolete:
        yield _finding(profile, R.KEX_PQ_OBSOLETE, settings.obsolete_severity,
                       f"the obsolete draft group {', '.join(obsolete)} is still accepted",
                       {"groups": obsolete, "supported": list(pq.supported)})


def pq_drift(declared_groups: tuple[str, ...], declared_tls13: bool, observed: Observation, *, policy_name: str,
             severity: Severity, clause: str) -> list[Finding]:
    """`drift.pq`: hybrid groups declared (for TLS 1.3) but not accepted on the wire (`severity`), or accepted but
    not declared (info). Only observations whose post-quantum groups were probed are compared."""
    if observed.status != "ok" or observed.pq is None or observed.pq.undecided:
        return []
    declared = hybrids_of(list(declared_groups)) if declared_tls13 else []
    seen = hybrids_of(observed.pq.supported)
    findings = []
    missing = [g for g in declared if g not in seen]
    extra = [g for g in seen if g not in declared]
    if missing:
        findings.append(Finding(rule=R.DRIFT_PQ, severity=severity, clause=clause,
                                message=f"{', '.join(missing)} declared by {policy_name} but not accepted",
                                evidence={"declared_policy": policy_name, "items": missing}))
    if extra:
        findings.append(Finding(rule=R.DRIFT_PQ, severity=Severity.INFO, clause=clause,
                                message=f"{', '.join(extra)} accepted but not declared by {policy_name}",
                                evidence={"declared_policy": policy_name, "items": extra}))
    return findings
