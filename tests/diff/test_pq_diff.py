"""A hybrid post-quantum group lost between two sweeps is a regression (pure), judged with the sweeps' findings."""

from __future__ import annotations

from datetime import date

from probe.diff import diff_sweeps
from probe.models import EndpointResult, PostQuantum, Severity
from probe.policy import judge, load_profile
from tests.store.factory import MODERN, ok

TODAY = date(2026, 11, 1)


def pq(host: str, supported: tuple[str, ...], *, profile: str = "op-pol-001", negotiated: str | None = None,
       versions: dict[str, bool] | None = None) -> EndpointResult:
    observation = ok(host, versions=versions).observation
    block = None if versions and not versions.get("TLSv1.3") else PostQuantum(
        supported=supported, negotiated=negotiated or (supported[0] if supported else "X25519"))
    observation = observation.model_copy(update={"pq": block})
    return judge(observation, load_profile(profile), today=TODAY)


def test_losing_the_only_hybrid_group_is_a_regression_as_severe_as_the_profile_says() -> None:
    for profile, severity in (("op-pol-001", Severity.INFO), ("pq-ready", Severity.HIGH)):
        before = pq("a.test", ("X25519MLKEM768",), profile=profile)
        after = pq("a.test", (), profile=profile)
        diff = diff_sweeps([before], [after])
        assert [(r.kind, r.severity, r.rule) for r in diff.regressions] == [("kex", severity, "tls.kex.pq_absent")]
        assert "X25519MLKEM768 no longer accepted" in diff.regressions[0].message
        (change,) = diff.changes
        assert change.pq_groups_lost == ("X25519MLKEM768",)


def test_losing_one_of_two_hybrids_is_a_low_regression_and_gaining_one_is_none() -> None:
    two = pq("a.test", ("X25519MLKEM768", "SecP256r1MLKEM768"))
    one = pq("a.test", ("X25519MLKEM768",))
    diff = diff_sweeps([two], [one])
    assert [(r.kind, r.severity, r.rule) for r in diff.regressions] == [("kex", Severity.LOW, None)]
    back = diff_sweeps([one], [two])
    assert back.regressions == () and back.changes[0].pq_groups_gained == ("SecP256r1MLKEM768",)


def test_tls13_switched_off_loses_the_hybrids_and_unprobed_sweeps_are_not_compared() -> None:
    before = pq("a.test", ("X25519MLKEM768",))
    tls12 = pq("a.test", (), versions={**MODERN, "TLSv1.3": False})
    [regression] = [r for r in diff_sweeps([before], [tls12]).regressions if r.kind == "kex"]
    assert regression.severity == Severity.INFO  # op-pol-001: beyond the policy, but still a regression
    unprobed = ok("a.test")  # pq None with TLS 1.3 on (the sslyze engine): nothing to compare
    assert not [r for r in diff_sweeps([before], [unprobed]).regressions if r.kind == "kex"]
    losing_obsolete = diff_sweeps([pq("a.test", ("X25519MLKEM768", "X25519Kyber768Draft00"))],
                                  [pq("a.test", ("X25519MLKEM768",))])
    assert losing_obsolete.regressions == ()  # only hybrids count
