"""The fast back-end: suites and groups by elimination (nassl), certificates and vulnerabilities by sslyze.

One TLS 1.3 offer first tells a dead or non-TLS endpoint apart at the cost of one connection, and stands in for
sslyze's connectivity test; then sslyze's checks (no per-suite or per-curve tests) run beside the elimination
chains. Versions with an anomaly go to
sslyze's per-suite test. `connections` counts every connection of both parts.
"""

from __future__ import annotations

import importlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import TYPE_CHECKING

from nassl.ssl_client import OpenSslVersionEnum, SslClient

from probe.models import ErrorKind, Observation, PostQuantum, ScanError, Target
from probe.scan.diagnose import diagnose
from probe.scan.fast.enumerate import (
    PREFERENCE_VERSIONS,
    USUAL_GROUPS,
    VERSIONS,
    Enumeration,
    Enumerator,
    initial_chains,
    suite_offer,
)
from probe.scan.fast.handshake import Answer, Offer, Reply, group_name, handshake
from probe.scan.fast.pq import probe_pq
from probe.scan.limits import ConnectionGate, DeadlineExceeded, EndpointBudget
from probe.scan.settings import GROUP_NAMES, Probed, ScanSettings
from probe.scan.suites import catalogue

if TYPE_CHECKING:
    from probe.models import DhGroup
    from probe.scan.sslyze_adapter import SslyzeScanner

ADAPTER = "probe.scan.sslyze_adapter"

ENGINE = "fast"

