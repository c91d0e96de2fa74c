"""Azure's declared TLS settings expanded into protocols, suites and groups (the scanner's vocabulary).

Declarations are read from each resource's properties: an Application Gateway's ssl policy or a listener's ssl
profile (predefined names through the API's predefined-policy call, this table as the fallback), a Front Door
custom domain's `tlsSettings`, Front Door (classic) `minimumTlsVersion`, API Management's `customProperties`.
The tables below name the documentation page each comes from. No SDK here: pure data and functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from probe.discovery.declared import expand_policy
from probe.discovery.models import DeclaredPolicy
from probe.models import TLS_VERSIONS

__all__ = [
    "AFD_DEFAULT_SET",
    "APPGW_DEFAULT_POLICY",
    "afd_domain_policy",
    "apim_policy",
    "appgw_policy",
    "appgw_predefined",
    "frontdoor_classic_policy",
]

APPGW_DOC = "https://learn.microsoft.com/azure/application-gateway/application-gateway-ssl-policy-overview"
AFD_DOC = "https://learn.microsoft.com/azure/frontdoor/standard-premium/tls-policy"
AFD_CLASSIC_DOC = "https://learn.microsoft.com/azure/frontdoor/end-to-end-tls"
APIM_DOC = "https://learn.microsoft.com/azure/api-management/api-management-howto-manage-protocols-ciphers"

_TLS13 = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256")
_ECDHE_GCM = ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
              "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
_ECDHE_CBC2 = ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
               "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")
_ECDHE_SHA1 = ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
               "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
_RSA_KX = ("TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256",
           "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA")
_DHE = ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA")
_DSS = ("TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
        "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "TLS_DHE_DSS_WITH_AES_128_CBC_SHA")
_3DES = ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA")

# Application Gateway predefined policies: minimum protocol and suites (APPGW_DOC, "Predefined TLS policy").
# The 2022 policies also enable TLS 1.3 with its two suites.
APPGW_PREDEFINED: dict[str, tuple[str, tuple[str, ...]]] = {
    "AppGwSslPolicy20150501": ("TLSv1_0", (*_ECDHE_GCM[2:], *_ECDHE_CBC2[2:], *_ECDHE_SHA1[2:], *_DHE, *_RSA_KX,
                                           *_ECDHE_GCM[:2], *_ECDHE_CBC2[:2], *_ECDHE_SHA1[:2], *_DSS, *_3DES)),
    "AppGwSslPolicy20170401": ("TLSv1_1", (*_ECDHE_GCM, *_ECDHE_CBC2, *_ECDHE_SHA1, *_RSA_KX)),
    "AppGwSslPolicy20170401S": ("TLSv1_2", (*_ECDHE_GCM, *_ECDHE_CBC2, *_ECDHE_SHA1, *_RSA_KX)),
    "AppGwSslPolicy20220101": ("TLSv1_2", (*_TLS13, *_ECDHE_GCM, *_ECDHE_CBC2)),
    "AppGwSslPolicy20220101S": ("TLSv1_2", (*_TLS13, *_ECDHE_GCM)),
}
# Gateways without an ssl policy get the default of the API version that created them; the API reports it as
# `defaultPredefinedSslPolicy`. Without it, the oldest default is assumed (APPGW_DOC, "Default TLS policy").
APPGW_DEFAULT_POLICY = "AppGwSslPolicy20150501"

# Front Door Standard/Premium cipher suite sets (AFD_DOC, "Pre-defined TLS policy"), and the customised names.
_AFD_12 = ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
           "DHE-RSA-AES128-GCM-SHA256")
_AFD_12_CBC = ("ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384")
_AFD_10 = ("ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA", "AES256-GCM-SHA384", "AES128-GCM-SHA256",
           "AES256-SHA256", "AES128-SHA256", "AES256-SHA", "AES128-SHA")
AFD_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "TLS12_2023": ("TLSv1.2", (*_TLS13, *_AFD_12)),
    "TLS12_2022": ("TLSv1.2", (*_TLS13, *_AFD_12, *_AFD_12_CBC)),
    "TLS10_2019": ("TLSv1.0", (*_TLS13, *_AFD_12, *_AFD_12_CBC, *_AFD_10)),
}
AFD_DEFAULT_SET = "TLS12_2023"  # "By default, Azure Front Door selects TLSv1.2_2023" (AFD_DOC)
_AFD_MINIMUM_SET = {"TLS10": "TLS10_2019", "TLS12": "TLS12_2022"}  # before cipherSuiteSetType existed
_AFD_CUSTOM_NAMES = {  # AfdCustomizedCipherSuiteForTls12 values -> OpenSSL names
    "ECDHE_RSA_AES128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE_RSA_AES256_GCM_SHA384":
    "ECDHE-RSA-AES256-GCM-SHA384", "DHE_RSA_AES256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "DHE_RSA_AES128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256", "ECDHE_RSA_AES128_SHA256": "ECDHE-RSA-AES128-SHA256",
    "ECDHE_RSA_AES256_SHA384": "ECDHE-RSA-AES256-SHA384",
}
_GROUP_NAMES = {"prime256v1": "secp256r1"}  # the scanner reports OpenSSL's secp256r1

# API Management gateway suites (APIM_DOC): each can be switched off by its customProperties key.
APIM_SUITES = (*_TLS13, *_ECDHE_CBC2, *_ECDHE_SHA1, *_RSA_KX, *_ECDHE_GCM, "TLS_RSA_WITH_3DES_EDE_CBC_SHA")
_APIM_PREFIX = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
_APIM_PROTOCOLS = {"Protocols.Ssl30": "SSLv3", "Protocols.Tls10": "TLSv1.0", "Protocols.Tls11": "TLSv1.1"}
_APIM_3DES = "Ciphers.TripleDes168"


def _versions_from(minimum: str, *, tls13: bool) -> list[str]:
    """Versions from a minimum ('TLSv1_0', 'TLS10', 'TLSv1.2', '1.0') up to TLS 1.2, or 1.3 when enabled."""
    digits = "".join(ch for ch in minimum if ch.isdigit())[-2:]
    start = {"10": "TLSv1.0", "11": "TLSv1.1", "12": "TLSv1.2", "13": "TLSv1.3"}.get(digits, "TLSv1.2")
    top = "TLSv1.3" if tls13 or start == "TLSv1.3" else "TLSv1.2"
    return list(TLS_VERSIONS[TLS_VERSIONS.index(start): TLS_VERSIONS.index(top) + 1])


def appgw_predefined(name: str, listed: Mapping[str, Any] | None = None) -> DeclaredPolicy | None:
    """A predefined policy from the API's answer (`properties.minProtocolVersion`, `cipherSuites`), else the table."""
    props = (listed or {}).get("properties") or {}
    if props.get("cipherSuites"):
        minimum, suites, source = str(props.get("minProtocolVersion") or "TLSv1_2"), props["cipherSuites"], (
            "azure:applicationGateways.getSslPredefinedPolicy")
    elif name in APPGW_PREDEFINED:
        (minimum, suites), source = APPGW_PREDEFINED[name], APPGW_DOC
    else:
        return None
    tls13 = any(s in _TLS13 for s in suites)
    return expand_policy("azure-appgw", name, _versions_from(minimum, tls13=tls13), suites, source)


