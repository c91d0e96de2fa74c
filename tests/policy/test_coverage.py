"""The coverage matrix (probe/policy/coverage.py, probe/report/coverage.py): a row for every clause the profile
carries, generated from the rule table; counts of endpoints and resources checked, passed and failed."""

from __future__ import annotations

import json
import re
from datetime import date

from probe.discovery.posture_models import EbsVolume, S3Bucket, SsmParameter
from probe.models import EndpointResult, Finding, Resource, ResourceResult, Severity, Waiver
from probe.policy import judge, list_profiles, load_profile
from probe.policy import rule_ids as R
from probe.policy.aws_posture import judge_estate
from probe.policy.coverage import NO_RULE, ClauseStatus, clause_rules, compute_coverage
from probe.policy.rules import RULES
from probe.report.coverage import (
    coverage_html,
    coverage_json,
    coverage_md,
    coverage_text,
    resources_summary_md,
    resources_summary_text,
)
from tests.policy.factories import errored, observation, versions

PROFILE = load_profile("op-pol-001")
TODAY = date(2026, 6, 1)
NUMBERED = re.compile(r"^OP-POL-001 (\d+(\.\d+)*)$")


def test_every_clause_of_the_profile_has_a_row_in_its_order() -> None:
    coverage = compute_coverage(PROFILE)
    assert [row.clause for row in coverage.rows] == [clause.id for clause in PROFILE.clauses]
    assert len(coverage.rows) == 33 and coverage.rows[0].title.startswith("Electronic Protected Health")


def test_every_clause_a_rule_names_is_a_clause_of_the_profile() -> None:
    """A rule pointing at a numbered clause the profile does not list would have no row."""
    listed = {clause.id for clause in PROFILE.clauses}
    for rule in RULES:
        match = NUMBERED.match(PROFILE.clause(rule))
        if match:
            assert match.group(1) in listed, f"{rule} names {match.group(1)}, which has no row"
    assert compute_coverage(PROFILE).unlisted == ()


def test_a_clause_no_rule_checks_says_why() -> None:
    by_clause = clause_rules(PROFILE)
    unchecked = [clause for clause in PROFILE.clauses if clause.id not in by_clause]
    assert {"3.2.3.2", "3.3.2.1", "3.4.2.4"} <= {c.id for c in unchecked}
    for clause in unchecked:
        assert clause.not_checked, f"{clause.id} has no rule and no reason"
    rows = {row.clause: row for row in compute_coverage(PROFILE).rows}
    assert rows["3.2.3.2"].status == ClauseStatus.NOT_CHECKED and "MFA" in (rows["3.2.3.2"].not_checked or "")
    assert "Security Officer approval" in (rows["3.1.2.3"].not_checked or "")  # partly checked
    assert rows["3.1.2.3"].rules and rows["3.2.1.2"].rules == tuple(sorted(rows["3.2.1.2"].rules))


def test_the_aws_clauses_are_enforced() -> None:
    by_clause = clause_rules(PROFILE)
    for clause, rule in (("3.1.1.1", R.AWS_RDS_UNENCRYPTED), ("3.1.1.2", R.AWS_SSM_SECRET_AS_STRING),
                         ("3.1.2.1", R.AWS_EBS_VOLUME_UNENCRYPTED), ("3.2.1.2", R.AWS_S3_NO_CMK),
                         ("3.2.1.3", R.AWS_KMS_KEY_UNUSABLE_IN_USE), ("3.2.1.4", R.AWS_KMS_POLICY_WILDCARD_PRINCIPAL),
                         ("3.2.2.1", R.AWS_KMS_SENSITIVE_NO_REPLICA), ("3.2.3.4", R.AWS_CLOUDTRAIL_NOT_LOGGING),
                         ("3.3.1.1", R.AWS_SECRETS_ROTATION_DISABLED), ("3.4.1.1", R.AWS_EBS_DEFAULT_ENCRYPTION_OFF),
                         ("3.4.2.2", R.AWS_S3_BUCKET_KEY_DISABLED)):
        assert rule in by_clause[clause], (clause, rule)


def test_rules_a_profile_turns_off_are_not_listed() -> None:
    assert R.CIPHER_NO_FORWARD_SECRECY not in clause_rules(PROFILE)["3.1.2.2"]  # off in op-pol-001
    assert "declared.tls.cipher.no_forward_secrecy" not in clause_rules(PROFILE)["3.1.2.2"]


def test_a_profile_without_clauses_has_no_rows_and_the_bundled_ones_load() -> None:
    for name in list_profiles():
        load_profile(name)
    assert compute_coverage(load_profile("mozilla-modern")).rows == ()


def _endpoint(host: str, **overrides: object) -> EndpointResult:
    return judge(observation(**overrides).model_copy(update={"target": observation().target.model_copy(
        update={"host": host})}), PROFILE, (), today=TODAY)


