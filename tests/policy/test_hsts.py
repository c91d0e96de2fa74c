"""HSTS read as RFC 6797 says (probe/scan/hsts.py) and judged (probe/policy/http.py); must-staple and SCT rules
(probe/policy/stapling.py). Pure: synthetic observations, no server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

import probe
from probe.models import HstsHeader, HttpInfo, Observation, Severity
from probe.policy import load_profile
from probe.policy import rule_ids as R
from probe.policy.rules import RULES
from probe.scan.hsts import MAX_DELTA_SECONDS, RAW_LIMIT, first_hsts, parse_hsts
from tests.policy.factories import cert, findings_for, observation, only, rules

YEAR = 31536000
BUNDLED = Path(__file__).resolve().parents[2] / "probe" / "policy" / "profiles"


def header(value: str) -> tuple[int | None, bool, bool]:
    parsed = parse_hsts(value).header
    return parsed.max_age, parsed.include_subdomains, parsed.preload


# -- parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("max-age=31536000; includeSubDomains; preload", (YEAR, True, True)),
    ("max-age=31536000", (YEAR, False, False)),
    ("MAX-AGE=600; INCLUDESUBDOMAINS; Preload", (600, True, True)),  # directive names in any case
    ('max-age="31536000"; includeSubDomains', (YEAR, True, False)),  # a quoted value
    ('max-age="3\\1"', (31, False, False)),  # a quoted-pair inside the quotes
    ("  max-age = 10 ;; includeSubDomains ; ", (10, True, False)),  # spaces and empty directives
    ("includeSubDomains; max-age=10", (10, True, False)),  # order is not significant
    ('max-age=10; report-uri="https://a.test/r;x"; x-unknown=token', (10, False, False)),  # unknown: ignored
    ("max-age=0", (0, False, False)),
    ("max-age=000000000000000000000000000120", (120, False, False)),  # leading zeros are still a small number
])
def test_valid_headers(value: str, expected: tuple[int, bool, bool]) -> None:
    parsed = parse_hsts(value)
    assert parsed.problem is None, parsed.problem
    assert header(value) == expected
    assert parsed.header.raw == value


@pytest.mark.parametrize(("value", "problem"), [
    ("includeSubDomains; preload", "no max-age"),
    ("", "no max-age"),
    ("max-age", "no value"),
    ("max-age=", "expected a token"),
    ("max-age=abc", "not a number"),
    ('max-age="one year"; includeSubDomains', "not a number"),
    ("max-age=-1", "not a number"),
    ("max-age=1.5", "not a number"),
    ("max-age=٣٠", "expected a token"),  # not ASCII: not a token
    ('max-age="٣٠"', "not a number"),  # Arabic-Indic digits are digits to str.isdigit, not to RFC 6797
    ("max-age=10; max-age=20", "more than once"),  # every directive only once
    ("max-age=10; includeSubDomains; INCLUDESUBDOMAINS", "more than once"),
    ("max-age=10, includeSubDomains", "expected ';'"),  # a comma is not a directive separator
    ('max-age="10', "unterminated"),
])
def test_invalid_headers_have_no_max_age_and_say_why(value: str, problem: str) -> None:
    parsed = parse_hsts(value)
    assert parsed.header.max_age is None
    assert parsed.problem is not None and problem in parsed.problem


def test_an_invalid_header_still_reports_the_directives_it_names() -> None:
    assert header('max-age="one year"; includeSubDomains') == (None, True, False)
    assert header("max-age=1, includeSubDomains; preload") == (None, False, True)


def test_huge_numbers_are_capped_at_two_to_the_31() -> None:
    assert header("max-age=2147483647") == (2147483647, False, False)
    assert header("max-age=2147483649") == (MAX_DELTA_SECONDS, False, False)
    assert header("max-age=" + "9" * 10000) == (MAX_DELTA_SECONDS, False, False)  # past int()'s digit limit
    assert len(parse_hsts("max-age=" + "9" * 10000).header.raw) == RAW_LIMIT


def test_the_first_of_several_headers_counts() -> None:
    first = first_hsts(["max-age=abc", "max-age=31536000; includeSubDomains"])
    assert first is not None and first.header.max_age is None and first.header.raw == "max-age=abc"
    second = first_hsts(["max-age=60", "max-age=31536000"])
    assert second is not None and second.header.max_age == 60
    assert first_hsts([]) is None


# -- judging ------------------------------------------------------------------------------------------------


def served(value: str | None, status: int = 200, **overrides: object) -> Observation:
    hsts = parse_hsts(value).header if value is not None else None
    return observation(http=HttpInfo(status=status, hsts=hsts), **overrides)


def http_rules(obs: Observation, profile: str = "op-pol-001") -> list[str]:
    return sorted(r for r in rules(obs, profile) if r.startswith("http."))


def test_full_one_year_header_passes() -> None:
    assert rules(served("max-age=31536000; includeSubDomains; preload")) == []
    assert http_rules(served("max-age=63072000; includeSubDomains")) == []


@pytest.mark.parametrize(("value", "expected"), [
    (None, ["http.hsts.missing"]),
    ("max-age=abc; includeSubDomains", ["http.hsts.missing"]),  # ignored by browsers
    ("max-age=0; includeSubDomains", ["http.hsts.missing"]),  # forget the host
    ("max-age=86400; includeSubDomains", ["http.hsts.short_max_age"]),
    ("max-age=31535999; includeSubDomains", ["http.hsts.short_max_age"]),
    ("max-age=31536000", ["http.hsts.no_subdomains"]),
    ("max-age=60", ["http.hsts.no_subdomains", "http.hsts.short_max_age"]),
])
def test_hsts_rules(value: str | None, expected: list[str]) -> None:
    assert http_rules(served(value)) == expected


def test_severities_and_clause_of_the_default_profile() -> None:
    [missing] = only(served(None), R.HSTS_MISSING)
    assert (missing.severity, missing.clause) == (Severity.MEDIUM, "OP-POL-001 3.1.1.1")
    assert missing.evidence == {"status": 200, "header": None}
    [short] = only(served("max-age=60; includeSubDomains"), R.HSTS_SHORT_MAX_AGE)
    assert (short.severity, short.evidence["minimum_max_age"], short.evidence["max_age"]) == (Severity.LOW, YEAR, 60)
    [subs] = only(served("max-age=31536000"), R.HSTS_NO_SUBDOMAINS)
    assert subs.severity == Severity.LOW
    [invalid] = only(served("max-age=1; max-age=2"), R.HSTS_MISSING)
    assert "not valid" in invalid.message and invalid.evidence["header"] == "max-age=1; max-age=2"


def test_any_answer_is_judged_a_failed_request_never() -> None:
    assert http_rules(served(None, status=301)) == ["http.hsts.missing"]  # HSTS belongs on redirects too
    assert http_rules(observation(http=HttpInfo(error="timeout: nothing within 3 s waiting for the response"))) == []
    assert http_rules(observation(http=None)) == []  # not HTTPS, or --no-http


@pytest.mark.parametrize(("broken", "problem"), [
    ({"chain_trusted": False}, "untrusted chain"),
    ({"hostname_match": False}, "another host name"),
    ({"days_to_expiry": -1}, "expired"),
])
def test_hsts_behind_a_certificate_that_does_not_validate_is_ineffective(broken: dict[str, object], problem: str
                                                                        ) -> None:
    obs = served("max-age=31536000; includeSubDomains; preload", certificates=(cert(**broken),))
    [finding] = only(obs, R.HSTS_INEFFECTIVE)
    assert finding.severity == Severity.MEDIUM and problem in finding.message
    assert finding.evidence["certificate_problems"] == [problem]
    assert http_rules(obs) == ["http.hsts.ineffective"]
    # no header at all is missing, not ineffective
    assert http_rules(served(None, certificates=(cert(**broken),))) == ["http.hsts.missing"]


def test_severities_and_the_minimum_are_profile_settings(tmp_path: Path) -> None:
    data = yaml.safe_load((BUNDLED / "op-pol-001.yaml").read_text())
    data["hsts"].update(min_max_age=600, missing_severity="high", no_subdomains_severity=None)
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(data))
    profile = load_profile(str(path))
    assert R.HSTS_NO_SUBDOMAINS not in profile.active_rules()
    assert [f.severity for f in findings_for(served(None), profile)] == [Severity.HIGH]
    assert http_rules(served("max-age=600"), str(path)) == []
    assert http_rules(served("max-age=599"), str(path)) == ["http.hsts.short_max_age"]
    assert load_profile("mozilla-intermediate").hsts.min_max_age == 63072000  # type: ignore[union-attr]
    assert http_rules(served("max-age=31536000; includeSubDomains"), "mozilla-modern") == ["http.hsts.short_max_age"]


def test_a_profile_without_the_new_sections_still_loads_and_judges_neither(tmp_path: Path) -> None:
    """A custom profile written before these rules: no hsts section, no stapling severities, no rule text."""
    data = yaml.safe_load((BUNDLED / "op-pol-001.yaml").read_text())
    del data["hsts"]
    for key in ("must_staple_unstapled_severity", "no_sct_severity"):
        del data["certificates"][key]
    for rule in (*R.HSTS_RULES, R.CERT_MUST_STAPLE_UNSTAPLED, R.CERT_NO_SCT):
        del data["rules"][rule]
    path = tmp_path / "older.yaml"
    path.write_text(yaml.safe_dump(data))
    profile = load_profile(str(path))
    obs = served(None, certificates=(cert(must_staple=True, ocsp_stapled=False, publicly_trusted=True, sct_count=0),))
    assert findings_for(obs, profile) == []


# -- must-staple and certificate transparency ------------------------------------------------------------


def test_must_staple_without_a_stapled_response_is_high() -> None:
    obs = observation(certificates=(cert(must_staple=True, ocsp_stapled=False),))
    [finding] = findings_for(obs)
    assert (finding.rule, finding.severity, finding.clause) == (R.CERT_MUST_STAPLE_UNSTAPLED, Severity.HIGH,
                                                                "OP-POL-001 3.3.1.2")
    assert rules(observation(certificates=(cert(must_staple=True, ocsp_stapled=True),))) == []
    assert rules(observation(certificates=(cert(must_staple=False, ocsp_stapled=False),))) == []  # OCSP alone: none
    assert rules(observation(certificates=(cert(must_staple=True, ocsp_stapled=None),))) == []  # not known


def test_no_sct_only_for_publicly_trusted_chains() -> None:
    obs = observation(certificates=(cert(publicly_trusted=True, sct_count=0),))
    [finding] = findings_for(obs)
    assert (finding.rule, finding.severity, finding.clause) == (R.CERT_NO_SCT, Severity.LOW, "OP-POL-001 3.3.1.2")
    assert rules(observation(certificates=(cert(publicly_trusted=True, sct_count=2),))) == []
    assert rules(observation(certificates=(cert(publicly_trusted=False, sct_count=0),))) == []  # a --ca-file CA
    assert rules(observation(certificates=(cert(publicly_trusted=True, sct_count=None),))) == []  # not known


# -- the rule table ------------------------------------------------------------------------------------------


def test_new_rules_are_in_the_table_with_their_clause_and_severity() -> None:
    expected = {
        "http.hsts.missing": ("OP-POL-001 3.1.1.1", Severity.MEDIUM),
        "http.hsts.short_max_age": ("OP-POL-001 3.1.1.1", Severity.LOW),
        "http.hsts.no_subdomains": ("OP-POL-001 3.1.1.1", Severity.LOW),
        "http.hsts.ineffective": ("OP-POL-001 3.1.1.1", Severity.MEDIUM),
        "cert.must_staple_unstapled": ("OP-POL-001 3.3.1.2", Severity.HIGH),
        "cert.no_sct": ("OP-POL-001 3.3.1.2", Severity.LOW),
    }
    assert {rule: (RULES[rule].clause, RULES[rule].severity) for rule in expected} == expected
    profile = load_profile("op-pol-001")
    assert profile.hsts is not None
    settings = {R.HSTS_MISSING: profile.hsts.missing_severity,
                R.HSTS_SHORT_MAX_AGE: profile.hsts.short_max_age_severity,
                R.HSTS_NO_SUBDOMAINS: profile.hsts.no_subdomains_severity,
                R.HSTS_INEFFECTIVE: profile.hsts.ineffective_severity,
                R.CERT_MUST_STAPLE_UNSTAPLED: profile.certificates.must_staple_unstapled_severity,
                R.CERT_NO_SCT: profile.certificates.no_sct_severity}
    assert {rule: (profile.clause(rule), severity) for rule, severity in settings.items()} == expected


def test_every_http_rule_id_written_in_the_code_is_in_the_table() -> None:
    package = Path(probe.__file__).parent
    found = {node.value for path in package.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("http.hsts.")}
    assert found == set(R.HSTS_RULES) and found <= set(RULES)


def test_hsts_header_model_defaults() -> None:
    assert HstsHeader(raw="x").model_dump() == {"raw": "x", "max_age": None, "include_subdomains": False,
                                                "preload": False}
