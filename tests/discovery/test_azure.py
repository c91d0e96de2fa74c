"""Azure discovery through the real SDK clients against the emulated Azure Resource Manager (probe.lab.azure_fake:
HTTPS on loopback, a trustme CA, fixtures shaped as the documented API versions). No SDK class is patched and no
DefaultAzureCredential is built: the fake is reached with --azure-endpoint and a static AZURE_ACCESS_TOKEN."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.discovery import collect
from probe.discovery.azure import AzureProvider
from probe.discovery.declared import declared_policy_for
from probe.discovery.models import AzureOptions, DiscoveryResult, KeyVault, KeyVaultKey
from probe.errors import InputError
from probe.lab.azure_fake import running_azure
from probe.lab.fake_api import FakeApi
from probe.lab.fixtures import azure as fx
from tests.packaging.test_extras import run_without

pytestmark = pytest.mark.live  # the fake API listens on loopback

runner = CliRunner()


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeApi]:
    with running_azure(tmp_path_factory.mktemp("azure")) as api:
        yield api


@pytest.fixture(scope="module")
def found(fake: FakeApi) -> Iterator[DiscoveryResult]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AZURE_ACCESS_TOKEN", fake.token)
        yield collect(AzureProvider(AzureOptions(endpoint=fake.url, ca_file=str(fake.ca_file))))


def by_host(result: DiscoveryResult) -> dict[str, object]:
    return {t.host: t for t in result.targets}


def test_every_tls_endpoint_is_found_with_its_kind_and_declaration(found: DiscoveryResult) -> None:
    hosts = {t.host: (t.source.kind, t.source.declared_policy, t.source.scheme, t.source.account)
             for t in found.targets}
    assert set(hosts) == {role.host for role in fx.ROLES.values()}  # the Http listener and the CDN profile are not
    for role in fx.ROLES.values():
        assert hosts[role.host][0] == role.kind and hosts[role.host][2] == role.scheme
        assert hosts[role.host][3] == fx.SUBSCRIPTION
    assert hosts["shop.contoso.test"][1] == "AppGwSslPolicy20220101"
    assert hosts["legacy.contoso.test"][1] == "Custom(TLSv1_0)"  # the listener's ssl profile, not the gateway's
    assert hosts["intranet.contoso.internal"][1] == "AppGwSslPolicy20150501"  # no ssl policy: the old default
    assert all(t.sni == t.host for t in found.targets)


def test_declarations_are_expanded_from_the_properties(found: DiscoveryResult) -> None:
    targets = {t.host: t for t in found.targets}

    def policy(host: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]:
        expanded = declared_policy_for(targets[host], found.policies)
        assert expanded is not None, host
        return expanded.protocols, expanded.ciphers, expanded.groups, expanded.source

    protocols, _, _, source = policy("shop.contoso.test")
    assert protocols == ("TLSv1.2", "TLSv1.3") and source == "azure:applicationGateways.getSslPredefinedPolicy"
    protocols, ciphers, _, _ = policy("legacy.contoso.test")
    assert protocols == ("TLSv1.0", "TLSv1.1", "TLSv1.2") and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in ciphers
    _, _, groups, _ = policy("www.contoso.test")
    assert groups == ("X25519MLKEM768", "X25519", "secp256r1")  # Custom group policy; prime256v1 as scanned
    assert policy("old.contoso.test")[0][0] == "TLSv1.0"
    assert policy("pay.contoso.test")[1] == ("TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                             "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")
    assert policy("classic.contoso.test")[0][0] == "TLSv1.0"
    assert policy("fd-classic.azurefd.net")[0][0] == "TLSv1.2"
    protocols, ciphers, _, _ = policy("api.contoso.test")
    assert protocols == ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")  # Backend.Protocols.Ssl30=True is the backend's
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in ciphers


def test_key_vaults_and_keys_are_read_with_their_properties(found: DiscoveryResult) -> None:
    vaults = {v.name: v for v in found.posture if isinstance(v, KeyVault)}
    keys = {k.name: k for k in found.posture if isinstance(k, KeyVaultKey)}
    assert set(vaults) == {"kv-prod", "kv-legacy"}
    assert vaults["kv-prod"].purge_protection and vaults["kv-prod"].soft_delete is True
    assert not vaults["kv-legacy"].purge_protection and vaults["kv-legacy"].soft_delete is False
    assert set(keys) == {"app-rsa3072", "legacy-rsa2048", "signing-p256", "backup-p384"}  # 3 keys: two pages
    assert (keys["app-rsa3072"].key_size, keys["app-rsa3072"].rotation_interval_days) == (3072, 90)
    assert keys["legacy-rsa2048"].rotation_enabled is False  # its rotation policy, read by keys.get, only notifies
    assert keys["signing-p256"].curve == "P-256" and keys["signing-p256"].rotation_interval_days == 730
    assert keys["backup-p384"].tags == {} and vaults["kv-prod"].tags == {"data": "sensitive"}


def test_failures_are_discovery_errors_per_subscription_and_service(found: DiscoveryResult, fake: FakeApi) -> None:
    denied = [e for e in found.errors if e.account == fx.DENIED]
    assert {e.service for e in denied} == {"applicationgateway", "frontdoor", "frontdoor-classic", "apimanagement",
                                           "keyvault"}
    assert all(e.error.startswith("HTTP 403 AuthorizationFailed") for e in denied)
    [throttled] = [e for e in found.errors if e.account == fx.THROTTLED]
    assert throttled.service == "apimanagement"
    assert throttled.error == "throttled (HTTP 429) after 4 attempts, Retry-After 1 s honoured; gave up"
    assert len(found.errors) == 6  # nothing else failed: the other subscriptions are complete
    scopes = {(s.account, s.service): s for s in found.scopes}
    assert len(scopes) == 15 and scopes[(fx.SUBSCRIPTION, "frontdoor-classic")].status == "ok"
    # Front Door (classic) answered 429 once: the retry after Retry-After found its frontends
    assert fake.seen(f"/subscriptions/{fx.SUBSCRIPTION}/providers/Microsoft.Network/frontDoors") == 2
    assert scopes[(fx.THROTTLED, "keyvault")].status == "ok" and scopes[(fx.THROTTLED, "apimanagement")].errors == 1


def test_pages_are_followed_and_predefined_policies_asked_once(fake: FakeApi, found: DiscoveryResult) -> None:
    assert any(r.path == "/subscriptions" and "$skiptoken" in r.query for r in fake.requests)
    assert any(r.path.endswith("/vaults/kv-prod/keys") and "$skiptoken" in r.query for r in fake.requests)
    assert fake.seen("predefinedPolicies/AppGwSslPolicy20220101") == 1
    assert all(r.headers.get("authorization") == f"Bearer {fake.token}" for r in fake.requests)


def test_the_fake_is_strict_about_versions_tokens_and_paths(fake: FakeApi) -> None:
    token = {"Authorization": f"Bearer {fake.token}"}
    gateways = f"{fake.url}/subscriptions/{fx.SUBSCRIPTION}/providers/Microsoft.Network/applicationGateways"
    with httpx.Client(verify=ssl.create_default_context(cafile=fake.ca_file)) as http:
        wrong = http.get(f"{gateways}?api-version=2024-01-01", headers=token)
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "InvalidApiVersionParameter"
        assert http.get(f"{gateways}?api-version=2026-03-01", headers=token).status_code == 200
        path = f"{fake.url}/subscriptions?api-version=2022-12-01"
        assert http.get(path).status_code == 401
        assert http.get(path, headers={"Authorization": "Bearer other"}).status_code == 401
        unknown = http.get(f"{fake.url}/subscriptions/{fx.SUBSCRIPTION}/providers/Microsoft.Sql/servers"
                           "?api-version=2023-08-01", headers=token)
        assert unknown.status_code == 404


def test_given_subscriptions_only(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", fake.token)
    result = collect(AzureProvider(AzureOptions(endpoint=fake.url, ca_file=str(fake.ca_file),
                                                subscriptions=(fx.DENIED,), services=("keyvault",))))
    assert result.targets == () and result.posture == () and len(result.errors) == 1
    assert result.scopes[0].status == "error"  # denied is an error, never an empty "nothing found"


def test_no_token_or_a_rejected_one_exits_2_with_one_line(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["discover", "--provider", "azure", "--azure-endpoint", fake.url, "--cloud-ca-file", str(fake.ca_file)]
    monkeypatch.delenv("AZURE_ACCESS_TOKEN", raising=False)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "AZURE_ACCESS_TOKEN" in result.stderr
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "not-the-token-s3cr3t")
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Azure rejected the credentials: HTTP 401" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    with pytest.raises(InputError, match="must be an https:// URL"):
        AzureProvider(AzureOptions(endpoint="http://127.0.0.1:1"))


def test_discover_cli_lists_azure_targets_and_posture(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", fake.token)
    result = runner.invoke(app, ["discover", "--provider", "azure", "--azure-endpoint", fake.url, "--cloud-ca-file",
                                 str(fake.ca_file), "--azure-subscription", fx.SUBSCRIPTION, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"]["targets"] == len(fx.ROLES) and document["summary"]["errors"] == 0
    assert {p["item"] for p in document["posture"]} == {"azure-key-vault", "azure-key-vault-key"}
    assert fake.token not in result.stdout + result.stderr


def test_without_the_azure_extra_the_provider_exits_2_with_the_pip_line(tmp_path: Path) -> None:
    done = run_without(("azure",), "discover", "--provider", "azure", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().startswith("tlsprobe: error: --provider azure needs the azure extra (azure.identity")
    assert done.stderr.strip().endswith("pip install 'tlsprobe[azure]'")
