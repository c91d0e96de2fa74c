"""`tlsprobe sweep` on the emulated AWS fleet whose endpoints are lab TLS servers (moto server mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.cloud import SUGGESTED_LAB_ENDPOINTS, FleetManifest, seed_fleet, start_cloud
from probe.lab.manager import running_lab
from probe.report import validate_document

LAB_NAMES = sorted(set(SUGGESTED_LAB_ENDPOINTS.values()))


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetManifest, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("sweep")
    monkey = pytest.MonkeyPatch()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkey.setenv(name, value)
    with running_lab(root / "lab", names=LAB_NAMES) as lab, start_cloud() as cloud:
        servers = {e.name: (e.address, e.port) for e in lab.endpoints}
        manifest = seed_fleet(cloud.endpoint_url, {r: servers[n] for r, n in SUGGESTED_LAB_ENDPOINTS.items()})
        args = ["sweep", "--provider", "aws", "--endpoint-url", cloud.endpoint_url,
                "--regions", ",".join(manifest.regions), "--ca-file", str(lab.ca_file), "--dns-server", "static",
                "--db", str(root / "h.db"), "--deadline", "120", "--format", "json"]  # fmt: skip
        # several seeded endpoints share one lab server: --per-host queues their scans, hence the long deadline
        for item in manifest.connect_to():
            args += ["--connect-to", item]
        result = CliRunner().invoke(app, args)
    monkey.undo()
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
    inventory = [e for e in document["endpoints"] if e["engine"] == "inventory"]
    kinds = {e["target"]["source"]["kind"] for e in inventory}
    assert kinds == {"acm-certificate", "kms-key"}
    all_rules = set().union(*(rules(e) for e in inventory))
    assert {"acm.imported", "kms.rotation_disabled"} <= all_rules
    assert len(inventory) >= len(manifest.certificates)