def appgw_policy(policy: Mapping[str, Any] | None, default_name: str,
                 predefined: Mapping[str, DeclaredPolicy]) -> tuple[str, DeclaredPolicy | None]:
    """A gateway's or ssl profile's `sslPolicy` as (declared name, expansion); None when a name is unknown.

    Predefined: the named policy. Custom / CustomV2: `minProtocolVersion` and `cipherSuites` (CustomV2 and a
    TLSv1_3 minimum enable TLS 1.3). Only `disabledSslProtocols`: the default policy minus those protocols."""
    policy = policy or {}
    kind = str(policy.get("policyType") or "")
    if kind == "Predefined" or (not kind and policy.get("policyName")):
        name = str(policy.get("policyName") or default_name)
        return name, predefined.get(name)
    if kind in ("Custom", "CustomV2"):
        minimum = str(policy.get("minProtocolVersion") or "TLSv1_2")
        suites = list(policy.get("cipherSuites") or ())
        tls13 = kind == "CustomV2"
        name = f"{kind}({minimum})"
        return name, expand_policy("azure-appgw", name, _versions_from(minimum, tls13=tls13),
                                   [*(_TLS13 if tls13 else ()), *suites], "azure:sslPolicy")
    base = predefined.get(default_name)
    disabled = {v for p in policy.get("disabledSslProtocols") or () if (v := _protocol(p))}
    if not disabled or base is None:
        return default_name, base
    name = f"{default_name} without {', '.join(sorted(disabled))}"
    protocols = [v for v in base.protocols if v not in disabled]
    return name, base.model_copy(update={"name": name, "protocols": tuple(protocols), "source": "azure:sslPolicy"})


