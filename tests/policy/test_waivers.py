"""Waivers mark findings, never drop them; expired ones stop applying and say so."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from probe.errors import InputError
from probe.models import Finding, Severity, Target, Waiver
from probe.policy import apply_waivers, load_waivers
from tests.policy.factories import TODAY

TARGET = Target(host="api.example.com", port=8443, ip="203.0.113.7")
TLS10 = Finding(rule="tls.protocol.deprecated", severity=Severity.HIGH, clause="OP-POL-001 3.1.2.3",
                message="TLSv1.0 is enabled", evidence={"version": "TLSv1.0"})
SHA1 = Finding(rule="tls.cipher.sha1_mac", severity=Severity.MEDIUM, clause="OP-POL-001 3.1.2.3",
               message="HMAC-SHA1 cipher suites are accepted (1 suite)")


def waiver(endpoint: str = "api.example.com", rule: str = "tls.protocol.deprecated",
           expires: date = TODAY + timedelta(days=10)) -> Waiver:
    return Waiver(rule=rule, endpoint=endpoint, reason="legacy client until Q3", expires=expires)


@pytest.mark.parametrize("pattern", ["api.example.com", "API.example.com", "api.example.com:8443", "*.example.com",
                                     "api.example.com:8443@203.0.113.7", "*:8443*"])
def test_matching_waiver_marks_the_finding(pattern: str) -> None:
    w = waiver(pattern)
    out = apply_waivers([TLS10, SHA1], TARGET, [w], today=TODAY)
    assert len(out) == 2
    assert out[0].waived is True
    assert out[0].waiver == w
    assert out[1] == SHA1  # other rule: untouched


@pytest.mark.parametrize("pattern", ["other.example.com", "api.example.com:443", "*.example.org", "api"])
def test_non_matching_waiver_does_nothing(pattern: str) -> None:
    assert apply_waivers([TLS10], TARGET, [waiver(pattern)], today=TODAY) == (TLS10,)


def test_rule_pattern_may_use_wildcards() -> None:
    out = apply_waivers([TLS10, SHA1], TARGET, [waiver(rule="tls.*")], today=TODAY)
    assert [f.waived for f in out] == [True, True]


def test_waiver_is_valid_through_its_expiry_date() -> None:
    (out,) = apply_waivers([TLS10], TARGET, [waiver(expires=TODAY)], today=TODAY)
    assert out.waived


def test_expired_waiver_does_not_apply_and_says_so() -> None:
    expired_on = TODAY - timedelta(days=1)
    (out,) = apply_waivers([TLS10], TARGET, [waiver(expires=expired_on)], today=TODAY)
    assert out.waived is False
    assert out.evidence["expired_waiver"]["expires"] == expired_on.isoformat()
    assert out.evidence["version"] == "TLSv1.0"  # original evidence kept
    assert f"expired on {expired_on.isoformat()}" in out.message
    assert out.waiver is not None and out.waiver.expired is True


def test_valid_waiver_wins_over_expired_one() -> None:
    ws = [waiver(expires=TODAY - timedelta(days=5)), waiver("*.example.com", expires=TODAY + timedelta(days=5))]
    (out,) = apply_waivers([TLS10], TARGET, ws, today=TODAY)
    assert out.waived and out.waiver is not None and out.waiver.endpoint == "*.example.com"


def test_applying_twice_is_stable() -> None:
    once = apply_waivers([TLS10], TARGET, [waiver(expires=TODAY - timedelta(days=1))], today=TODAY)
    twice = apply_waivers(once, TARGET, [waiver(expires=TODAY - timedelta(days=1))], today=TODAY)
    assert once == twice


def test_load_yaml_and_json(tmp_path: Path) -> None:
    yml = tmp_path / "waivers.yaml"
    yml.write_text("- rule: tls.protocol.deprecated\n  endpoint: '*.example.com'\n  reason: vendor appliance\n"
                   "  expires: 2025-09-30\n")
    js = tmp_path / "waivers.json"
    js.write_text(json.dumps({"waivers": [{"rule": "cert.expiring", "endpoint": "a:443", "reason": "renewal booked",
                                           "expires": "2025-07-01"}]}))
    (y,) = load_waivers(yml)
    (j,) = load_waivers(js)
    assert (y.endpoint, y.expires) == ("*.example.com", date(2025, 9, 30))
    assert (j.rule, j.expires) == ("cert.expiring", date(2025, 7, 1))


def test_empty_file_is_no_waivers(tmp_path: Path) -> None:
    path = tmp_path / "none.yaml"
    path.write_text("")
    assert load_waivers(path) == []


@pytest.mark.parametrize(("text", "reason"), [
    ("- rule: a\n  endpoint: b\n  reason: c\n", r"entry 1: expires: Field required"),
    ("- rule: a\n  endpoint: b\n  reason: c\n  expires: 2025-01-01\n- rule: a\n  endpoint: b\n  reason: c\n"
     "  expires: someday\n", r"entry 2: expires"),
    ("- just a string\n", r"entry 1: expected a mapping"),
    ("rule: a\n", r"expected a list"),
    ("- [unclosed\n", r"not valid"),
    ("- rule: a\n  endpoint: b\n  reason: ' '\n  expires: 2025-01-01\n", r"entry 1: reason"),
    ("- rule: a\n  endpoint: b\n  reason: c\n  expires: 2025-01-01\n  owner: me\n", r"entry 1: owner"),
])
def test_broken_waivers_name_file_and_entry(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=reason) as info:
        load_waivers(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_waivers_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_waivers(tmp_path / "absent.yaml")
