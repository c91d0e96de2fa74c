"""Unit tests of the pure ground-truth derivation (probe.lab.groundtruth)."""

from __future__ import annotations

import pytest

from probe.lab.groundtruth import (
    DEFAULT_TLS13_SUITES,
    CipherRow,
    accepted_suites,
    accepted_versions,
    parse_openssl_ciphers,
)

TABLE = """\
TLS_AES_256_GCM_SHA384         - TLS_AES_256_GCM_SHA384         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(256)  Mac=AEAD
TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 - ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH Au=ECDSA \
Enc=AESGCM(256) Mac=AEAD
TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 - ECDHE-RSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH Au=RSA Enc=AESGCM(256) Mac=AEAD
TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 - DHE-RSA-AES256-GCM-SHA384 TLSv1.2 Kx=DH Au=RSA Enc=AESGCM(256) Mac=AEAD
TLS_DHE_DSS_WITH_AES_256_GCM_SHA384 - DHE-DSS-AES256-GCM-SHA384 TLSv1.2 Kx=DH Au=DSS Enc=AESGCM(256) Mac=AEAD
TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA - ECDHE-RSA-AES128-SHA TLSv1 Kx=ECDH Au=RSA Enc=AES(128) Mac=SHA1
TLS_RSA_WITH_AES_256_CBC_SHA   - AES256-SHA                     SSLv3   Kx=RSA      Au=RSA   Enc=AES(256)     Mac=SHA1
TLS_DH_anon_WITH_AES_256_GCM_SHA384 - ADH-AES256-GCM-SHA384 TLSv1.2 Kx=DH Au=None Enc=AESGCM(256) Mac=AEAD
TLS_ECDH_anon_WITH_AES_128_CBC_SHA - AECDH-AES128-SHA TLSv1 Kx=ECDH Au=None Enc=AES(128) Mac=SHA1
TLS_RSA_WITH_NULL_SHA256       - NULL-SHA256                    TLSv1.2 Kx=RSA      Au=RSA   Enc=None         Mac=SHA256
TLS_PSK_WITH_AES_256_GCM_SHA384 - PSK-AES256-GCM-SHA384 TLSv1.2 Kx=PSK Au=PSK Enc=AESGCM(256) Mac=AEAD
TLS_RSA_PSK_WITH_AES_256_CBC_SHA - RSA-PSK-AES256-CBC-SHA SSLv3 Kx=RSAPSK Au=RSA Enc=AES(256) Mac=SHA1
TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA - SRP-RSA-AES-256-CBC-SHA SSLv3 Kx=SRP Au=RSA Enc=AES(256) Mac=SHA1
(NONE)                         - GOST2012-GOST8912-GOST8912     TLSv1   Kx=GOST     Au=GOST01 Enc=GOST89(256) Mac=GOST89
"""

ALL_ON = {"TLSv1.0": True, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True}


def rows() -> list[CipherRow]:
    return parse_openssl_ciphers(TABLE)


def test_parse_keeps_iana_rows_and_fields() -> None:
    parsed = rows()
    assert len(parsed) == 13  # the (NONE) row has no IANA name
    first = parsed[1]
    assert first == CipherRow(
        iana="TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        openssl="ECDHE-ECDSA-AES256-GCM-SHA384",
        protocol="TLSv1.2",
        kx="ECDH",
        au="ECDSA",
        enc="AESGCM(256)",
        mac="AEAD",
    )


def test_accepted_versions_is_the_closed_range() -> None:
    assert accepted_versions("TLSv1.0", "TLSv1.2") == {
        "SSLv2": False,
        "SSLv3": False,
        "TLSv1.0": True,
        "TLSv1.1": True,
        "TLSv1.2": True,
        "TLSv1.3": False,
    }
    assert [v for v, on in accepted_versions("TLSv1.3", "TLSv1.3").items() if on] == ["TLSv1.3"]
    with pytest.raises(ValueError):
        accepted_versions("TLSv1.3", "TLSv1.2")


def test_rsa_cert_without_dh_params() -> None:
    suites = accepted_suites(rows(), ALL_ON, {"RSA"}, dh_params=False)
    pre13 = [
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
    ]
    assert suites["TLSv1.0"] == pre13
    assert suites["TLSv1.1"] == pre13
    assert suites["TLSv1.2"] == [
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_NULL_SHA256",
    ]
    assert suites["TLSv1.3"] == list(DEFAULT_TLS13_SUITES)


def test_dh_params_enable_dhe_and_dh_anon_but_never_dss_or_psk() -> None:
    suites = accepted_suites(rows(), {"TLSv1.2": True}, {"RSA"}, dh_params=True)
    assert "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" in suites["TLSv1.2"]
    assert "TLS_DH_anon_WITH_AES_256_GCM_SHA384" in suites["TLSv1.2"]
    for never in (
        "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
        "TLS_PSK_WITH_AES_256_GCM_SHA384",
        "TLS_RSA_PSK_WITH_AES_256_CBC_SHA",
        "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA",
    ):
        assert never not in suites["TLSv1.2"]
    assert set(suites) == {"TLSv1.2"}


def test_ecdsa_only_server_drops_rsa_authentication_and_key_exchange() -> None:
    suites = accepted_suites(rows(), {"TLSv1.2": True}, {"EC"}, dh_params=False)
    assert suites["TLSv1.2"] == ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"]


def test_dual_cert_server_gets_both_authentications() -> None:
    suites = accepted_suites(rows(), {"TLSv1.2": True}, ["RSA", "EC"], dh_params=False)
    assert suites["TLSv1.2"][:2] == ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]


def test_tls13_suites_come_from_configuration_not_the_table() -> None:
    suites = accepted_suites(
        rows(), {"TLSv1.3": True}, {"RSA"}, dh_params=False, tls13_suites=["TLS_AES_256_GCM_SHA384"]
    )
    assert suites == {"TLSv1.3": ["TLS_AES_256_GCM_SHA384"]}


def test_no_ecdhe_without_groups() -> None:
    suites = accepted_suites(rows(), {"TLSv1.2": True}, {"RSA"}, dh_params=False, ecdhe=False)
    assert all("ECDH" not in s for s in suites["TLSv1.2"])
    assert "TLS_RSA_WITH_AES_256_CBC_SHA" in suites["TLSv1.2"]


def test_disabled_versions_get_no_entry() -> None:
    suites = accepted_suites(rows(), {"TLSv1.0": False, "TLSv1.2": True}, {"RSA"}, dh_params=False)
    assert set(suites) == {"TLSv1.2"}
