"""Regressions between two sweeps (pure)."""

from __future__ import annotations

import json

from probe.diff import diff_sweeps, exceeds, profile_flags
from probe.models import Severity
from probe.policy import load_profile
from probe.report.diff import render_diff_json, render_diff_md
from tests.store.factory import MODERN, cert, errored, finding, ok

CBC_SHA = "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
BASE_SUITES = {"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",), "TLSv1.3": ("TLS_AES_256_GCM_SHA384",)}


def test_enabling_tls10_and_a_weaker_key_are_exactly_two_regressions() -> None:
    old = [ok("a.test"), ok("b.test")]
    weak_key = cert(key_bits=2048, fingerprint="bb" * 32)
    changed = ok(
        "a.test", versions={**MODERN, "TLSv1.0": True}, certs=(weak_key,),
        findings=(finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.0 is enabled", version="TLSv1.0"),
                  finding("cert.key.weak", Severity.MEDIUM, "2048-bit RSA key", certificate=0, key_bits=2048)))
    diff = diff_sweeps(old, [changed, ok("b.test")])
    assert [(r.endpoint, r.kind, r.severity, r.rule) for r in diff.regressions] == [
        ("a.test:443", "protocol", Severity.HIGH, "tls.protocol.deprecated"),
        ("a.test:443", "key", Severity.MEDIUM, "cert.key.weak"),
    ]
    (change,) = diff.changes
    assert change.protocols_enabled == ("TLSv1.0",)
    assert change.key_change == "weakened" and change.key_old == "RSA-3072" and change.key_new == "RSA-2048"
    assert change.certificate_replaced
    assert {f.rule for f in change.new_findings} == {"tls.protocol.deprecated", "cert.key.weak"}
    assert change.compliance_flipped and change.compliant_after is False
    assert exceeds(diff, Severity.HIGH) and not exceeds(diff, Severity.CRITICAL)
    assert diff.compared == 2 and diff.appeared == () and diff.disappeared == ()


def test_identical_sweeps_have_no_changes() -> None:
    sweep = [ok("a.test", findings=(finding("tls.cipher.aes128", Severity.LOW),)), errored("b.test")]
    diff = diff_sweeps(sweep, sweep, debounce=3)
    assert diff.changes == () and diff.regressions == () and not exceeds(diff, Severity.INFO)


def test_new_raised_waived_and_resolved_findings() -> None:
    old = ok("a.test", findings=(finding("cert.expiring", Severity.MEDIUM, "expires in 12 days"),
                                 finding("tls.cipher.sha1_mac", Severity.MEDIUM, "sha1"),
                                 finding("vuln.compression", Severity.MEDIUM, "compression")))
    new = ok("a.test", findings=(finding("cert.expiring", Severity.HIGH, "expires in 2 days"),
                                 finding("tls.cipher.sha1_mac", Severity.MEDIUM, "sha1", waived=True),
                                 finding("vuln.heartbleed", Severity.CRITICAL, "heartbleed"),
                                 finding("cert.untrusted", Severity.HIGH, "self-signed", waived=True)))
    diff = diff_sweeps([old], [new])
    assert [(r.kind, r.rule, r.severity) for r in diff.regressions] == [
        ("finding", "vuln.heartbleed", Severity.CRITICAL), ("finding", "cert.expiring", Severity.HIGH)]
    (change,) = diff.changes
    assert [f.rule for f in change.raised_findings] == ["cert.expiring"]
    assert {f.rule for f in change.resolved_findings} == {"vuln.compression", "tls.cipher.sha1_mac"}
    assert {f.rule for f in change.new_findings} == {"vuln.heartbleed", "cert.untrusted"}


