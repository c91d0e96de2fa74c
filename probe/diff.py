"""What changed between two sweeps, and which changes are regressions. Pure: no IO.

Endpoints are matched by `Target.key`; sweeps over different target sets are compared on their
intersection, with appeared and disappeared endpoints listed. A regression is a change that adds or raises
an unwaived finding, enables a protocol or cipher suite the profile flags, weakens a certificate key, or
leaves an endpoint errored for `debounce` consecutive sweeps; each carries a severity. The diff's JSON and
Markdown are rendered in probe/report/diff.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from probe.models import TLS_VERSIONS, CertificateInfo, EndpointResult, Finding, Frozen, ResourceResult, Severity
from probe.policy.pq import hybrids_of
from probe.policy.profile import Profile
from probe.policy.suites import suite_traits

RegressionKind = Literal["finding", "protocol", "suite", "key", "errored", "kex"]
# (kind "protocol" | "suite", name) -> the severity the profile gives it, None when not flagged.
FlagLookup = Callable[[str, str], Severity | None]

# Approximate security strength in bits (NIST SP 800-57) for comparing keys of different types.
_RSA_STRENGTH = ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80), (0, 0))
_FIXED_STRENGTH = {"ED25519": 128, "ED448": 224}


class FindingRef(Frozen):
    """A finding as the diff reports it."""

    rule: str
    severity: Severity
    message: str
    waived: bool = False


class Regression(Frozen):
    """One change for the worse, with the severity that decides `--fail-on`."""

    endpoint: str
    kind: RegressionKind
    severity: Severity
    message: str
    rule: str | None = None


class EndpointChange(Frozen):
    """Everything that changed on one endpoint present in both sweeps."""

    endpoint: str
    protocols_enabled: tuple[str, ...] = ()
    protocols_disabled: tuple[str, ...] = ()
    suites_enabled: tuple[str, ...] = ()
    suites_disabled: tuple[str, ...] = ()
    pq_groups_lost: tuple[str, ...] = ()  # hybrid post-quantum groups no longer accepted
    pq_groups_gained: tuple[str, ...] = ()
    key_change: Literal["weakened", "strengthened"] | None = None
    key_old: str | None = None
    key_new: str | None = None
    certificate_replaced: bool = False
    newly_expiring: bool = False
    new_findings: tuple[FindingRef, ...] = ()
    raised_findings: tuple[FindingRef, ...] = ()
    resolved_findings: tuple[FindingRef, ...] = ()
    compliant_before: bool | None = None
    compliant_after: bool | None = None
    became_errored: bool = False
    recovered: bool = False
    error: str | None = None

    @property
    def compliance_flipped(self) -> bool:
        return self.compliant_before != self.compliant_after

    @property
    def empty(self) -> bool:
        return self == EndpointChange(endpoint=self.endpoint, compliant_before=self.compliant_before,
                                      compliant_after=self.compliant_after, error=self.error)


class SweepDiff(Frozen):
    """The diff of two sweeps: per-endpoint changes (only endpoints that changed) and the regressions."""

    compared: int
    appeared: tuple[str, ...] = ()
    disappeared: tuple[str, ...] = ()
    changes: tuple[EndpointChange, ...] = ()
    regressions: tuple[Regression, ...] = ()

    def worst(self) -> Severity | None:
        return max((r.severity for r in self.regressions), key=lambda s: s.rank, default=None)


def profile_flags(profile: Profile) -> FlagLookup:
    """The FlagLookup of a policy profile: the severity its rules give a protocol version or a suite."""

    def lookup(kind: str, name: str) -> Severity | None:
        if kind == "protocol":
            return profile.protocols.deprecated.get(name)
        traits = suite_traits(name)
        ciphers = profile.ciphers
        candidates = [ciphers.prohibited[f] for f in traits.families if f in ciphers.prohibited]
        if traits.sha1_mac and ciphers.sha1_mac_severity is not None:
            candidates.append(ciphers.sha1_mac_severity)
        if traits.cipher_bits is not None and 0 < traits.cipher_bits < 256 and ciphers.below_256_bit_severity:
            candidates.append(ciphers.below_256_bit_severity)
        if ciphers.forward_secrecy_required and not traits.forward_secret:
            candidates.append(ciphers.no_forward_secrecy_severity)
        return max(candidates, key=lambda s: s.rank, default=None)

    return lookup


def exceeds(diff: SweepDiff, fail_on: Severity) -> bool:
    """True when a regression is at or above `fail_on`."""
    return any(regression.severity >= fail_on for regression in diff.regressions)


# ------------------------------------------------------------------------------------------------- matching


def _ref(finding: Finding) -> FindingRef:
    return FindingRef(rule=finding.rule, severity=finding.severity, message=finding.message, waived=finding.waived)


def _pair_findings(old: Iterable[Finding], new: Iterable[Finding]) -> tuple[
        list[tuple[Finding, Finding]], list[Finding], list[Finding]]:
    """Pair findings of one endpoint: same rule and message first, then leftovers of a rule in order
    (so "expires in 12 days" and "expires in 11 days" are the same finding). Returns (pairs, added, removed)."""
    old_left = list(old)
    pairs: list[tuple[Finding, Finding]] = []
    unmatched_new: list[Finding] = []
    for finding in new:
        twin = next((o for o in old_left if o.rule == finding.rule and o.message == finding.message), None)
        if twin is None:
            unmatched_new.append(finding)
        else:
            old_left.remove(twin)
            pairs.append((twin, finding))
    added: list[Finding] = []
    for finding in unmatched_new:
        twin = next((o for o in old_left if o.rule == finding.rule), None)
        if twin is None:
            added.append(finding)
        else:
            old_left.remove(twin)
            pairs.append((twin, finding))
    return pairs, added, old_left


def _mentions(finding: Finding, field: str, value: str) -> bool:
    evidence = finding.evidence.get(field)
    if isinstance(evidence, str):
        return evidence == value
    if isinstance(evidence, list | tuple):
        return value in evidence
    return False


def _causes(result: EndpointResult, kind: str, name: str) -> list[Finding]:
    """Findings of `result` (waived ones too) that a protocol version or cipher suite `name` causes."""
    if kind == "protocol":
        return [f for f in result.findings if f.rule.startswith("tls.protocol.")
                and (_mentions(f, "version", name) or _mentions(f, "versions", name))]
    return [f for f in result.findings if f.rule.startswith(("tls.cipher.", "tls.kex."))
            and _mentions(f, "suites", name)]


def _strength(cert: CertificateInfo) -> int:
    kind = cert.key_type.upper()
    if kind in _FIXED_STRENGTH:
        return _FIXED_STRENGTH[kind]
    if kind in ("EC", "ECDSA"):
        return cert.key_bits // 2
    return next(strength for bits, strength in _RSA_STRENGTH if cert.key_bits >= bits)


def _key_label(cert: CertificateInfo) -> str:
    return f"{cert.key_type}-{cert.key_bits}" + (f" ({cert.curve})" if cert.curve else "")


def _identity(cert: CertificateInfo) -> str:
    return cert.fingerprint_sha256 or f"{cert.serial}|{cert.subject}|{cert.not_after.isoformat()}"


def _suites(result: EndpointResult) -> set[str]:
    return {suite for suites in result.observation.cipher_suites.values() for suite in suites}


def _short_error(result: EndpointResult) -> str | None:
    error = result.observation.error
    if result.observation.status != "error":
        return None
    return f"{error.kind.value}: {error.message}" if error else "error"


# -------------------------------------------------------------------------------------------------- the diff


def _compare(
    old: EndpointResult, new: EndpointResult, *, flags: FlagLookup | None, expiry_warning_days: int,
    prior_errors: int, debounce: int,
) -> tuple[EndpointChange, list[Regression]]:
    key = new.observation.target.key
    before, after = old.observation, new.observation
    regressions: list[Regression] = []
    change: dict[str, Any] = {"endpoint": key, "compliant_before": old.compliant, "compliant_after": new.compliant,
                              "error": _short_error(new)}

    if after.status == "error":
        change["became_errored"] = before.status != "error"
        streak = prior_errors + 1
        if streak == debounce:
            regressions.append(Regression(
                endpoint=key, kind="errored", severity=Severity.HIGH,
                message=f"errored in {streak} consecutive sweeps ({_short_error(new)})"))
        return EndpointChange(**change), regressions
    if before.status == "error":
        change["recovered"] = True

    both_ok = before.status == "ok"
    # Protocols and suites.
    if both_ok:
        old_versions, new_versions = set(before.accepted_versions()), set(after.accepted_versions())
        change["protocols_enabled"] = tuple(v for v in TLS_VERSIONS if v in new_versions - old_versions)
        change["protocols_disabled"] = tuple(v for v in TLS_VERSIONS if v in old_versions - new_versions)
        old_suites, new_suites = _suites(old), _suites(new)
        change["suites_enabled"] = tuple(sorted(new_suites - old_suites))
        change["suites_disabled"] = tuple(sorted(old_suites - new_suites))
    explained: set[int] = set()
    for kind, names in (("protocol", change.get("protocols_enabled", ())),
                        ("suite", change.get("suites_enabled", ()))):
        for name in names:
            found = _causes(new, kind, name)
            causes = [f for f in found if not f.waived]
            if found and not causes:
                continue  # every finding it causes is waived
            severity = flags(kind, name) if flags is not None else None
            if causes:
                severity = max((f.severity for f in causes), key=lambda s: s.rank)
            if severity is None:
                continue
            explained.update(id(f) for f in causes)
            label = "protocol" if kind == "protocol" else "cipher suite"
            rules = sorted({f.rule for f in causes})
            regressions.append(Regression(endpoint=key, kind=kind, severity=severity,
                                          message=f"{label} {name} enabled", rule=rules[0] if rules else None))

    # Hybrid post-quantum groups: one no longer accepted is a regression (as severe as the absence finding it
    # causes, else low); only groups both sweeps probed (or TLS 1.3 gone) are compared.
    if both_ok and before.pq is not None:
        old_hybrids = hybrids_of(before.pq.supported)
        if after.pq is not None:
            new_hybrids = hybrids_of(after.pq.supported)
            lost = [g for g in old_hybrids if g not in new_hybrids and g not in after.pq.undecided]
            change["pq_groups_gained"] = tuple(g for g in new_hybrids if g not in old_hybrids)
        else:
            lost = old_hybrids if after.tls_versions.get("TLSv1.3") is False else []
        change["pq_groups_lost"] = tuple(lost)
        if lost:
            causes = [f for f in new.findings if not f.waived and f.rule == "tls.kex.pq_absent"]
            explained.update(id(f) for f in causes)
            severity = max((f.severity for f in causes), key=lambda s: s.rank, default=Severity.LOW)
            regressions.append(Regression(
                endpoint=key, kind="kex", severity=severity, rule="tls.kex.pq_absent" if causes else None,
                message=f"hybrid post-quantum group{'s' if len(lost) > 1 else ''} {', '.join(lost)} no longer "
                        "accepted"))

    # Certificates and keys (the default deployment: the first certificate).
    if both_ok and before.certificates and after.certificates:
        old_cert, new_cert = before.certificates[0], after.certificates[0]
        change["certificate_replaced"] = _identity(old_cert) != _identity(new_cert)
        old_strength, new_strength = _strength(old_cert), _strength(new_cert)
        same_type = old_cert.key_type.upper() == new_cert.key_type.upper()
        weaker = new_strength < old_strength or (same_type and new_cert.key_bits < old_cert.key_bits)
        stronger = new_strength > old_strength or (same_type and new_cert.key_bits > old_cert.key_bits)
        if weaker or stronger:
            change["key_change"] = "weakened" if weaker else "strengthened"
            change["key_old"], change["key_new"] = _key_label(old_cert), _key_label(new_cert)
        if weaker:
            causes = [f for f in new.findings if not f.waived and f.rule == "cert.key.weak"
                      and f.evidence.get("certificate", 0) == 0]
            explained.update(id(f) for f in causes)
            severity = max((f.severity for f in causes), key=lambda s: s.rank, default=Severity.LOW)
            regressions.append(Regression(
                endpoint=key, kind="key", severity=severity, rule="cert.key.weak" if causes else None,
                message=f"certificate key weakened from {_key_label(old_cert)} to {_key_label(new_cert)}"))
        old_days = min(c.days_to_expiry for c in before.certificates)
        new_days = min(c.days_to_expiry for c in after.certificates)
        change["newly_expiring"] = new_days <= expiry_warning_days < old_days

    # Findings.
    pairs, added, removed = _pair_findings(old.findings if both_ok else (), new.findings)
    raised = [n for o, n in pairs if not n.waived and (o.waived or n.severity > o.severity)]
    change["new_findings"] = tuple(_ref(f) for f in added)
    change["raised_findings"] = tuple(_ref(f) for f in raised)
    change["resolved_findings"] = tuple(_ref(f) for f in removed) + tuple(
        _ref(o) for o, n in pairs if n.waived and not o.waived)
    if both_ok:
        for finding in [*added, *raised]:
            if finding.waived or id(finding) in explained:
                continue
            verb = "new" if finding in added else "raised"
            regressions.append(Regression(endpoint=key, kind="finding", severity=finding.severity,
                                          rule=finding.rule, message=f"{verb} finding: {finding.message}"))
    return EndpointChange(**change), regressions


def _compare_resource(old: ResourceResult, new: ResourceResult) -> tuple[EndpointChange, list[Regression]]:
    """A resource in both sweeps: its findings compared; a new or raised unwaived finding is a regression."""
    key = new.resource.key
    pairs, added, removed = _pair_findings(old.findings, new.findings)
    raised = [n for o, n in pairs if not n.waived and (o.waived or n.severity > o.severity)]
    change = EndpointChange(
        endpoint=key, compliant_before=old.compliant, compliant_after=new.compliant,
        new_findings=tuple(_ref(f) for f in added), raised_findings=tuple(_ref(f) for f in raised),
        resolved_findings=tuple(_ref(f) for f in removed)
        + tuple(_ref(o) for o, n in pairs if n.waived and not o.waived),
    )
    regressions = [
        Regression(endpoint=key, kind="finding", severity=f.severity, rule=f.rule,
                   message=f"{'new' if f in added else 'raised'} finding on {new.resource.kind}: {f.message}")
        for f in [*added, *raised] if not f.waived
    ]
    return change, regressions


def diff_sweeps(
    old: Iterable[EndpointResult],
    new: Iterable[EndpointResult],
    *,
    flags: FlagLookup | None = None,
    expiry_warning_days: int = 30,
    debounce: int = 2,
    error_history: Mapping[str, int] | None = None,
    old_resources: Iterable[ResourceResult] = (),
    new_resources: Iterable[ResourceResult] = (),
) -> SweepDiff:
    """Compare two sweeps.

    `flags(kind, name)` may give the profile's severity for a protocol or suite; without it (or when it
    says None) a newly enabled protocol or suite is a regression only when the new sweep has an unwaived
    finding it causes. `error_history[key]` is how many sweeps in a row before `new` (the old one included)
    found the endpoint errored; without it the old sweep alone counts. An endpoint that recovered from an
    error is compared to nothing known, so its findings are listed as new but are not regressions.
    Resources (keys, certificates in a manager...) are compared by id: a new or raised finding on one is a
    regression, as on an endpoint.
    """
    old_by_key = {r.observation.target.key: r for r in old}
    regressions: list[Regression] = []
    changes: list[EndpointChange] = []
    appeared: list[str] = []
    seen: set[str] = set()
    for result in new:
        key = result.observation.target.key
        seen.add(key)
        previous = old_by_key.get(key)
        if previous is None:
            appeared.append(key)
            continue
        if error_history is not None:
            prior = error_history.get(key, 0)
        else:
            prior = 1 if previous.observation.status == "error" else 0
        change, found = _compare(previous, result, flags=flags, expiry_warning_days=expiry_warning_days,
                                 prior_errors=prior, debounce=debounce)
        regressions.extend(found)
        if not change.empty or change.compliance_flipped:
            changes.append(change)
    old_resource_by_key = {r.resource.key: r for r in old_resources}
    for item in new_resources:
        key = item.resource.key
        seen.add(key)
        earlier = old_resource_by_key.get(key)
        if earlier is None:
            appeared.append(key)
            continue
        change, found = _compare_resource(earlier, item)
        regressions.extend(found)
        if not change.empty or change.compliance_flipped:
            changes.append(change)
    disappeared = sorted((set(old_by_key) | set(old_resource_by_key)) - seen)
    regressions.sort(key=lambda r: (-r.severity.rank, r.endpoint, r.kind, r.message))
    return SweepDiff(compared=len(seen) - len(appeared), appeared=tuple(sorted(appeared)),
                     disappeared=tuple(disappeared), changes=tuple(sorted(changes, key=lambda c: c.endpoint)),
                     regressions=tuple(regressions))
