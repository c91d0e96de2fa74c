"""Azure Key Vault, Cloud KMS and Compute SSL certificate posture, and Azure/GCP declared TLS, judged by their
properties (pure: no SDK, no server). Every resource kind compliant and not."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import probe
from probe.discovery.azure.policies import (
    afd_domain_policy,
    apim_policy,
    appgw_policy,
    appgw_predefined,
    frontdoor_classic_policy,
)
from probe.discovery.gcp.policies import DEFAULT_POLICY_NAME, post_quantum_on, ssl_policy
from probe.discovery.models import CloudKmsKey, GcpSslCertificate, KeyVault, KeyVaultKey
from probe.models import Severity
from probe.policy import load_profile
from probe.policy.resources import judge_resource
from probe.policy.rules import RULES

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PROFILE = load_profile("op-pol-001")
APIM = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."


def rules_of(item: object, **kw: object) -> dict[str, tuple[Severity, str]]:
    result = judge_resource(item, PROFILE, today=TODAY, **kw)  # type: ignore[arg-type]
    return {f.rule: (f.severity, f.clause) for f in result.findings}


def test_a_vault_with_soft_delete_and_purge_protection_is_compliant_and_one_without_is_not() -> None:
    good = KeyVault(subscription="s", id="/v/good", name="good", soft_delete=True, purge_protection=True)
    bad = KeyVault(subscription="s", id="/v/bad", name="bad", soft_delete=False)
    assert judge_resource(good, PROFILE, today=TODAY).compliant is True and rules_of(good) == {}
    assert rules_of(bad) == {
        "azure.keyvault.soft_delete_disabled": (Severity.HIGH, "OP-POL-001 3.2.4"),
        "azure.keyvault.purge_protection_disabled": (Severity.MEDIUM, "OP-POL-001 3.2.4"),
    }
    assert judge_resource(bad, PROFILE, today=TODAY).resource.provider == "azure"


def test_key_vault_keys_rotation_expiry_and_strength() -> None:
    good = KeyVaultKey(
        subscription="s",
        id="/k/1",
        name="k1",
        vault="v",
        key_type="RSA-HSM",
        key_size=3072,
        enabled=True,
        expires=NOW + timedelta(days=300),
        rotation_enabled=True,
        rotation_interval_days=90,
    )
    assert rules_of(good) == {}
    weak = KeyVaultKey(subscription="s", id="/k/2", name="k2", vault="v", key_type="RSA", key_size=2048, enabled=True)
    assert rules_of(weak) == {
        "azure.keyvault.rotation_disabled": (Severity.MEDIUM, "OP-POL-001 3.2.2.2"),
        "azure.keyvault.key.no_expiry": (Severity.LOW, "OP-POL-001 3.2.1.3"),
        "azure.keyvault.key.weak": (Severity.MEDIUM, "OP-POL-001 3.1.2.2"),
    }
    late = KeyVaultKey(
        subscription="s",
        id="/k/3",
        name="k3",
        vault="v",
        key_type="EC",
        curve="P-256",
        enabled=True,
        expires=NOW - timedelta(days=3),
        rotation_enabled=True,
        rotation_interval_days=730,
    )
    assert set(rules_of(late)) == {"azure.keyvault.key.expired", "azure.keyvault.rotation_interval"}
    disabled = weak.model_copy(update={"enabled": False})
    assert rules_of(disabled) == {}  # a disabled key encrypts nothing new


def test_cloud_kms_keys_rotation_strength_and_replication() -> None:
    good = CloudKmsKey(
        project="p",
        location="europe",
        id="projects/p/locations/europe/keyRings/r/cryptoKeys/a",
        purpose="ENCRYPT_DECRYPT",
        algorithm="GOOGLE_SYMMETRIC_ENCRYPTION",
        rotation_period_days=90,
    )
    assert rules_of(good) == {} and rules_of(good, require_kms_replica=True) == {}
    never = good.model_copy(update={"rotation_period_days": None, "location": "europe-west1"})
    assert rules_of(never) == {"gcp.kms.rotation_disabled": (Severity.MEDIUM, "OP-POL-001 3.2.2.3")}
    assert set(rules_of(never, require_kms_replica=True)) == {"gcp.kms.rotation_disabled", "gcp.kms.single_region"}
    assert set(rules_of(good.model_copy(update={"rotation_period_days": 400}))) == {"gcp.kms.rotation_interval"}
    signer = good.model_copy(
        update={"purpose": "ASYMMETRIC_SIGN", "algorithm": "RSA_SIGN_PSS_2048_SHA256", "rotation_period_days": None}
    )
    assert rules_of(signer) == {"gcp.kms.key.weak": (Severity.MEDIUM, "OP-POL-001 3.1.2.2")}
    assert rules_of(signer.model_copy(update={"algorithm": "EC_SIGN_P256_SHA256"})) == {}
    assert rules_of(signer.model_copy(update={"algorithm": "RSA_DECRYPT_OAEP_3072_SHA256"})) == {}


def test_compute_ssl_certificates() -> None:
    managed = GcpSslCertificate(
        project="p",
        id="projects/p/global/sslCertificates/a",
        name="a",
        type="MANAGED",
        key_type="EC",
        key_bits=256,
        not_after=NOW + timedelta(days=80),
    )
    assert rules_of(managed) == {}
    legacy = managed.model_copy(
        update={"type": "SELF_MANAGED", "key_type": "RSA", "key_bits": 2048, "not_after": NOW + timedelta(days=20)}
    )
    assert set(rules_of(legacy)) == {
        "gcp.certificate.self_managed",
        "gcp.certificate.expiring",
        "gcp.certificate.key.weak",
    }
    assert "gcp.certificate.expired" in rules_of(legacy.model_copy(update={"not_after": NOW - timedelta(days=1)}))


def test_appgw_policies_are_read_from_their_properties() -> None:
    predefined = {
        "AppGwSslPolicy20220101": appgw_predefined("AppGwSslPolicy20220101"),
        "AppGwSslPolicy20150501": appgw_predefined("AppGwSslPolicy20150501"),
    }
    name, modern = appgw_policy(
        {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101"}, "AppGwSslPolicy20150501", predefined
    )  # type: ignore[arg-type]
    assert name == "AppGwSslPolicy20220101" and modern is not None and modern.protocols == ("TLSv1.2", "TLSv1.3")
    name, default = appgw_policy(None, "AppGwSslPolicy20150501", predefined)  # type: ignore[arg-type]
    assert default is not None and "TLSv1.0" in default.protocols and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in default.ciphers
    name, custom = appgw_policy(
        {"policyType": "CustomV2", "minProtocolVersion": "TLSv1_3", "cipherSuites": []},
        "AppGwSslPolicy20150501",
        predefined,
    )  # type: ignore[arg-type]
    assert custom is not None and custom.protocols == ("TLSv1.3",)
    name, without = appgw_policy({"disabledSslProtocols": ["TLSv1_0", "TLSv1_1"]}, "AppGwSslPolicy20150501", predefined)  # type: ignore[arg-type]
    assert without is not None and without.protocols == ("TLSv1.2",) and "without" in name
    api = appgw_predefined(
        "Unknown", {"properties": {"minProtocolVersion": "TLSv1_1", "cipherSuites": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}}
    )
    assert api is not None and api.protocols == ("TLSv1.1", "TLSv1.2") and api.source.startswith("azure:")
    assert appgw_predefined("Unknown") is None


def test_front_door_tls_settings_interplay() -> None:
    _, predefined = afd_domain_policy({"cipherSuiteSetType": "TLS12_2023", "minimumTlsVersion": "TLS10"})
    assert predefined.protocols == ("TLSv1.2", "TLSv1.3")  # the set decides; minimumTlsVersion is for Customized
    _, legacy = afd_domain_policy({"minimumTlsVersion": "TLS10"})  # before cipherSuiteSetType existed
    assert legacy.protocols[0] == "TLSv1.0"
    _, custom = afd_domain_policy(
        {
            "cipherSuiteSetType": "Customized",
            "minimumTlsVersion": "TLS12",
            "customizedCipherSuiteSet": {
                "cipherSuiteSetForTls12": ["ECDHE_RSA_AES128_SHA256"],
                "cipherSuiteSetForTls13": ["TLS_AES_256_GCM_SHA384"],
            },
            "serverTlsGroupPolicy": "Custom",
            "serverTlsGroups": ["X25519MLKEM768", "prime256v1"],
        }
    )
    assert custom.ciphers == ("TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")
    assert custom.groups == ("X25519MLKEM768", "secp256r1")
    _, classic = frontdoor_classic_policy("1.0")
    assert classic.protocols[0] == "TLSv1.0" and frontdoor_classic_policy(None)[1].protocols[0] == "TLSv1.2"


def test_api_management_switches_match_the_whole_key() -> None:
    _, off = apim_policy({f"{APIM}Backend.Protocols.Tls10": "True", f"{APIM}Backend.Protocols.Ssl30": "True"}, "a")
    assert off.protocols == ("TLSv1.2", "TLSv1.3") and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" not in off.ciphers
    _, on = apim_policy(
        {
            f"{APIM}Protocols.Tls10": "True",
            f"{APIM}Ciphers.TripleDes168": "true",
            f"{APIM}Ciphers.TLS_RSA_WITH_AES_128_CBC_SHA": "False",
        },
        "a",
    )
    assert on.protocols == ("TLSv1.0", "TLSv1.2", "TLSv1.3") and "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in on.ciphers
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" not in on.ciphers


def test_gcp_ssl_policies_by_profile_features_and_post_quantum_as_of_the_date() -> None:
    name, default = ssl_policy(None, TODAY)
    assert name == DEFAULT_POLICY_NAME and default.protocols[0] == "TLSv1.0"
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in default.ciphers
    _, restricted = ssl_policy({"name": "r", "profile": "RESTRICTED", "minTlsVersion": "TLS_1_2"}, TODAY)
    assert restricted.protocols == ("TLSv1.2", "TLSv1.3") and not any("_CBC_" in c for c in restricted.ciphers)
    _, listed = ssl_policy(
        {
            "name": "c",
            "profile": "CUSTOM",
            "minTlsVersion": "TLS_1_2",
            "customFeatures": ["TLS_RSA_WITH_AES_128_CBC_SHA"],
            "enabledFeatures": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
        },
        TODAY,
    )
    assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in listed.ciphers  # the API's enabledFeatures win
    assert post_quantum_on("DEFAULT", date(2026, 9, 30)) is False and post_quantum_on("DEFAULT", TODAY) is True
    assert post_quantum_on("DEFERRED", TODAY) is False and post_quantum_on("DEFERRED", date(2027, 10, 1)) is True
    assert post_quantum_on("ENABLED", date(2020, 1, 1)) is True
    assert "X25519MLKEM768" in ssl_policy({"name": "p", "postQuantumKeyExchange": "DEFAULT"}, TODAY)[1].groups


CLOUD_RULE = re.compile(r"^(azure\.keyvault|gcp\.kms|gcp\.certificate)\.[a-z0-9_]+(\.[a-z0-9_]+)*$")


def test_every_azure_and_gcp_rule_id_in_the_code_is_in_the_table_with_its_clause() -> None:
    package = Path(probe.__file__).parent
    found = {
        node.value
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CLOUD_RULE.match(node.value)
    }
    assert len(found) >= 15 and found <= set(RULES)
    clauses = {RULES[r].clause for r in found}
    assert clauses == {
        "OP-POL-001 3.2.4",
        "OP-POL-001 3.2.2.2",
        "OP-POL-001 3.2.2.3",
        "OP-POL-001 3.2.1.3",
        "OP-POL-001 3.1.2.2",
        "OP-POL-001 3.3.1.2",
    }


@pytest.mark.parametrize("rule", sorted(r for r in RULES if r.startswith(("azure.", "gcp."))))
def test_default_profile_takes_the_table_clause(rule: str) -> None:
    assert PROFILE.clause(rule) == RULES[rule].clause
