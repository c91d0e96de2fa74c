"""One `tlsprobe sweep --provider all`: AWS (moto in server mode), Azure and GCP (the emulated APIs) together, their
TLS endpoints served by lab servers whose certificates name them, Key Vault / Cloud KMS / ACM / KMS as resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.cloud import FleetManifest, seed_fleet, start_cloud
from probe.lab.fixtures import azure as azure_fx
from probe.lab.fixtures import gcp as gcp_fx
from probe.lab.manager import running_lab
from probe.lab.multicloud import Estates, running_estates
from probe.report import validate_document

pytestmark = pytest.mark.live

LAB = ["compliant", "legacy", "tls13-ecdsa"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetManifest, Estates, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("multicloud")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_EC2_METADATA_DISABLED": "true"}.items():
            mp.setenv(name, value)
        with (running_lab(root / "lab", names=LAB) as lab, start_cloud() as cloud,
              running_estates(root / "lab", lab) as estates):
            fleet = seed_fleet(cloud.endpoint_url)  # AWS names stay unresolved: judged on their declarations
            for name, value in estates.environment().items():
                mp.setenv(name, value)
            args = ["sweep", "--provider", "all", "--endpoint-url", cloud.endpoint_url, "--regions",
                    ",".join(fleet.regions), *estates.sweep_args()[4:], "--ca-file", str(lab.ca_file),
                    "--dns-server", "static", "--deadline", "60", "--timeout", "3", "--format", "json"]
            result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "tlsprobe: discovered" in result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    validate_document(document)
    yield fleet, estates, document


def by_provider(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        provider = item["target"]["source"]["provider"] if key == "endpoint" else item["provider"]
        counts[provider] = counts.get(provider, 0) + 1
    return counts


def test_the_three_clouds_are_swept_in_one_run(swept: tuple[FleetManifest, Estates, dict[str, Any]]) -> None:
    fleet, _, document = swept
    assert by_provider(document["endpoints"], "endpoint") == {
        "aws": len(fleet.endpoints), "azure": len(azure_fx.ROLES), "gcp": len(gcp_fx.ROLES)}
    kinds = {(r["provider"], r["kind"]) for r in document["resources"]}
    assert {("aws", "acm-certificate"), ("aws", "kms-key")} <= kinds
    assert {k for k in kinds if k[0] != "aws"} == {("azure", "azure-key-vault"), ("azure", "azure-key-vault-key"),
                                                   ("gcp", "gcp-kms-key"), ("gcp", "gcp-ssl-certificate")}
    errors = {(e["provider"], e["account"], e["service"]) for e in document["discovery_errors"]}
    assert {p for p, _, _ in errors} == {"azure", "gcp"}  # the denied, throttled and disabled scopes, nothing else
    assert (("azure", azure_fx.THROTTLED, "apimanagement") in errors
            and ("gcp", gcp_fx.LEGACY, "compute") in errors and ("gcp", gcp_fx.DENIED, "kms") in errors)


def test_served_endpoints_show_their_lab_endpoints_findings(
    swept: tuple[FleetManifest, Estates, dict[str, Any]],
) -> None:
    _, estates, document = swept
    entries = {e["target"]["host"]: e for e in document["endpoints"]}
    roles = {f"azure-{k}": (v.host, v) for k, v in azure_fx.ROLES.items()} | {
        f"gcp-{k}": (v.address or "", v) for k, v in gcp_fx.ROLES.items()}
    assert set(estates.manifest.served) == {name for name, (_, role) in roles.items() if role.lab_endpoint}
    for name, (host, role) in roles.items():
        entry = entries[host]
        if role.lab_endpoint is None:  # internal or unmapped: never dialled outside loopback, judged as declared
            assert entry["status"] == "error" and entry["error"]["kind"] in ("dns", "refused"), name
            assert any(f["rule"].startswith("declared.") for f in entry["findings"]), name
            continue
        assert entry["status"] == "ok", (name, entry["error"])
        assert entry["target"]["sni"] == role.host and all(c["hostname_match"] for c in entry["certificates"])
        observed = sorted((f["rule"], f["severity"]) for f in entry["findings"] if f["rule"].startswith(("tls.",
                                                                                                         "cert.")))
        expected = sorted((f.rule, f.severity.value) for f in estates.manifest.expected_findings(name)
                          if f.rule.startswith(("tls.", "cert.")))
        assert [o for o in observed if not o[0].startswith("tls.kex.pq")] == [
            e for e in expected if not e[0].startswith("tls.kex.pq")], name


def test_declared_and_drift_findings_follow_the_declarations(
    swept: tuple[FleetManifest, Estates, dict[str, Any]],
) -> None:
    _, _, document = swept
    rules = {e["target"]["host"]: {f["rule"] for f in e["findings"]} for e in document["endpoints"]}
    # a TLS 1.0 ssl profile with 3DES on a legacy server: declared and observed agree on what is wrong
    assert {"declared.tls.protocol.deprecated", "declared.tls.cipher.prohibited",
            "tls.protocol.deprecated"} <= rules["legacy.contoso.test"]
    # API Management with Tls10/Tls11/TripleDes168 switched on
    assert {"declared.tls.protocol.deprecated", "declared.tls.cipher.prohibited"} <= rules["api.contoso.test"]
    assert not {"declared.tls.protocol.deprecated", "tls.protocol.deprecated"} & rules["shop.contoso.test"]
    # GCP: the default COMPATIBLE policy allows TLS 1.0; a CUSTOM TLS 1.2 policy served TLS 1.3 only drifts
    assert "declared.tls.protocol.deprecated" in rules["34.120.10.11"]
    tcp = next(e for e in document["endpoints"] if e["target"]["host"] == "34.120.10.12")
    [drift] = [f for f in tcp["findings"] if f["rule"] == "drift.protocol"]
    assert drift["evidence"]["items"] == ["TLSv1.2"] and drift["severity"] == "low"
    assert "drift.cipher" in rules["www.contoso.test"] or "drift.protocol" in rules["www.contoso.test"]


def test_key_vault_and_cloud_kms_findings_name_their_clauses(
    swept: tuple[FleetManifest, Estates, dict[str, Any]],
) -> None:
    _, _, document = swept
    found = {(r["name"], f["rule"], f["clause"]) for r in document["resources"] for f in r["findings"]}
    assert ("kv-legacy", "azure.keyvault.soft_delete_disabled", "OP-POL-001 3.2.4") in found
    assert ("kv-prod/legacy-rsa2048", "azure.keyvault.rotation_disabled", "OP-POL-001 3.2.2.2") in found
    assert ("legacy-data", "gcp.kms.rotation_disabled", "OP-POL-001 3.2.2.3") in found
    assert ("signer", "gcp.kms.key.weak", "OP-POL-001 3.1.2.2") in found
    compliant = {r["name"] for r in document["resources"] if r["compliant"]}
    assert {"kv-prod", "kv-prod/app-rsa3072", "app-data", "web-cert"} <= compliant
    assert document["summary"]["resources"] == len(document["resources"])
