"""GCP discovery through the real Google Cloud clients (Compute REST, Cloud KMS and Resource Manager with
transport="rest") against the emulated API (probe.lab.gcp_fake: HTTPS on loopback, a trustme CA trusted through
REQUESTS_CA_BUNDLE, fixtures shaped as the documented REST responses). google.auth.default() is never called: the
fake is reached with --gcp-endpoint and GOOGLE_OAUTH_ACCESS_TOKEN, and NO_GCE_CHECK is set."""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.discovery import collect
from probe.discovery.declared import declared_policy_for
from probe.discovery.gcp import GcpProvider
from probe.discovery.models import CloudKmsKey, DiscoveryResult, GcpOptions, GcpSslCertificate
from probe.lab.fake_api import FakeApi
from probe.lab.fixtures import gcp as fx
from probe.lab.gcp_fake import running_gcp
from tests.packaging.test_extras import run_without

pytestmark = pytest.mark.live  # the fake API listens on loopback

runner = CliRunner()
TODAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeApi]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_GCE_CHECK", "True")
        with running_gcp(tmp_path_factory.mktemp("gcp")) as api:
            yield api


def options(fake: FakeApi, **extra: object) -> GcpOptions:
    return GcpOptions.model_validate({"endpoint": fake.url, "ca_file": str(fake.ca_file), **extra})


@pytest.fixture(scope="module")
def found(fake: FakeApi) -> Iterator[DiscoveryResult]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", fake.token)
        mp.delenv("REQUESTS_CA_BUNDLE", raising=False)
        yield collect(GcpProvider(options(fake), today=TODAY))
        assert "REQUESTS_CA_BUNDLE" not in os.environ  # set for the discovery only


def test_load_balancer_endpoints_are_found_by_address_with_their_certificate_name(found: DiscoveryResult) -> None:
    targets = {t.host: t for t in found.targets}
    assert set(targets) == {role.address for role in fx.ROLES.values()}  # the port-80 HTTP proxy is not one
    for role in fx.ROLES.values():
        target = targets[role.address or ""]
        assert (target.sni, target.source.kind, target.source.scheme, target.source.account) == (
            role.host, role.kind, role.scheme, fx.SHOP)
    assert targets["10.10.0.5"].source.region == "europe-west1"
    assert targets["34.120.10.11"].source.declared_policy == "default (COMPATIBLE, TLS_1_0)"
    web_cert = "projects/shop-prod-4711/global/sslCertificates/web-cert"
    assert targets["34.120.10.10"].source.certificate_arns == (web_cert,)


