"""The lab definition file validates and uses only the fixed rule ids; the openssl table honours @SECLEVEL."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.errors import InputError
from probe.lab.definition import load_definition
from probe.lab.groundtruth import openssl_cipher_table, parse_openssl_ciphers
from probe.lab.paths import DEFAULT_DEFINITION
from probe.models import ErrorKind

RULE_IDS = {
    "tls.protocol.deprecated",
    "tls.protocol.no_modern",
    "tls.cipher.prohibited",
    "tls.cipher.sha1_mac",
    "tls.cipher.aes128",
    "tls.cipher.no_forward_secrecy",
    "tls.kex.weak_dh",
    "cert.key.weak",
    "cert.signature.weak",
    "cert.expired",
    "cert.expiring",
    "cert.untrusted",
    "cert.hostname_mismatch",
    "vuln.heartbleed",
    "vuln.ccs_injection",
    "vuln.robot",
    "vuln.insecure_renegotiation",
    "vuln.compression",
    "vuln.no_fallback_scsv",
    "http.hsts.missing",
    "http.hsts.short_max_age",
    "http.hsts.no_subdomains",
    "http.hsts.ineffective",
    "tls.kex.pq_absent",
    "tls.kex.pq_not_preferred",
    "tls.kex.pq_obsolete",
}
REQUIRED = {
    "tls13-ecdsa",
    "compliant",
    "legacy",
    "null-anon",
    "rsa1024",
    "sha1-cert",
    "dual-cert",
    "expired",
    "expiring",
    "self-signed",
    "hostname-mismatch",
    "client-cert",
    "plain-http",
    "tarpit",
}


def test_repo_definition_is_valid_and_complete() -> None:
    lab = load_definition(DEFAULT_DEFINITION)
    names = {e.name for e in lab.endpoints}
    assert names >= REQUIRED
    assert len({e.address for e in lab.endpoints}) == len(lab.endpoints)
    for endpoint in lab.endpoints:
        assert endpoint.address.startswith("127.")
        assert {f.rule for f in endpoint.expect.findings} <= RULE_IDS, endpoint.name
    errors = {e.name: e.expect.error for e in lab.endpoints if e.expect.error}
    assert errors == {"plain-http": ErrorKind.NOT_TLS, "tarpit": ErrorKind.TIMEOUT}


def test_select_rejects_unknown_names() -> None:
    lab = load_definition(DEFAULT_DEFINITION)
    assert [e.name for e in lab.select(["legacy", "tarpit"])] == ["legacy", "tarpit"]
    with pytest.raises(InputError, match="nope"):
        lab.select(["legacy", "nope"])


def test_invalid_definition_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "lab.yaml"
    bad.write_text("endpoints:\n  - {name: a, host: a.test, address: 10.0.0.1}\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid lab definition"):
        load_definition(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_definition(tmp_path / "missing.yaml")


def test_openssl_table_honours_security_level() -> None:
    strict = {r.iana for r in parse_openssl_ciphers(openssl_cipher_table("aNULL:eNULL:ECDHE+AESGCM"))}
    loose = {r.iana for r in parse_openssl_ciphers(openssl_cipher_table("aNULL:eNULL:ECDHE+AESGCM:@SECLEVEL=0"))}
    assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in strict
    assert not any("anon" in s or "NULL" in s for s in strict)
    assert {"TLS_DH_anon_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_NULL_SHA256"} <= loose