@cache
def modern_tls12_names() -> frozenset[str]:
    """OpenSSL names the modern nassl client can offer at TLS 1.2."""
    client = SslClient(ssl_version=OpenSslVersionEnum.TLSV1_2)
    client.set_cipher_list("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return frozenset(client.get_cipher_list())


class FastScanner:
    """Back-end for the engine: elimination for suites and groups, sslyze for everything else."""

    engine = ENGINE

    def __init__(self, gate: ConnectionGate, settings: ScanSettings) -> None:
        self.gate = gate
        self.settings = settings
        self._checks: SslyzeScanner | None = None
        self._checks_lock = threading.Lock()
        catalogue()  # read the suite table once, before worker threads race for it

    def checks(self) -> SslyzeScanner:
        """sslyze for certificates and vulnerabilities (no suites, no curves). The first call imports sslyze
        (about a third of a second), in the checks' thread, while the elimination's handshakes go on."""
        with self._checks_lock:
            if self._checks is None:
                adapter = importlib.import_module(ADAPTER)
                checks = replace(self.settings, suites=False, checks=True, groups=False)
                self._checks = adapter.SslyzeScanner(self.gate, checks)
            return self._checks

    def scan(self, target: Target, budget: EndpointBudget) -> Observation:
        """Scan one endpoint; never raises for server behaviour."""
        assert target.ip is not None, "targets are resolved before scanning"
        started = time.monotonic()
        self.gate.register(target.ip, target.dial_port, budget)
        try:
            observation = self._scan(target, budget)
        except DeadlineExceeded:
            observation = _error(target, ErrorKind.TIMEOUT, "deadline reached during the enumeration")
        finally:
            self.gate.unregister(target.ip, target.dial_port, budget)
        return observation.model_copy(
            update={"connections": budget.connections, "duration_s": round(time.monotonic() - started, 3)}
        )

    def _probe(self, target: Target) -> partial[Reply]:
        assert target.ip is not None
        sni = target.sni or target.host
        return partial(handshake, self.gate, target.ip, target.dial_port, sni, timeout=self.settings.timeout)

    def _scan(self, target: Target, budget: EndpointBudget) -> Observation:
        probe = self._probe(target)
        tls13 = initial_chains("TLSv1.3")[0]
        first_offer = suite_offer("TLSv1.3", tls13.legacy, tls13.remaining)
        first = probe(first_offer)
        unreachable = self._unreachable(target, first)
        if unreachable is not None:
            return Observation(target=target, status="error", error=unreachable, engine=ENGINE)
        probed = _probed(first)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tlsprobe-checks") as side:
            checks_future = side.submit(lambda: self.checks().scan(target, budget, probed))
            # TLS 1.3 accepted: the post-quantum probes run beside the elimination (probe.scan.fast.pq)
            pq_future = side.submit(self._pq, target) if first.answer == Answer.ACCEPTED else None
            enumeration = Enumerator(probe, self.settings.per_host).run((first_offer, first))
            findings = _Findings.of(enumeration)
            if not enumeration.deadline_hit:
                fallback = dict(enumeration.anomalies)
                if not any(findings.suites.values()) and checks_future.result().status == "ok":
                    fallback = {v: "no suite found by elimination" for v in VERSIONS}
                if fallback or enumeration.groups_anomaly:  # sslyze's per-suite test, beside the checks
                    self._fallback(target, budget, enumeration, fallback, findings, probed)
            checks = checks_future.result()
            pq, pq_notes = (None, []) if not findings.suites["TLSv1.3"] else (
                pq_future.result() if pq_future is not None else self._pq(target))
        if enumeration.deadline_hit:
            return _error(target, ErrorKind.TIMEOUT, "deadline reached during the enumeration")
        suites, preference = findings.suites, findings.preference
        notes = list(checks.notes) + enumeration.notes + findings.notes + pq_notes
        if not any(suites.values()):
            if checks.status == "error":
                return checks.model_copy(update={"engine": ENGINE})
            return _error(target, ErrorKind.INTERNAL, "no protocol version could be enumerated: " + "; ".join(notes))
        if checks.status == "error" and checks.error is not None:
            notes.append(f"certificate and vulnerability checks failed: {checks.error.message}")
        if preference is None and not any(n.startswith("cipher preference") for n in notes):
            preference = self._two_order_preference(probe, suites, notes)
        names = sorted(findings.groups)
        return Observation(
            target=target,
            status="ok",
            engine=ENGINE,
            tls_versions={v: bool(suites[v]) for v in VERSIONS},
            cipher_suites={v: tuple(sorted(suites[v])) for v in VERSIONS if suites[v]},
            cipher_preference=preference,
            key_exchange_groups=tuple(GROUP_NAMES.get(n, n) for n in names) + (pq.supported if pq else ()),
            dh_bits=findings.dh_bits,
            dh_groups=tuple(findings.dh_groups),
            certificates=checks.certificates,
            client_auth=checks.client_auth,
            vulnerabilities=checks.vulnerabilities,
            notes=tuple(notes),
            pq=pq,
        )

    def _pq(self, target: Target) -> tuple[PostQuantum | None, list[str]]:
        """The post-quantum block of a TLS 1.3 endpoint (raw hellos through the gate) and its notes."""
        assert target.ip is not None
        try:
            return probe_pq(self.gate, target.ip, target.dial_port, target.sni or target.host, self.settings.timeout)
        except DeadlineExceeded:
            return None, ["post-quantum: deadline reached before the probes ended"]

    # -- reachability ---------------------------------------------------------------------------------
    def _unreachable(self, target: Target, first: Reply) -> ScanError | None:
        """An error when the first offer shows no TLS server can answer; None to go on scanning."""
        if first.answer == Answer.UNREACHABLE:
            if first.detail == "refused":
                return ScanError(kind=ErrorKind.REFUSED, message="connection refused")
            if first.detail == "timeout":
                return ScanError(kind=ErrorKind.TIMEOUT, message="TCP connection timed out")
            return ScanError(kind=ErrorKind.INTERNAL, message=f"connect failed: {first.detail}")
        if first.answer == Answer.ACCEPTED or first.alert:
            return None
        assert target.ip is not None
        found = diagnose(self.gate, target.ip, target.dial_port, target.sni or target.host, self.settings.timeout)
        if found is not None and found.kind in (ErrorKind.NOT_TLS, ErrorKind.TIMEOUT, ErrorKind.REFUSED):
            return found
        return None

    # -- sslyze's per-suite test for anomalous versions --------------------------------------------------
    def _fallback(
        self,
        target: Target,
        budget: EndpointBudget,
        enumeration: Enumeration,
        fallback: dict[str, str],
        findings: _Findings,
        probed: Probed | None,
    ) -> None:
        """Replace the `fallback` versions (and the groups after a groups anomaly) with sslyze's per-suite
        (per-curve) results."""
        versions = tuple(v for v in VERSIONS if v in fallback)
        settings = replace(
            self.settings,
            suites=bool(versions),
            suite_versions=versions,
            checks=False,
            groups=enumeration.groups_anomaly is not None,
            ca_file=None,  # no certificate check here (sslyze refuses its argument without the command)
        )
        for version in versions:
            findings.notes.append(f"{version}: {fallback[version]}; used sslyze's per-suite test")
        if enumeration.groups_anomaly is not None:
            findings.notes.append(f"groups: {enumeration.groups_anomaly}; used sslyze's per-curve test")
        from probe.scan.sslyze_adapter import SslyzeScanner

        result = SslyzeScanner(self.gate, settings).scan(target, budget, probed)
        if result.status == "error":
            reason = result.error.message if result.error else "unknown"
            findings.notes.append(f"sslyze's per-suite test failed: {reason}")
            return
        legacy_of = {v: {s.iana: s.legacy for s in catalogue()[v]} for v in versions}
        for version in versions:
            accepted = result.cipher_suites.get(version, ())
            findings.suites[version] = {name: legacy_of[version].get(name, True) for name in accepted}
        if enumeration.groups_anomaly is not None:
            findings.groups = list(result.key_exchange_groups)
        kept = [f for v in VERSIONS if v not in fallback for f in enumeration.found[v].values()]
        bits = [b for b in (enumeration.dh_bits if kept else None, result.dh_bits) if b is not None]
        findings.dh_bits = min(bits) if bits else None
        findings.dh_groups += [g for g in result.dh_groups if g not in findings.dh_groups]
        if any(v in fallback for v in PREFERENCE_VERSIONS):
            findings.preference = None

    def _two_order_preference(
        self, probe: partial[Reply], suites: dict[str, dict[str, bool]], notes: list[str]
    ) -> str | None:
        """Offer two accepted suites in both orders (after a fallback, or across nassl clients)."""
        for version in PREFERENCE_VERSIONS:
            accepted = suites[version]
            if len(accepted) < 2:
                continue
            openssl = {s.iana: s.openssl for s in catalogue()[version]}
            legacy = [openssl[n] for n in sorted(accepted) if accepted[n] and n in openssl]
            modern = [openssl[n] for n in sorted(accepted) if n in openssl and openssl[n] in modern_tls12_names()]
            use_legacy = len(legacy) >= 2
            pair = legacy[:2] if use_legacy else modern[:2]
            if len(pair) < 2 or (not use_legacy and version != "TLSv1.2"):
                return None
            chosen = [probe(Offer(version=version, legacy=use_legacy, ciphers=tuple(order))) for order in
                      (pair, pair[::-1])]
            names = [r.cipher for r in chosen if r.answer == Answer.ACCEPTED]
            if len(names) != 2:
                notes.append("cipher preference: " + "; ".join(f"{r.answer.value} {r.detail}" for r in chosen))
                return None
            return "server" if names[0] == names[1] else "client"
        return None


@dataclass
class _Findings:
    """Suites, groups, DH size and preference as the elimination found them; sslyze's per-suite test may
    then replace some of them."""

    suites: dict[str, dict[str, bool]]  # version -> IANA name -> offered with nassl's legacy client
    groups: list[str]
    dh_bits: int | None
    preference: str | None
    notes: list[str] = field(default_factory=list)
    dh_groups: list[DhGroup] = field(default_factory=list)

    @classmethod
    def of(cls, enumeration: Enumeration) -> _Findings:
        from probe.scan import dh  # the group analysis is needed only where a server offers DHE

        return cls(
            suites={v: {f.iana: f.legacy for f in enumeration.found[v].values()} for v in VERSIONS},
            groups=[group_name(g) for g in enumeration.groups],
            dh_bits=enumeration.dh_bits,
            preference=enumeration.preference,
            dh_groups=[dh.from_bytes(prime, generator) for prime, generator in enumeration.dh_params],
        )


def _probed(first: Reply) -> Probed | None:
    """What the first (TLS 1.3) offer tells sslyze's checks, sparing its connectivity test; None when they
    need that test (no TLS 1.3, or a client certificate request, whose optional/required sslyze works out)."""
    if first.answer != Answer.ACCEPTED or not first.cipher or first.detail or first.group not in USUAL_GROUPS:
        return None  # an unusual group: sslyze's own handshakes (OpenSSL's default groups) might not connect
    return Probed(tls13_cipher=first.cipher)


def _error(target: Target, kind: ErrorKind, message: str) -> Observation:
    return Observation(target=target, status="error", error=ScanError(kind=kind, message=message), engine=ENGINE)
