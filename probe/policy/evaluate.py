"""Pure evaluation: one Observation and one Profile in, a list of Findings out. No IO, no raising on bad configs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from probe.models import TLS_VERSIONS, Finding, Observation, Severity
from probe.policy import rule_ids as R
from probe.policy.certificates import certificate_findings, tier_severity
from probe.policy.http import hsts_findings
from probe.policy.pq import pq_findings
from probe.policy.profile import Profile
from probe.policy.stapling import stapling_findings
from probe.policy.suites import PROHIBITED_FAMILIES, SuiteTraits, group_bits, suite_traits

__all__ = ["evaluate"]

_FAMILY_LABEL = {
    "NULL": "NULL (unencrypted)",
    "EXPORT": "EXPORT-grade",
    "anon": "anonymous (unauthenticated)",
    "DES": "DES",
    "RC4": "RC4",
    "3DES": "3DES",
    "MD5": "MD5-MAC",
}


def _finding(profile: Profile, rule: str, severity: Severity, message: str, evidence: dict[str, Any]) -> Finding:
    return Finding(rule=rule, severity=severity, clause=profile.clause(rule), message=message, evidence=evidence)


def _protocol_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    enabled = obs.accepted_versions()
    settings = profile.protocols
    for version in enabled:
        severity = settings.deprecated.get(version)
        if severity is not None:
            yield _finding(profile, R.PROTOCOL_DEPRECATED, severity, f"{version} is enabled",
                           {"version": version, "enabled_versions": enabled})
    modern = TLS_VERSIONS[TLS_VERSIONS.index(settings.minimum):]
    if not any(v in modern for v in enabled):
        yield _finding(profile, R.PROTOCOL_NO_MODERN, settings.no_modern_severity,
                       f"none of {', '.join(modern)} is enabled",
                       {"enabled_versions": enabled, "required_any_of": list(modern)})


def _suites(obs: Observation) -> dict[str, tuple[SuiteTraits, list[str]]]:
    """Each distinct accepted suite, its traits and the versions that accept it (in version order)."""
    seen: dict[str, tuple[SuiteTraits, list[str]]] = {}
    ordered = sorted(obs.cipher_suites.items(),
                     key=lambda kv: TLS_VERSIONS.index(kv[0]) if kv[0] in TLS_VERSIONS else len(TLS_VERSIONS))
    for version, names in ordered:
        for name in names:
            if name not in seen:
                seen[name] = (suite_traits(name), [])
            if version not in seen[name][1]:
                seen[name][1].append(version)
    return seen


def _suite_evidence(picked: list[tuple[str, list[str]]]) -> dict[str, Any]:
    versions = [v for v in TLS_VERSIONS if any(v in vs for _, vs in picked)]
    return {"suites": sorted(name for name, _ in picked), "versions": versions}


def _count(picked: list[tuple[str, list[str]]]) -> str:
    return f"{len(picked)} suite" + ("" if len(picked) == 1 else "s")


def _cipher_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    suites = _suites(obs)
    settings = profile.ciphers
    for family in PROHIBITED_FAMILIES:
        severity = settings.prohibited.get(family)
        picked = [(n, vs) for n, (t, vs) in suites.items() if family in t.families]
        if severity is not None and picked:
            yield _finding(profile, R.CIPHER_PROHIBITED, severity,
                           f"{_FAMILY_LABEL[family]} cipher suites are accepted ({_count(picked)})",
                           {"family": family, **_suite_evidence(picked)})
    checks: list[tuple[str, Severity | None, str, Callable[[SuiteTraits], bool]]] = [
        (R.CIPHER_SHA1_MAC, settings.sha1_mac_severity, "HMAC-SHA1 cipher suites are accepted",
         lambda t: t.sha1_mac),
        (R.CIPHER_AES128, settings.below_256_bit_severity,
         "cipher suites below 256-bit symmetric strength (AES-128 or weaker) are accepted",
         lambda t: t.cipher_bits is not None and 0 < t.cipher_bits < 256),
        (R.CIPHER_NO_FORWARD_SECRECY, settings.no_forward_secrecy_severity if settings.forward_secrecy_required
         else None, "cipher suites without forward secrecy (static RSA/DH/ECDH key exchange) are accepted",
         lambda t: not t.forward_secret),
    ]
    if settings.allowed_suites is not None:
        allowed = {s.upper() for s in settings.allowed_suites}
        checks.append((R.CIPHER_NOT_ALLOWED, settings.not_allowed_severity,
                       "cipher suites outside the profile's allowed list are accepted",
                       lambda t: t.name.upper() not in allowed))
    for rule, severity, text, matches in checks:
        picked = [(n, vs) for n, (t, vs) in suites.items() if matches(t)]
        if severity is not None and picked:
            evidence = _suite_evidence(picked)
            if rule == R.CIPHER_AES128:
                evidence["cipher_bits"] = {n: suites[n][0].cipher_bits for n, _ in picked}
            yield _finding(profile, rule, severity, f"{text} ({_count(picked)})", evidence)


def _kex_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    keys = profile.keys
    weak: list[dict[str, Any]] = []
    worst: Severity | None = None
    candidates: list[tuple[str, str, int]] = []
    if obs.dh_bits is not None:
        candidates.append(("DH parameters", "dh", obs.dh_bits))
    for group in obs.key_exchange_groups:
        kind_bits = group_bits(group)
        if kind_bits is not None:
            candidates.append((group, *kind_bits))
    for name, kind, bits in candidates:
        hit = tier_severity(bits, keys.dh if kind == "dh" else keys.ecdh)
        if hit is not None:
            weak.append({"group": name, "kind": kind, "bits": bits, "minimum_bits": hit[1]})
            worst = hit[0] if worst is None or hit[0] > worst else worst
    if worst is not None:
        names = ", ".join(f"{w['group']} ({w['bits']} bits)" for w in weak)
        yield _finding(profile, R.KEX_WEAK_DH, worst, f"weak key exchange: {names}",
                       {"weak": weak, "dh_bits": obs.dh_bits})


def _dh_group_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    """A DHE group whose modulus is composite, or whose generator lies in a small subgroup (probe/scan/dh.py)."""
    for group in obs.dh_groups:
        name = group.name or f"custom {group.bits}-bit group sha256:{group.prime_sha256[:16]}"
        evidence: dict[str, Any] = {"group": group.name, "bits": group.bits, "prime_sha256": group.prime_sha256,
                                    "generator": group.generator if len(group.generator) <= 16 else
                                    f"{group.generator[:16]}... ({len(group.generator) * 4} bits)"}
        if not group.prime:
            yield _finding(profile, R.KEX_DH_COMPOSITE, profile.severity(R.KEX_DH_COMPOSITE),
                           f"the DH modulus of the DHE suites ({name}) is not prime: an attacker who can factor it "
                           "recovers the key exchanges", evidence)
        elif group.subgroup == "small":
            order = f" of order {group.generator_order}" if group.generator_order else ""
            yield _finding(profile, R.KEX_DH_SMALL_SUBGROUP, profile.severity(R.KEX_DH_SMALL_SUBGROUP),
                           f"the DH generator of the DHE suites ({name}) lies in a small subgroup{order}: the shared "
                           "secrets take few values (Pohlig-Hellman)",
                           {**evidence, "generator_order": group.generator_order, "safe_prime": group.safe_prime})


def _vulnerability_findings(obs: Observation, profile: Profile) -> Iterator[Finding]:
    vulns = obs.vulnerabilities
    enabled = obs.accepted_versions()
    flags: dict[str, tuple[bool, str]] = {
        "heartbleed": (vulns.heartbleed is True, "vulnerable to Heartbleed (CVE-2014-0160)"),
        "ccs_injection": (vulns.ccs_injection is True, "vulnerable to OpenSSL CCS injection (CVE-2014-0224)"),
        "robot": (vulns.robot is True, "vulnerable to ROBOT (RSA padding oracle)"),
        "insecure_renegotiation": (vulns.insecure_renegotiation is True, "allows insecure renegotiation"),
        "compression": (vulns.compression is True, "supports TLS compression (CRIME)"),
        "no_fallback_scsv": (vulns.fallback_scsv is False and len(enabled) > 1,
                             "does not support TLS_FALLBACK_SCSV while several versions are enabled"),
    }
    for flag, (present, text) in flags.items():
        severity = profile.vulnerabilities.get(flag)
        if present and severity is not None:
            evidence: dict[str, Any] = {"check": flag}
            if flag == "no_fallback_scsv":
                evidence["enabled_versions"] = enabled
            yield _finding(profile, R.VULNERABILITY_RULES[flag], severity, f"endpoint {text}", evidence)


def evaluate(observation: Observation, profile: Profile, *, today: date) -> list[Finding]:
    """Findings for one observation under one profile; [] for an errored endpoint (never a pass).

    Expiry uses the observation's scan-time `days_to_expiry`; `today` pins the evaluation date
    for date-dependent rules so that results are reproducible.
    """
    del today  # every current rule reads scan-time facts; kept in the signature for reproducible judging
    if observation.status == "error":
        return []
    return [
        *_protocol_findings(observation, profile),
        *_cipher_findings(observation, profile),
        *_kex_findings(observation, profile),
        *_dh_group_findings(observation, profile),
        *certificate_findings(profile, observation.certificates, observation.target.sni or observation.target.host),
        *stapling_findings(observation, profile),
        *_vulnerability_findings(observation, profile),
        *pq_findings(observation, profile),
        *hsts_findings(observation, profile),
    ]