def _protocol(name: str) -> str | None:
    digits = "".join(ch for ch in str(name) if ch.isdigit())[-2:]
    return {"10": "TLSv1.0", "11": "TLSv1.1", "12": "TLSv1.2", "13": "TLSv1.3"}.get(digits)


def _groups(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Declared groups: only a Custom group policy lists them (Standard and Enhanced are service-managed sets)."""
    if str(settings.get("serverTlsGroupPolicy") or "") != "Custom":
        return ()
    return tuple(_GROUP_NAMES.get(g, g) for g in settings.get("serverTlsGroups") or ())


def afd_domain_policy(settings: Mapping[str, Any] | None) -> tuple[str, DeclaredPolicy]:
    """A Front Door custom domain's `tlsSettings`, read as the API documents their interplay: a predefined
    `cipherSuiteSetType` fixes protocols and suites; `Customized` takes `minimumTlsVersion` and
    `customizedCipherSuiteSet`; without a set type (older resources) `minimumTlsVersion` picks TLS10_2019 or
    TLS12_2022. The group policy is read alongside."""
    settings = settings or {}
    set_type = str(settings.get("cipherSuiteSetType") or "")
    minimum = str(settings.get("minimumTlsVersion") or "")
    groups = _groups(settings)
    group_note = f", groups {settings.get('serverTlsGroupPolicy')}" if settings.get("serverTlsGroupPolicy") else ""
    if set_type == "Customized":
        custom = settings.get("customizedCipherSuiteSet") or {}
        tls12 = [_AFD_CUSTOM_NAMES.get(s, s) for s in custom.get("cipherSuiteSetForTls12") or ()]
        tls13 = list(custom.get("cipherSuiteSetForTls13") or ())
        versions = _versions_from(minimum or "TLS12", tls13=True)
        if not tls12:
            versions = [v for v in versions if v == "TLSv1.3"]
        name = f"Customized({minimum or 'TLS12'}){group_note}"
        policy = expand_policy("azure-afd", name, versions, [*tls13, *tls12], "azure:tlsSettings")
        return name, policy.model_copy(update={"groups": groups})
    if set_type not in AFD_SETS:
        set_type = "TLS13" if minimum == "TLS13" else _AFD_MINIMUM_SET.get(minimum, AFD_DEFAULT_SET)
    if set_type == "TLS13":
        policy = expand_policy("azure-afd", "TLS13", ["TLSv1.3"], _TLS13, "azure:tlsSettings")
        return f"TLS13{group_note}", policy.model_copy(update={"name": f"TLS13{group_note}", "groups": groups})
    start, suites = AFD_SETS[set_type]
    name = f"{set_type}{group_note}"
    policy = expand_policy("azure-afd", name, _versions_from(start, tls13=True), suites, AFD_DOC)
    return name, policy.model_copy(update={"groups": groups})


def frontdoor_classic_policy(minimum: str | None) -> tuple[str, DeclaredPolicy]:
    """A Front Door (classic) frontend's `minimumTlsVersion` ('1.0' or '1.2'; absent: 1.2)."""
    set_type = "TLS10_2019" if str(minimum or "1.2").startswith("1.0") else "TLS12_2022"
    start, suites = AFD_SETS[set_type]
    name = f"minimumTlsVersion {minimum or '1.2'}"
    return name, expand_policy("azure-frontdoor", name, _versions_from(start, tls13=True), suites, AFD_CLASSIC_DOC)


def _switch(properties: Mapping[str, Any], key: str) -> bool | None:
    value = properties.get(_APIM_PREFIX + key)
    return None if value is None else str(value).strip().lower() == "true"


def apim_policy(custom: Mapping[str, Any] | None, service: str) -> tuple[str, DeclaredPolicy]:
    """API Management's gateway (frontend) protocols and suites from `customProperties`: the whole key is matched
    (`...Security.Protocols.Tls10` is the gateway side, `...Security.Backend.Protocols.Tls10` the backend's);
    an absent switch is off, as for services created after April 2018."""
    props = custom or {}
    versions = ["TLSv1.2", "TLSv1.3"]
    for key, version in _APIM_PROTOCOLS.items():
        if _switch(props, key):
            versions.append(version)
    suites: list[str] = []
    for suite in APIM_SUITES:
        if suite == "TLS_RSA_WITH_3DES_EDE_CBC_SHA":
            if _switch(props, _APIM_3DES):
                suites.append(suite)
        elif _switch(props, f"Ciphers.{suite}") is not False:
            suites.append(suite)
    enabled = [v for v in TLS_VERSIONS if v in versions]
    name = f"apim {service} customProperties"
    return name, expand_policy("azure-apim", name, enabled, suites, "azure:customProperties")