def test_endpoints_and_resources_are_counted_per_clause() -> None:
    good = _endpoint("good.example.com")
    legacy = _endpoint("legacy.example.com", tls_versions=versions("TLSv1.0", "TLSv1.2"))
    down = EndpointResult(observation=errored())
    phi = {"DataClassification": "ePHI"}
    items = [
        S3Bucket(account="1", region="eu-west-1", arn="arn:aws:s3:::a", name="a", tags=phi),  # no CMK: fails 3.2.1.2
        S3Bucket(account="1", region="eu-west-1", arn="arn:aws:s3:::b", name="b"),
        EbsVolume(account="1", region="eu-west-1", arn="arn:v", name="v", volume_id="vol-1", encrypted=False),
        SsmParameter(account="1", region="eu-west-1", arn="arn:p", name="/p/password", type="SecureString"),
    ]
    waiver = Waiver(rule=R.AWS_EBS_VOLUME_UNENCRYPTED, endpoint="v", reason="scratch", expires=date(2026, 12, 31))
    resources = judge_estate(items, PROFILE, [waiver], today=TODAY)
    coverage = compute_coverage(PROFILE, [good, legacy, down], resources)
    rows = {row.clause: row for row in coverage.rows}
    prohibited = rows["3.1.2.3"]  # tls.protocol.deprecated on legacy; the errored endpoint is not checked
    assert (prohibited.endpoints.checked, prohibited.endpoints.passed, prohibited.endpoints.failed) == (2, 1, 1)
    assert prohibited.status == ClauseStatus.FAILED and prohibited.findings >= 1
    cmk = rows["3.2.1.2"]  # the sensitive bucket only: the CMK rules apply to sensitive resources
    assert (cmk.resources.checked, cmk.resources.failed, cmk.endpoints.checked) == (1, 1, 0)
    transit = rows["3.1.1.1"]  # both buckets' policies (none: TLS not required), and the endpoints' protocols
    assert (transit.resources.checked, transit.resources.failed) == (2, 2)
    services = rows["3.1.2.1"]  # the unencrypted volume, waived: checked and passed
    assert (services.resources.checked, services.resources.passed, services.findings) == (1, 1, 0)
    assert rows["3.1.1.2"].resources == type(rows["3.1.1.2"].resources)(1, 1, 0)  # the SecureString parameter
    assert rows["3.2.3.4"].status == ClauseStatus.NOT_SEEN  # no trail in this run
    assert rows["3.2.3.2"].status == ClauseStatus.NOT_CHECKED


def test_findings_below_the_threshold_do_not_fail_a_clause() -> None:
    low = Finding(rule=R.ACM_IMPORTED, severity=Severity.LOW, clause="OP-POL-001 3.3.1.2", message="imported")
    certificate = ResourceResult(resource=Resource(provider="aws", kind="acm-certificate", id="arn:c"),
                                 findings=(low,), compliant=True)
    key = ResourceResult(resource=Resource(provider="aws", kind="kms-key", id="arn:k"), compliant=True)
    rows = {row.clause: row for row in compute_coverage(PROFILE, [], [certificate, key]).rows}
    assert (rows["3.3.1.2"].resources.checked, rows["3.3.1.2"].resources.passed, rows["3.3.1.2"].findings) == (1, 1, 1)
    assert rows["3.2.2.1"].resources.checked == 1  # kms.* rules by the key's family, without checked_rules


def test_renderings_have_a_row_per_clause_and_escape() -> None:
    hostile = PROFILE.model_copy(update={"clauses": (
        PROFILE.clauses[0].model_copy(update={"title": "<script>alert(1)</script> | pipe"}), *PROFILE.clauses[1:])})
    coverage = compute_coverage(hostile, [_endpoint("a.example.com")])
    text = coverage_text(coverage, width=100)
    assert all(re.search(rf"^{re.escape(row.clause)} ", text, re.M) for row in coverage.rows)
    assert "not checked by tlsprobe: MFA" in text and max(len(line) for line in text.splitlines()) <= 110
    markdown = coverage_md(coverage)
    assert sum(line.startswith("| 3.") for line in markdown.splitlines()) == len(coverage.rows)
    assert "\\| pipe" in markdown
    html = coverage_html(coverage)
    assert html.count('class="coverage-row"') == len(coverage.rows) and "<script>" not in html
    document = json.loads(coverage_json(coverage))
    assert [c["clause"] for c in document["clauses"]] == [c.id for c in PROFILE.clauses]
    assert document["clauses"][0]["endpoints"] == {"checked": 1, "passed": 1, "failed": 0}
    assert NO_RULE not in text  # every clause without a rule carries its own reason


def test_resources_summary_by_kind() -> None:
    phi = {"DataClassification": "ePHI"}
    resources = judge_estate([
        S3Bucket(account="1", region="r", arn="arn:aws:s3:::a", name="a", tags=phi),
        S3Bucket(account="1", region="r", arn="arn:aws:s3:::b", name="b"),
    ], PROFILE, today=TODAY)
    text = resources_summary_text(resources)
    assert "Resources: 2, 0 compliant" in text
    line = next(line for line in text.splitlines() if line.startswith("s3-bucket"))
    assert line.split()[:5] == ["s3-bucket", "2", "0", "1", "0"]
    assert "aws.s3.tls_not_required x2" in line
    assert "| `s3-bucket` | 2 | 0 | 1 | 0 |" in resources_summary_md(resources)


def test_the_report_command_text_and_its_refusal() -> None:
    import pytest

    from probe.errors import InputError
    from probe.models import PolicyRef
    from probe.report.coverage import coverage_report

    resources = judge_estate([S3Bucket(account="1", region="r", arn="arn:aws:s3:::a", name="a")], PROFILE, today=TODAY)
    policy = PolicyRef(id="OP-POL-001", profile="op-pol-001")
    text = coverage_report(policy, [], resources)
    assert text.index("Resources: 1, 0 compliant") < text.index("OP-POL-001 coverage (profile op-pol-001)")
    assert coverage_report(policy, [], resources, "md").startswith("## Resources by kind")
    assert json.loads(coverage_report(policy, [], resources, "json"))["policy"] == "OP-POL-001"
    for profile in ("mozilla-modern", "/no/such/profile.yaml"):
        with pytest.raises(InputError, match="no coverage matrix"):
            coverage_report(PolicyRef(id="X", profile=profile), [], resources)
