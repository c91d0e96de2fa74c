"""Property tests: evaluate never raises on arbitrary suite names; waivers never drop findings."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from probe.models import Finding, Severity, Target, Waiver
from probe.policy import apply_waivers, load_profile
from probe.policy.evaluate import evaluate
from tests.policy.factories import TODAY, observation

PROFILES = [load_profile(name) for name in ("op-pol-001", "mozilla-intermediate", "mozilla-modern")]
VERSIONS = st.sampled_from(["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3", "weird"])
TOKENS = st.sampled_from(["TLS", "WITH", "RSA", "ECDHE", "DH", "anon", "NULL", "EXPORT", "DES", "3DES", "EDE",
                          "CBC", "RC4", "128", "256", "40", "AES", "GCM", "SHA", "SHA256", "MD5", "CHACHA20", "PSK"])
SUITE_NAMES = st.one_of(st.text(max_size=40), st.lists(TOKENS, min_size=1, max_size=8).map("_".join))


@settings(max_examples=200, deadline=None)
@given(
    suites=st.dictionaries(VERSIONS, st.lists(SUITE_NAMES, max_size=6).map(tuple), max_size=4),
    enabled=st.dictionaries(VERSIONS, st.booleans(), max_size=7),
    groups=st.lists(st.text(max_size=20), max_size=4).map(tuple),
    dh_bits=st.one_of(st.none(), st.integers(min_value=0, max_value=16384)),
    profile=st.sampled_from(PROFILES),
)
def test_evaluate_never_raises_and_findings_are_well_formed(suites, enabled, groups, dh_bits, profile) -> None:  # type: ignore[no-untyped-def]
    obs = observation(cipher_suites=suites, tls_versions=enabled, key_exchange_groups=groups, dh_bits=dh_bits)
    for finding in evaluate(obs, profile, today=TODAY):
        assert finding.clause == profile.clause(finding.rule)
        assert finding.message
        # evidence is plain JSON (round-trips through the model's JSON dump)
        assert Finding.model_validate_json(finding.model_dump_json()) == finding


FINDINGS = st.lists(
    st.builds(Finding, rule=st.sampled_from(["tls.protocol.deprecated", "cert.expiring", "vuln.robot"]),
              severity=st.sampled_from(list(Severity)), clause=st.just("OP-POL-001 3.1.2.3"),
              message=st.text(min_size=1, max_size=20)),
    max_size=8,
)
WAIVERS = st.lists(
    st.builds(Waiver, rule=st.sampled_from(["tls.*", "cert.expiring", "vuln.robot", "*"]),
              endpoint=st.sampled_from(["*", "api.example.com", "*:443", "other", "api.example.com:443"]),
              reason=st.just("r"), expires=st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 31))),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(findings=FINDINGS, waivers=WAIVERS, today=st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 31)))
def test_waivers_never_drop_or_reorder_findings(findings, waivers, today) -> None:  # type: ignore[no-untyped-def]
    out = apply_waivers(findings, Target(host="api.example.com"), waivers, today=today)
    assert len(out) == len(findings)
    for before, after in zip(findings, out, strict=True):
        assert (after.rule, after.severity, after.clause) == (before.rule, before.severity, before.clause)
        if after.waived:
            assert after.waiver is not None and after.waiver.expires >= today
