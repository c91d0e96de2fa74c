"""AWS discovery against moto in server mode with a seeded fleet (and a fault-injecting proxy)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from probe.discovery import AcmCertificate, AwsOptions, DiscoveryResult, KmsKey, collect, discover
from probe.discovery.aws import AwsProvider
from probe.discovery.aws.posture import SERVICES as POSTURE_SERVICES
from probe.discovery.models import ALL_SERVICES
from probe.discovery.posture_models import KmsKeyIndex
from probe.lab.cloud import FLEET_REGIONS, FaultProxy, FleetManifest
from probe.policy.resources import posture_findings

_READ_ONLY_PREFIXES = ("Describe", "List", "Get")


def _options(url: str, **extra: Any) -> AwsOptions:
    return AwsOptions(endpoint_url=url, regions=FLEET_REGIONS, max_attempts=2, **extra)


@pytest.fixture(scope="module")
def result(fleet: FleetManifest) -> DiscoveryResult:
    return discover(_options(fleet.endpoint_url))


def test_every_seeded_endpoint_is_found_with_its_declared_policy(fleet: FleetManifest,
                                                                 result: DiscoveryResult) -> None:
    by_host = {(t.host, t.port): t for t in result.targets}
    for seeded in fleet.endpoints:
        target = by_host.get((seeded.host, seeded.port))
        assert target is not None, f"{seeded.role} ({seeded.host}) not discovered"
        assert target.source.provider == "aws" and target.source.account == fleet.account
        assert target.source.kind == seeded.kind, seeded.role
        assert target.source.region == seeded.region, seeded.role
        assert target.source.declared_policy == seeded.declared_policy, seeded.role
        if seeded.scheme:
            assert target.source.scheme == seeded.scheme, seeded.role
        assert target.source.arn
    assert len(result.targets) == len(fleet.endpoints), "discovery found endpoints that were not seeded"
    assert result.errors == ()


def test_listener_certificates_default_first_then_sni(fleet: FleetManifest, result: DiscoveryResult) -> None:
    alb = next(t for t in result.targets if t.host.startswith("alb-good"))
    assert alb.source.certificate_arns == (fleet.certificates["alb-good"], fleet.certificates["alb-good-sni"])
    internal = next(t for t in result.targets if t.host.startswith("alb-internal"))
    assert internal.source.scheme == "internal"


def test_elbv2_policies_are_expanded_with_describe_ssl_policies(result: DiscoveryResult) -> None:
    old = result.policies["elbv2:ELBSecurityPolicy-2016-08"]
    assert old.protocols == ("TLSv1.0", "TLSv1.1", "TLSv1.2")
    assert "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" in old.ciphers and old.unknown_ciphers == ()
    assert old.source == "elbv2:DescribeSslPolicies"
    modern = result.policies["elbv2:ELBSecurityPolicy-TLS13-1-2-Res-2021-06"]
    assert modern.protocols == ("TLSv1.2", "TLSv1.3")
    assert "TLS_AES_256_GCM_SHA384" in modern.ciphers


def test_every_scope_is_accounted_for_and_empty_is_not_denied(result: DiscoveryResult) -> None:
    regional = {s for s in ALL_SERVICES if s != "cloudfront"}
    expected = {(r, s) for r in FLEET_REGIONS for s in regional} | {("global", "cloudfront")}
    scopes = {(s.region, s.service): s for s in result.scopes}
    assert set(scopes) == expected
    assert all(s.status == "ok" for s in scopes.values())
    assert scopes[("ap-southeast-2", "elb")].targets == 0  # really empty, and says so
    assert scopes[("eu-west-1", "elbv2")].targets == 3


def test_posture_inventory_matches_the_seeded_certificates_and_keys(fleet: FleetManifest,
                                                                    result: DiscoveryResult) -> None:
    certs = {p.arn: p for p in result.posture if isinstance(p, AcmCertificate)}
    keys = {p.arn: p for p in result.posture if isinstance(p, KmsKey)}
    assert set(fleet.certificates.values()) <= set(certs)
    assert certs[fleet.certificates["expiring"]].type == "IMPORTED"
    assert certs[fleet.certificates["alb-good"]].type == "AMAZON_ISSUED"
    assert set(fleet.keys.values()) <= set(keys)
    assert keys[fleet.keys["rotated"]].rotation_enabled is True
    assert keys[fleet.keys["not-rotated"]].rotation_enabled is False
    assert keys[fleet.keys["rsa-2048-sign"]].rotation_enabled is None  # rotation does not apply
    primary = keys[fleet.keys["multi-region"]]
    assert primary.multi_region and primary.multi_region_type == "PRIMARY" and primary.replica_regions == ("us-east-1",)


def test_posture_findings_on_the_fleet(fleet: FleetManifest, result: DiscoveryResult) -> None:
    today = datetime.now(UTC).date()
    by_arn = {p.arn: p for p in result.posture if isinstance(p, AcmCertificate | KmsKey)}

    def rules(arn: str, **kw: Any) -> set[str]:
        return {f.rule for f in posture_findings(by_arn[arn], today=today, **kw)}

    assert rules(fleet.certificates["expiring"]) == {"acm.imported", "acm.expiring", "acm.key.weak"}
    assert rules(fleet.certificates["nlb-tls"]) == {"acm.imported"}  # EC P-256, 200 days
    assert rules(fleet.keys["not-rotated"]) == {"kms.rotation_disabled"}
    assert rules(fleet.keys["rotated"]) == set()
    assert rules(fleet.keys["rsa-2048-sign"]) == {"kms.key.weak"}
    assert rules(fleet.keys["ecc-p256-sign"]) == set()
    assert rules(fleet.keys["rotated"], require_kms_replica=True) == {"kms.no_replica"}
    assert rules(fleet.keys["multi-region"], require_kms_replica=True) == set()


def test_resolve_map_points_seeded_names_at_lab_servers(fleet: FleetManifest) -> None:
    reachable = [e for e in fleet.endpoints if e.reachable]
    assert set(fleet.resolve) == {e.host for e in reachable}
    assert set(fleet.resolve.values()) == {("127.0.31.1", 9443), ("127.0.31.2", 9443)}
    assert not any(e.host in fleet.resolve for e in fleet.endpoints if e.scheme == "internal")
    connect_to = fleet.connect_to()
    assert len(connect_to) == len(reachable) and all(c.count(":") == 3 for c in connect_to)
    alb_bad = next(e for e in fleet.endpoints if e.role == "alb-bad")
    ip, port = fleet.resolve[alb_bad.host]
    assert f"{alb_bad.host}:443:{ip}:{port}" in connect_to


def test_denied_service_in_one_region_is_one_error_and_the_rest_is_complete(fleet: FleetManifest,
                                                                              result: DiscoveryResult) -> None:
    with FaultProxy(fleet.endpoint_url, deny={("kms", "eu-west-1")}) as proxy:
        denied = discover(_options(proxy.url))
    assert proxy.denied >= 1
    assert [(e.region, e.service) for e in denied.errors] == [("eu-west-1", "kms")]
    assert "AccessDenied" in denied.errors[0].error and denied.errors[0].account == fleet.account
    statuses = {(s.region, s.service): s.status for s in denied.scopes}
    assert statuses.pop(("eu-west-1", "kms")) == "error"
    assert set(statuses.values()) == {"ok"}
    assert {t.key for t in denied.targets} == {t.key for t in result.targets}

    def others(r: DiscoveryResult) -> set[str]:
        return {p.arn for p in r.posture
                if not isinstance(p, KmsKeyIndex) and not (isinstance(p, KmsKey) and p.region == "eu-west-1")}

    assert others(denied) == others(result)
    assert not any(isinstance(p, KmsKey) and p.region == "eu-west-1" for p in denied.posture)


def test_discovery_only_calls_read_operations(fleet: FleetManifest) -> None:
    calls: list[str] = []

    def hook(client: Any) -> None:
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))

    # every region: the estate's posture services (tests/discovery/test_aws_posture.py holds them to the same, to
    # a denylist and to the IAM policy) would start moto's EC2, RDS ... in each of them, for minutes
    endpoint_services = tuple(s for s in ALL_SERVICES if s not in POSTURE_SERVICES)
    found = collect(AwsProvider(AwsOptions(endpoint_url=fleet.endpoint_url, regions=("all",), max_attempts=2,
                                           services=endpoint_services), client_hook=hook))
    assert found.targets and not found.errors
    assert "DescribeRegions" in calls
    assert {"DescribeListenerCertificates", "DescribeSSLPolicies", "DescribeLoadBalancerPolicies", "GetDomainNames",
            "GetApis", "ListDistributions", "DescribeCertificate", "GetKeyRotationStatus"} <= set(calls)
    assert [c for c in calls if not c.startswith(_READ_ONLY_PREFIXES)] == []


def test_roles_and_organisation_accounts(fleet: FleetManifest) -> None:
    params: list[dict[str, Any]] = []

    def hook(client: Any) -> None:
        client.meta.events.register("provide-client-params.sts.AssumeRole",
                                    lambda params_=None, **kw: params.append(kw.get("params", {})))

    role = "arn:aws:iam::111111111111:role/Audit"
    one = collect(AwsProvider(_options(fleet.endpoint_url, role_arns=(role,), external_id="ext-123",
                                       services=("elbv2", "kms")), client_hook=hook))
    assert params and params[0]["RoleArn"] == role and params[0]["ExternalId"] == "ext-123"
    assert {s.account for s in one.scopes} == {"111111111111"}
    assert one.targets == () and all(s.status == "ok" for s in one.scopes)  # moto isolates that account

    org = boto3.client("organizations", region_name="us-east-1", endpoint_url=fleet.endpoint_url)
    org.create_organization(FeatureSet="ALL")
    created = org.create_account(AccountName="workload", Email="workload@example.test")["CreateAccountStatus"]
    found = collect(AwsProvider(_options(fleet.endpoint_url, org_role="OrganizationAccountAccessRole",
                                         services=("elbv2",))))
    accounts = {s.account for s in found.scopes}
    assert fleet.account in accounts and created["AccountId"] in accounts
    assert any(t.source.account == fleet.account for t in found.targets)


def test_cli_discover_json_round_trips(fleet: FleetManifest, tmp_path: Any) -> None:
    import typer
    from typer.testing import CliRunner

    from probe.cli import discover as discover_cli
    from probe.discovery.render import parse_document

    app = typer.Typer()
    app.command()(discover_cli.command)
    out = tmp_path / "targets.json"
    result = CliRunner().invoke(app, ["--provider", "aws", "--regions", ",".join(FLEET_REGIONS),
                                      "--endpoint-url", fleet.endpoint_url, "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "testing" not in result.output
    document = parse_document(out.read_text(encoding="utf-8"))
    assert {(t.host, t.source.declared_policy) for t in document.targets} == {
        (e.host, e.declared_policy) for e in fleet.endpoints}
    assert "elbv2:ELBSecurityPolicy-2016-08" in document.policies
    table = CliRunner().invoke(app, ["--regions", "eu-west-1", "--endpoint-url", fleet.endpoint_url,
                                     "--services", "elbv2", "--format", "table"])
    assert table.exit_code == 0 and "alb-bad-1.eu-west-1.elb.amazonaws.com" in table.stdout
