"""Google Cloud SSL policies expanded into protocols, suites and groups (the scanner's vocabulary). Pure.

A target HTTPS or SSL proxy declares its TLS through its SSL policy: a profile (COMPATIBLE, MODERN, RESTRICTED or
CUSTOM with `customFeatures`), `minTlsVersion`, and `postQuantumKeyExchange`. The API also returns the resulting
`enabledFeatures`, which are used when present; the profile table below is the fallback. A proxy without an SSL
policy gets COMPATIBLE with TLS 1.0. TLS 1.3 is always on, with its three suites.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from probe.discovery.declared import expand_policy
from probe.discovery.models import DeclaredPolicy
from probe.models import TLS_VERSIONS

__all__ = ["DEFAULT_POLICY_NAME", "post_quantum_on", "ssl_policy"]

DOC = "https://cloud.google.com/load-balancing/docs/ssl-policies-concepts"
DEFAULT_POLICY_NAME = "default (COMPATIBLE, TLS_1_0)"
_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
_RESTRICTED = ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
               "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
               "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
_MODERN = (*_RESTRICTED, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
           "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
           "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA",
           "TLS_RSA_WITH_AES_256_CBC_SHA")
PROFILE_FEATURES: dict[str, tuple[str, ...]] = {
    "RESTRICTED": _RESTRICTED,
    "MODERN": _MODERN,
    "COMPATIBLE": (*_MODERN, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
}
_MIN_VERSION = {"TLS_1_0": "TLSv1.0", "TLS_1_1": "TLSv1.1", "TLS_1_2": "TLSv1.2", "TLS_1_3": "TLSv1.3"}
_CLASSICAL_GROUPS = ("X25519", "secp256r1")
_PQ_GROUP = "X25519MLKEM768"
# postQuantumKeyExchange: DEFAULT turns hybrid key exchange on from October 2026; DEFERRED keeps it off until
# October 2027; ENABLED turns it on now. Judged as of the discovery date.
DEFAULT_ON = date(2026, 10, 1)
DEFERRED_ON = date(2027, 10, 1)


def post_quantum_on(setting: str | None, today: date) -> bool:
    """Whether a policy's `postQuantumKeyExchange` offers the hybrid group on `today`."""
    value = (setting or "DEFAULT").upper()
    if value == "ENABLED":
        return True
    if value == "DEFERRED":
        return today >= DEFERRED_ON
    if value == "DISABLED":
        return False
    return today >= DEFAULT_ON


def ssl_policy(policy: Mapping[str, Any] | None, today: date) -> tuple[str, DeclaredPolicy]:
    """(declared name, expansion) of an SSL policy resource, or of the default when there is none."""
    policy = policy or {}
    profile = str(policy.get("profile") or "COMPATIBLE")
    minimum = str(policy.get("minTlsVersion") or "TLS_1_0")
    if policy.get("enabledFeatures"):
        features, source = tuple(policy["enabledFeatures"]), "gcp:sslPolicies.enabledFeatures"
    elif profile == "CUSTOM":
        features, source = tuple(policy.get("customFeatures") or ()), "gcp:sslPolicies.customFeatures"
    else:
        features, source = PROFILE_FEATURES.get(profile, PROFILE_FEATURES["COMPATIBLE"]), DOC
    start = _MIN_VERSION.get(minimum, "TLSv1.0")
    versions = TLS_VERSIONS[TLS_VERSIONS.index(start):]
    pq = post_quantum_on(policy.get("postQuantumKeyExchange"), today)
    name = str(policy.get("name") or DEFAULT_POLICY_NAME)
    expanded = expand_policy("gcp-ssl-policy", name, versions, [*_TLS13, *features], source if policy else DOC)
    groups = (_PQ_GROUP, *_CLASSICAL_GROUPS) if pq else _CLASSICAL_GROUPS
    return name, expanded.model_copy(update={"groups": groups})
