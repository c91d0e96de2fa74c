"""`tlsprobe sweep` on the emulated AWS fleet whose endpoints are lab TLS servers (moto server mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.cloud import SUGGESTED_LAB_ENDPOINTS, FleetManifest, seed_fleet, start_cloud
from probe.lab.cloud_servers import serving_fleet
from probe.lab.manager import _alive, running_lab
from probe.report import validate_document

LAB_NAMES = sorted(set(SUGGESTED_LAB_ENDPOINTS.values()))
MISMATCH = "cert.hostname_mismatch"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetManifest, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("sweep")
    monkey = pytest.MonkeyPatch()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkey.setenv(name, value)
    # each reachable seeded endpoint is served by a copy of its role's lab endpoint, certificates for its host
    with (running_lab(root / "lab", names=LAB_NAMES) as lab, start_cloud() as cloud,
          serving_fleet(seed_fleet(cloud.endpoint_url), lab) as manifest):
        args = ["sweep", "--provider", "aws", "--endpoint-url", cloud.endpoint_url,
                "--regions", ",".join(manifest.regions), "--ca-file", str(lab.ca_file), "--dns-server", "static",
                "--db", str(root / "h.db"), "--deadline", "120", "--format", "json"]  # fmt: skip
        # the copies share the lab endpoints' addresses: --per-host queues their scans, hence the long deadline
        for item in manifest.connect_to():
            args += ["--connect-to", item]
        result = CliRunner().invoke(app, args)
    monkey.undo()
    for server in manifest.served.values():
        assert not _alive(server.pid), f"{server.name} outlived serving_fleet"
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    validate_document(document)
    yield manifest, document


def entries(document: dict[str, Any], host: str) -> list[dict[str, Any]]:
    return [e for e in document["endpoints"] if e["target"]["host"] == host]


def rules(entry: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in entry["findings"]}


def test_every_seeded_endpoint_is_accounted_for(swept: tuple[FleetManifest, dict[str, Any]]) -> None:
    manifest, document = swept
    assert document["discovery_errors"] == []
    for endpoint in manifest.endpoints:
        [entry] = entries(document, endpoint.host)
        assert entry["target"]["source"]["declared_policy"] == endpoint.declared_policy, endpoint.role
        if endpoint.reachable and endpoint.host in manifest.resolve:
            assert entry["status"] == "ok", (endpoint.role, entry["error"])
        else:
            # internal or unmapped names: never sent to a real resolver, still judged on their declaration
            assert entry["status"] == "error" and entry["error"]["kind"] == "dns", endpoint.role
            assert any(r.startswith("declared.") for r in rules(entry)), endpoint.role
            assert entry["compliant"] is not None


def test_declared_observed_and_drift_findings_follow_the_seeding(swept: tuple[FleetManifest, dict[str, Any]]) -> None:
    manifest, document = swept
    by_role = {e.role: entries(document, e.host)[0] for e in manifest.endpoints}
    bad, good = by_role["alb-bad"], by_role["alb-good"]  # ELBSecurityPolicy-2016-08 on legacy; TLS13 on compliant
    assert {"declared.tls.protocol.deprecated", "tls.protocol.deprecated"} <= rules(bad)
    assert "drift.protocol" in rules(bad) or "drift.cipher" in rules(bad)
    assert not {"declared.tls.protocol.deprecated", "tls.protocol.deprecated"} & rules(good)
    assert bad["compliant"] is False


def test_acm_and_kms_posture_is_reported(swept: tuple[FleetManifest, dict[str, Any]]) -> None:
    manifest, document = swept
    resources = document["resources"]  # tlsprobe.scan/2: not endpoints, no synthetic host names
    assert {"acm-certificate", "kms-key"} <= {r["kind"] for r in resources}  # and the estate's (issue 18)
    all_rules = set().union(*(rules(r) for r in resources))
    assert {"acm.imported", "kms.rotation_disabled"} <= all_rules
    assert {r["id"] for r in resources} >= {*manifest.certificates.values(), *manifest.keys.values()}
    assert not any(e["target"]["host"].endswith(".invalid") for e in document["endpoints"])


def test_every_reachable_endpoint_is_served_by_its_role_lab_endpoint(
    swept: tuple[FleetManifest, dict[str, Any]],
) -> None:
    manifest, _ = swept
    reachable = {e.role: e.host for e in manifest.endpoints if e.reachable}
    assert set(manifest.served) == set(reachable)
    for role, server in manifest.served.items():
        assert server.host == reachable[role] and manifest.resolve[server.host] == (server.address, server.port)
        assert server.description.startswith(f"{role} (") and f"lab endpoint {SUGGESTED_LAB_ENDPOINTS[role]}:" in (
            server.description)


def test_hostname_mismatch_is_reported_exactly_where_the_ground_truth_has_it(
    swept: tuple[FleetManifest, dict[str, Any]],
) -> None:
    """The served certificates name the seeded hosts (load balancer DNS names, API domains, CloudFront aliases),
    except for the roles the ground truth marks as deliberate mismatches; the scanner's check is its own."""
    manifest, document = swept
    deliberate = manifest.deliberate_hostname_mismatches()
    assert deliberate == {"edge-domain"}  # served by the lab's hostname-mismatch endpoint (SUGGESTED_LAB_ENDPOINTS)
    hosts = {e.role: e.host for e in manifest.endpoints}
    for role, server in manifest.served.items():
        assert server.truth is not None
        names_host = all(server.host in c.sans for c in server.truth.certificates)
        assert names_host == (role not in deliberate), role
        assert all(c.hostname_match == names_host for c in server.truth.certificates), role
    reported = {e["target"]["host"] for e in document["endpoints"]
                if not e["target"]["host"].endswith(".invalid") and MISMATCH in rules(e)}  # ACM/KMS pseudo-endpoints
    assert reported == {hosts[role] for role in deliberate}
    for role in manifest.served:
        [entry] = entries(document, hosts[role])
        matches = {c["hostname_match"] for c in entry["certificates"]}
        assert matches == {role not in deliberate}, role


def test_observed_findings_are_the_served_lab_endpoints_ground_truth(
    swept: tuple[FleetManifest, dict[str, Any]],
) -> None:
    """What the sweep observes on each served endpoint (tls.* and cert.* findings, not declared.* or drift.*) is
    exactly what the lab expects of the endpoint it copies: rule and severity, as the lab's own scan tests compare."""
    manifest, document = swept
    hosts = {e.role: e.host for e in manifest.endpoints}
    for role in manifest.served:
        [entry] = entries(document, hosts[role])
        observed = sorted((f["rule"], f["severity"]) for f in entry["findings"]
                          if f["rule"].startswith(("tls.", "cert.")))
        expected = sorted((f.rule, f.severity.value) for f in manifest.expected_findings(role))
        assert observed == expected, role