def test_ssl_policies_are_judged_by_their_properties(found: DiscoveryResult) -> None:
    targets = {t.host: t for t in found.targets}

    def policy(address: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        expanded = declared_policy_for(targets[address], found.policies)
        assert expanded is not None
        return expanded.protocols, expanded.ciphers, expanded.groups

    protocols, ciphers, groups = policy("34.120.10.11")  # no SSL policy: COMPATIBLE with TLS 1.0
    assert protocols[0] == "TLSv1.0" and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in ciphers
    protocols, ciphers, groups = policy("34.120.10.10")  # MODERN, TLS 1.2, post-quantum ENABLED
    assert protocols == ("TLSv1.2", "TLSv1.3") and groups[0] == "X25519MLKEM768"
    _, ciphers, groups = policy("34.120.10.12")  # CUSTOM features, post-quantum DEFERRED: off until October 2027
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in ciphers and "X25519MLKEM768" not in groups
    assert policy("10.10.0.5")[2][0] == "X25519MLKEM768"  # regional RESTRICTED, DEFAULT: on since October 2026


def test_certificates_and_keys_are_resources(found: DiscoveryResult) -> None:
    certs = {c.name: c for c in found.posture if isinstance(c, GcpSslCertificate)}
    assert set(certs) == {"web-cert", "legacy-cert", "tcp-cert", "eu-cert"}
    assert (certs["legacy-cert"].type, certs["legacy-cert"].key_type, certs["legacy-cert"].key_bits) == (
        "SELF_MANAGED", "RSA", 2048)
    assert certs["web-cert"].domains == ("www.shop.test",) and certs["eu-cert"].region == "europe-west1"
    assert certs["tcp-cert"].in_use_by == ("projects/shop-prod-4711/global/targetSslProxies/tcp-proxy",)
    keys = {k.id.rsplit("/", 1)[-1]: k for k in found.posture if isinstance(k, CloudKmsKey)}
    assert set(keys) == {"app-data", "legacy-data", "signer", "eu-archive", "ops-p384"}  # 3 in app-ring: two pages
    assert keys["app-data"].rotation_period_days == 90 and keys["legacy-data"].rotation_period_days is None
    assert (keys["signer"].purpose, keys["signer"].algorithm) == ("ASYMMETRIC_SIGN", "RSA_SIGN_PSS_2048_SHA256")
    assert keys["eu-archive"].location == "europe-west1" and keys["app-data"].protection_level == "HSM"


def test_failures_are_discovery_errors_per_project_and_service(found: DiscoveryResult, fake: FakeApi) -> None:
    errors = {(e.account, e.service): e.error for e in found.errors}
    assert set(errors) == {(fx.DENIED, "compute"), (fx.DENIED, "kms"), (fx.LEGACY, "compute")}
    assert errors[(fx.DENIED, "kms")].startswith("HTTP 403")
    assert errors[(fx.LEGACY, "compute")].startswith("API disabled or not found (HTTP 403 SERVICE_DISABLED")
    scopes = {(s.account, s.service): s.status for s in found.scopes}
    assert scopes[(fx.LEGACY, "kms")] == "ok"  # its 429 was retried after Retry-After
    assert fake.seen(f"/v1/projects/{fx.LEGACY}/locations") >= 2
    assert any(r.path == "/v3/projects:search" and r.query.get("pageToken") for r in fake.requests)
    assert any(r.path.endswith("/aggregated/forwardingRules") and r.query.get("pageToken") for r in fake.requests)
    assert all(r.headers.get("authorization") == f"Bearer {fake.token}" for r in fake.requests)


def test_a_throttled_service_is_given_up_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with running_gcp(tmp_path, throttle_always=((fx.SHOP, "kms"),)) as api:
        monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", api.token)
        result = collect(GcpProvider(options(api, projects=(fx.SHOP,), services=("kms",), max_attempts=2)))
    [error] = result.errors
    assert error.error == "throttled (HTTP 429) after 2 attempts, Retry-After 1 s honoured; gave up"
    assert result.scopes[0].status == "error" and result.posture == ()


def test_the_fake_is_strict_about_tokens_versions_and_paths(fake: FakeApi) -> None:
    token = {"Authorization": f"Bearer {fake.token}"}
    with httpx.Client(verify=ssl.create_default_context(cafile=fake.ca_file)) as http:
        assert http.get(f"{fake.url}/v3/projects:search").status_code == 401
        assert http.get(f"{fake.url}/v3/projects:search", headers=token).status_code == 200
        assert http.get(f"{fake.url}/compute/beta/projects/{fx.SHOP}/aggregated/forwardingRules",
                        headers=token).status_code == 404
        assert http.get(f"{fake.url}/v2/projects/{fx.SHOP}/locations", headers=token).status_code == 404


def test_rejected_credentials_exit_2_with_one_line(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.delenv("GOOGLE_OAUTH_ACCESS_TOKEN", raising=False)  # anonymous: the fake answers 401
    result = runner.invoke(app, ["discover", "--provider", "gcp", "--gcp-endpoint", fake.url, "--cloud-ca-file",
                                 str(fake.ca_file)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "Google Cloud rejected the credentials: HTTP 401" in result.stderr
    result = runner.invoke(app, ["discover", "--provider", "gcp", "--gcp-project", "Not A Project"])
    assert result.exit_code == 2 and "not a project id" in result.stderr


def test_discover_cli_with_given_projects(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", fake.token)
    result = runner.invoke(app, ["discover", "--provider", "gcp", "--gcp-endpoint", fake.url, "--cloud-ca-file",
                                 str(fake.ca_file), "--gcp-project", fx.SHOP, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"] == {"targets": 4, "posture": 8, "errors": 0, "scopes": 2, "scopes_failed": 0}
    assert fake.token not in result.stdout + result.stderr


def test_without_the_gcp_extra_the_provider_exits_2_with_the_pip_line(tmp_path: Path) -> None:
    done = run_without(("google",), "sweep", "--provider", "gcp", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "tlsprobe: error: --provider gcp needs the gcp extra (google.cloud.compute_v1, google.cloud.kms_v1, "
        "google.cloud.resourcemanager_v3 not installed): pip install 'tlsprobe[gcp]'")
