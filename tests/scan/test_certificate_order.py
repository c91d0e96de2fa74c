"""Certificate deployments from sslyze's Scanner: the default client's first where the suite tells, stable order."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from probe.models import CertificateInfo
from probe.scan.sslyze_adapter import TlsVersionEnum, _default_first
from tests.policy.factories import cert


def probing(version: TlsVersionEnum, suite: str) -> SimpleNamespace:
    return SimpleNamespace(highest_tls_version_supported=version, cipher_suite_supported=suite)


RSA = cert(key_type="RSA", key_bits=2048, fingerprint_sha256="bb")
EC = cert(key_type="EC", key_bits=256, fingerprint_sha256="aa")


@pytest.mark.parametrize("served", [[RSA, EC], [EC, RSA]])
def test_the_connectivity_suites_key_type_comes_first_whatever_order_the_jobs_finished(
    served: list[CertificateInfo],
) -> None:
    assert _default_first(served, probing(TlsVersionEnum.TLS_1_2, "ECDHE-RSA-AES128-GCM-SHA256"))[0] is RSA
    assert _default_first(served, probing(TlsVersionEnum.TLS_1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"))[0] is EC
    assert _default_first(served, probing(TlsVersionEnum.TLS_1_0, "AES128-SHA"))[0] is RSA


@pytest.mark.parametrize("served", [[RSA, EC], [EC, RSA]])
def test_without_a_hint_the_order_is_stable(served: list[CertificateInfo]) -> None:
    assert _default_first(served, probing(TlsVersionEnum.TLS_1_3, "TLS_AES_256_GCM_SHA384")) == [EC, RSA]
    assert _default_first(served, None) == [EC, RSA]
