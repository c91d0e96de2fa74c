"""The AWS estate's encryption posture against moto in server mode: one seeded account (probe.lab.cloud_posture,
each case on both sides), discovered with read-only metadata calls and judged as its ground truth says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import probe
from probe.diff import diff_sweeps
from probe.discovery import AwsOptions, DiscoveryResult, collect
from probe.discovery.aws import AwsProvider
from probe.discovery.render import parse_document, render
from probe.lab.cloud import FLEET_REGIONS, FaultProxy, start_cloud
from probe.lab.cloud_posture import PostureManifest, seed_posture
from probe.models import ResourceResult
from probe.policy import load_profile
from probe.policy import rule_ids as R
from probe.policy.aws_posture import judge_estate

PROFILE = load_profile("op-pol-001")
TODAY = date(2026, 6, 1)
POLICY = json.loads((Path(probe.__file__).parent / "discovery" / "iam-policy.json").read_text())
# Calls that read data (secret values, parameter values, objects, plaintext keys): never made.
DENYLIST = {"GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath",
            "GetParameterHistory", "GetObject", "GetObjectTorrent", "SelectObjectContent", "Decrypt", "Encrypt",
            "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "Sign", "GetPublicKey", "ExportCertificate",
            "GetCertificate", "DownloadDBLogFilePortion", "GetLogEvents", "LookupEvents"}
# API operation -> IAM action where the names differ; sts:GetCallerIdentity needs no permission.
IAM_NAMES = {("s3", "ListBuckets"): "s3:ListAllMyBuckets",
             ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration"}
NO_PERMISSION = {("sts", "GetCallerIdentity")}


@pytest.fixture(scope="module")
def posture(aws_env: None) -> Iterator[PostureManifest]:
    with start_cloud() as cloud:
        yield seed_posture(cloud.endpoint_url, FLEET_REGIONS)


def _options(url: str, **extra: Any) -> AwsOptions:
    return AwsOptions(endpoint_url=url, regions=FLEET_REGIONS, max_attempts=2, **extra)


@pytest.fixture(scope="module")
def found(posture: PostureManifest) -> tuple[DiscoveryResult, list[tuple[str, str]]]:
    """The discovery, with every call it made: (IAM service prefix, operation)."""
    calls: list[tuple[str, str]] = []

    def hook(client: Any) -> None:
        client.meta.events.register(
            "before-call", lambda model, **_: calls.append((model.service_model.signing_name, model.name)))

    return collect(AwsProvider(_options(posture.endpoint_url), client_hook=hook)), calls


def judged(result: DiscoveryResult, **kw: Any) -> dict[str, ResourceResult]:
    return {r.resource.id: r for r in judge_estate(result.posture, PROFILE, today=TODAY, scopes=result.scopes, **kw)}


def rules(result: ResourceResult) -> tuple[str, ...]:
    return tuple(sorted(f.rule for f in result.findings if not f.waived))


def test_every_seeded_resource_is_judged_as_its_ground_truth(
        posture: PostureManifest, found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    result, _ = found
    assert result.errors == ()
    results = judged(result)
    assert set(results) == {case.id for case in posture.cases.values()}, "unseeded or missing resources"
    for role, case in posture.cases.items():
        got = results[case.id]
        assert got.resource.kind == case.kind, role
        assert rules(got) == case.expected, role
        attributes = got.resource.attributes
        if case.sensitive is not None:
            assert attributes["sensitive"] is case.sensitive, role
        if case.key_manager is not None:
            assert attributes["key_manager"] == case.key_manager, role
        assert set(rules(got)) <= set(attributes["checked_rules"]), role
    both_sides = {r for case in posture.cases.values() for r in case.expected}
    assert {rule for rule in vars(R).values() if isinstance(rule, str) and rule.startswith("aws.")} - both_sides == {
        R.AWS_KMS_KEY_UNKNOWN, R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL}  # one unknowable here, one in its own test
    scopes = {(s.region, s.service): s for s in result.scopes}
    assert scopes[("eu-west-1", "s3")].posture == 8 and scopes[("us-east-1", "s3")].posture == 1


def test_keys_know_the_resources_that_use_them(posture: PostureManifest,
                                               found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    results = judged(found[0])
    ids = {role: case.id for role, case in posture.cases.items()}
    phi = results[ids["kms-phi"]].resource.attributes
    assert {ids[r] for r in ("s3-phi-cmk", "ebs-phi-cmk", "snap-phi-cmk", "rds-phi-cmk", "aurora-phi-cmk",
                             "vault-phi-cmk", "secret-phi-cmk")} == set(phi["used_by"])
    assert results[ids["kms-used-by-phi"]].resource.attributes["used_by"] == [ids["efs-phi-cmk"]]
    assert set(results[ids["kms-std"]].resource.attributes["used_by"]) == {
        ids["s3-std-kms-no-bucket-key"], ids["/posture/signing-token"], ids["trail-main"]}
    assert results[ids["kms-std"]].resource.attributes["sensitive"] is False
    unusable = results[ids["kms-pending-in-use"]].findings[0]
    assert unusable.evidence["key_state"] == "PendingDeletion" and unusable.evidence["used_by"] == [
        ids["secret-on-pending-key"]]


def test_no_call_reads_data_and_every_call_is_in_the_iam_policy(
        found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    _, calls = found
    operations = {operation for _, operation in calls}
    assert {"ListBuckets", "GetBucketEncryption", "GetBucketPolicy", "GetEbsEncryptionByDefault", "DescribeSnapshots",
            "DescribeDBClusters", "DescribeFileSystems", "ListBackupVaults", "ListSecrets", "DescribeParameters",
            "GetKeyPolicy", "ListResourceTags", "ListAliases", "DescribeTrails", "GetTrailStatus"} <= operations
    assert operations & DENYLIST == set()
    assert all(op.startswith(("Describe", "List", "Get")) for op in operations)
    assert "ListSecrets" in operations and "DescribeSecret" not in operations  # one pass, not a call per secret
    granted = {action for statement in POLICY["Statement"] for action in
               ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    needed = {IAM_NAMES.get(call, f"{call[0]}:{call[1]}") for call in set(calls) - NO_PERMISSION
              if call[0] != "apigateway"}
    assert needed - granted == set(), "calls made that probe/discovery/iam-policy.json does not grant"
    assert not any(action.split(":")[1] in DENYLIST for action in granted)


def test_a_service_denied_in_one_region_is_one_error_and_the_rest_is_complete(
        posture: PostureManifest, found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    complete = judged(found[0])
    with FaultProxy(posture.endpoint_url, deny={("rds", "eu-west-1")}) as proxy:
        denied = collect(AwsProvider(_options(proxy.url)))
    assert proxy.denied >= 1
    assert [(e.region, e.service) for e in denied.errors] == [("eu-west-1", "rds")]
    assert "AccessDenied" in denied.errors[0].error
    statuses = {(s.region, s.service): s.status for s in denied.scopes}
    assert statuses.pop(("eu-west-1", "rds")) == "error" and set(statuses.values()) == {"ok"}
    rds_eu = {case.id for case in posture.cases.values() if case.kind.startswith("rds-") and case.region == "eu-west-1"}
    assert len(rds_eu) == 6
    partial = judged(denied)
    assert set(partial) == set(complete) - rds_eu
    kms_phi = posture.cases["kms-phi"].id
    assert {r: rules(partial[r]) for r in partial if r != kms_phi} == {
        r: rules(complete[r]) for r in partial if r != kms_phi}


def test_an_account_without_a_logging_multi_region_trail(posture: PostureManifest) -> None:
    other = collect(AwsProvider(_options(posture.endpoint_url, role_arns=("arn:aws:iam::111111111111:role/Audit",),
                                         services=("cloudtrail",))))
    [account] = judge_estate(other.posture, PROFILE, today=TODAY, scopes=other.scopes)
    assert account.resource.id == "arn:aws:cloudtrail::111111111111:trails"
    assert rules(account) == (R.AWS_CLOUDTRAIL_NO_MULTI_REGION_TRAIL,) and account.compliant is False


def test_the_discovery_document_keeps_the_estate(found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    result, _ = found
    again = parse_document(render("json", result))
    assert again.posture == result.posture
    assert {r: rules(v) for r, v in judged(again).items()} == {r: rules(v) for r, v in judged(result).items()}
    table = render("table", result)
    assert "s3-bucket" in table and "kms-key-index" in table


def test_a_resource_that_became_non_compliant_is_a_regression(
        posture: PostureManifest, found: tuple[DiscoveryResult, list[tuple[str, str]]]) -> None:
    before = judged(found[0])
    bucket = posture.cases["s3-std-default"].id
    changed = [item.model_copy(update={"policy": None}) if getattr(item, "arn", None) == bucket else item
               for item in found[0].posture]
    after = {r.resource.id: r for r in judge_estate(changed, PROFILE, today=TODAY, scopes=found[0].scopes)}
    assert rules(after[bucket]) == (R.AWS_S3_TLS_NOT_REQUIRED,)
    diff = diff_sweeps([], [], old_resources=before.values(), new_resources=after.values())
    assert [(r.endpoint, r.rule) for r in diff.regressions] == [(bucket, R.AWS_S3_TLS_NOT_REQUIRED)]


def test_sweep_classifies_by_the_sensitive_tags_given(posture: PostureManifest) -> None:
    from typer.testing import CliRunner

    from probe.cli.main import app

    base = ["sweep", "--provider", "aws", "--endpoint-url", posture.endpoint_url, "--regions", "eu-west-1",
            "--services", "s3,kms", "--format", "json"]
    bucket = posture.cases["s3-phi-sse-s3"].id

    def bucket_rules(*extra: str) -> set[str]:
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 0, result.output
        [entry] = [r for r in json.loads(result.stdout)["resources"] if r["id"] == bucket]
        return {f["rule"] for f in entry["findings"]}

    assert bucket_rules() == {R.AWS_S3_NO_CMK, R.AWS_S3_TLS_NOT_REQUIRED}  # DataClassification=ePHI by default
    assert bucket_rules("--sensitive-tag", "Owner=payments") == {R.AWS_S3_TLS_NOT_REQUIRED}
    assert bucket_rules("--sensitive-tag", "Owner=payments", "--sensitive-tag", "DataClassification=EPHI") == {
        R.AWS_S3_NO_CMK, R.AWS_S3_TLS_NOT_REQUIRED}
    bad = CliRunner().invoke(app, [*base, "--sensitive-tag", "ePHI"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.stderr and bad.stderr.strip().count("\n") == 0
    swept = probe.sweep(provider="aws", endpoint_url=posture.endpoint_url, regions="eu-west-1", services="s3,kms",
                        sensitive_tag=["Owner=payments"])
    [entry] = [r for r in swept.document.resources if r.id == bucket]
    assert {f.rule for f in entry.findings} == {R.AWS_S3_TLS_NOT_REQUIRED}


def test_report_coverage_of_a_stored_sweep(posture: PostureManifest, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from probe.cli.main import app

    db = str(tmp_path / "history.db")
    swept = CliRunner().invoke(app, ["sweep", "--provider", "aws", "--endpoint-url", posture.endpoint_url,
                                     "--regions", ",".join(FLEET_REGIONS), "--db", db, "--label", "estate",
                                     "--format", "json"])
    assert swept.exit_code == 0, swept.output
    report = CliRunner().invoke(app, ["report", "--db", db, "--coverage", "--format", "json"])
    assert report.exit_code == 0, report.output
    rows = {row["clause"]: row for row in json.loads(report.stdout)["clauses"]}
    assert list(rows) == [clause.id for clause in PROFILE.clauses]
    cases = posture.cases.values()
    cmk = rows["3.2.1.2"]["resources"]  # the sensitive resources with a key (unencrypted ones fail elsewhere)
    assert cmk["checked"] == sum(c.sensitive is True and c.kind != "kms-key" and c.key_manager != "none"
                                 for c in cases)
    assert cmk["failed"] == sum(any(r.endswith(".no_cmk") for r in c.expected) for c in cases) == 8
    assert rows["3.2.3.4"]["resources"] == {"checked": 3, "passed": 2, "failed": 1}  # two trails and the account
    assert rows["3.2.3.2"]["status"] == "not checked by tlsprobe" and "MFA" in rows["3.2.3.2"]["not_checked"]
    assert all(row["endpoints"]["checked"] == 0 for row in rows.values())  # nothing was scanned
    text = CliRunner().invoke(app, ["report", "--db", db, "--coverage"]).stdout
    assert text.startswith("Resources: ") and "s3-bucket" in text and "\n3.2.1.2   FAILED" in text
    markdown = CliRunner().invoke(app, ["report", "--db", db, "--coverage", "--format", "md"]).stdout
    assert "## Coverage of OP-POL-001" in markdown
    html = CliRunner().invoke(app, ["report", "--db", db, "--format", "html"]).stdout
    assert html.count('class="coverage-row"') == len(PROFILE.clauses)