def test_suites_enabled_by_a_finding_are_regressions_and_unflagged_ones_are_not() -> None:
    suites = {**BASE_SUITES, "TLSv1.2": (*BASE_SUITES["TLSv1.2"], CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_256_CCM")}
    sha1 = finding("tls.cipher.sha1_mac", Severity.MEDIUM, "HMAC-SHA1 suites", suites=[CBC_SHA], versions=["TLSv1.2"])
    diff = diff_sweeps([ok("a.test", suites=BASE_SUITES)], [ok("a.test", suites=suites, findings=(sha1,))])
    assert [(r.kind, r.severity, r.message) for r in diff.regressions] == [
        ("suite", Severity.MEDIUM, f"cipher suite {CBC_SHA} enabled")]
    assert diff.changes[0].suites_enabled == (CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_256_CCM")


def test_profile_flag_lookup_marks_a_protocol_without_a_finding() -> None:
    def flags(kind: str, name: str) -> Severity | None:
        return Severity.LOW if (kind, name) == ("protocol", "TLSv1.1") else None

    new = ok("a.test", versions={**MODERN, "TLSv1.1": True})
    assert diff_sweeps([ok("a.test")], [new]).regressions == ()
    (regression,) = diff_sweeps([ok("a.test")], [new], flags=flags).regressions
    assert (regression.kind, regression.severity, regression.rule) == ("protocol", Severity.LOW, None)


def test_appeared_and_disappeared_are_listed_not_compared() -> None:
    diff = diff_sweeps([ok("a.test"), ok("gone.test")],
                       [ok("a.test"), ok("new.test", findings=(finding("vuln.heartbleed", Severity.CRITICAL),))])
    assert diff.appeared == ("new.test:443",) and diff.disappeared == ("gone.test:443",)
    assert diff.compared == 1 and diff.regressions == ()


def test_errored_endpoint_is_a_regression_after_debounce_sweeps_only() -> None:
    good, bad = ok("a.test", findings=(finding("cert.expired"),)), errored("a.test")
    first = diff_sweeps([good], [bad])
    assert first.regressions == () and first.changes[0].became_errored
    assert first.changes[0].resolved_findings == ()  # an error resolves nothing
    second = diff_sweeps([bad], [bad])
    assert [(r.kind, r.severity) for r in second.regressions] == [("errored", Severity.HIGH)]
    assert diff_sweeps([good], [bad], debounce=1).regressions[0].kind == "errored"
    # Already reported when the streak reached the debounce: not again.
    assert diff_sweeps([bad], [bad], error_history={"a.test:443": 2}).regressions == ()
    assert diff_sweeps([bad], [bad], debounce=4, error_history={"a.test:443": 3}).regressions[0].kind == "errored"


def test_recovered_endpoint_lists_findings_without_regressions() -> None:
    diff = diff_sweeps([errored("a.test")], [ok("a.test", findings=(finding("cert.expired"),))])
    (change,) = diff.changes
    assert change.recovered and [f.rule for f in change.new_findings] == ["cert.expired"]
    assert diff.regressions == ()


def test_certificate_replacement_expiry_and_stronger_key() -> None:
    old = ok("a.test", certs=(cert(days=45),))
    new = ok("a.test", certs=(cert(key_type="EC", key_bits=384, days=20, fingerprint="cc" * 32),))
    (change,) = diff_sweeps([old], [new]).changes
    assert change.certificate_replaced and change.newly_expiring and change.key_change == "strengthened"
    unchanged = diff_sweeps([old], [ok("a.test", certs=(cert(days=44),))])
    assert unchanged.changes == ()


def test_renderers_escape_and_serialise() -> None:
    nasty = ok("a.test", findings=(finding("vuln.heartbleed", Severity.CRITICAL, "x | <script>alert(1)</script>"),))
    diff = diff_sweeps([ok("a.test")], [nasty, ok("b.test")])
    markdown = render_diff_md(diff)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "| critical | a.test:443 | finding |" in markdown and "## Appeared" in markdown
    data = json.loads(render_diff_json(diff))
    assert data["schema"] == "tlsprobe.diff/1"
    assert data["regressions"][0]["severity"] == "critical" and data["appeared"] == ["b.test:443"]
    assert data["changes"][0]["compliance_flipped"] is True


def test_profile_flags_from_the_bundled_profile_and_waivers() -> None:
    flags = profile_flags(load_profile("op-pol-001"))
    assert flags("protocol", "TLSv1.0") == Severity.HIGH and flags("protocol", "TLSv1.3") is None
    assert flags("suite", CBC_SHA) == Severity.MEDIUM
    assert flags("suite", "TLS_AES_256_GCM_SHA384") is None
    assert flags("suite", "TLS_AES_128_GCM_SHA256") == Severity.LOW
    new = ok("a.test", versions={**MODERN, "TLSv1.1": True})
    (regression,) = diff_sweeps([ok("a.test")], [new], flags=flags).regressions
    assert (regression.kind, regression.severity) == ("protocol", Severity.HIGH)
    waived = finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.1 is enabled", waived=True, version="TLSv1.1")
    new_waived = ok("a.test", versions={**MODERN, "TLSv1.1": True}, findings=(waived,))
    assert diff_sweeps([ok("a.test")], [new_waived], flags=flags).regressions == ()
