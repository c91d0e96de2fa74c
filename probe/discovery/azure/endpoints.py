"""TLS endpoints of one subscription: Application Gateway, Front Door (Standard/Premium and classic), API
Management. Every listing follows `nextLink`; a failing sub-call (one public IP) is recorded and skipped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from azure.core.exceptions import AzureError

from probe.discovery.azure.policies import (
    AFD_DEFAULT_SET,
    APPGW_DEFAULT_POLICY,
    afd_domain_policy,
    apim_policy,
    appgw_policy,
    appgw_predefined,
    frontdoor_classic_policy,
)
from probe.discovery.azure.session import rest
from probe.discovery.azure.unit import GLOBAL, Unit, last_name, resource_group
from probe.discovery.models import DeclaredPolicy

__all__ = [
    "COLLECTORS",
    "PredefinedPolicies",
    "collect_api_management",
    "collect_application_gateways",
    "collect_front_door",
    "collect_front_door_classic",
]

_AFD_SKUS = ("Standard_AzureFrontDoor", "Premium_AzureFrontDoor")


class PredefinedPolicies:
    """Application Gateway predefined policies, asked of the API once per run and name (the bundled table is the
    fallback); shared by every subscription's unit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, DeclaredPolicy | None] = {}

    def get(self, unit: Unit, client: Any, name: str) -> DeclaredPolicy | None:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        try:
            listed: dict[str, Any] | None = rest(client.application_gateways.get_ssl_predefined_policy(name))
        except AzureError as exc:
            unit.fail(exc, f"getSslPredefinedPolicy {name}; falling back to the bundled table")
            listed = None
        policy = appgw_predefined(name, listed)
        with self._lock:
            self._cache[name] = policy
        return policy


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = resource.get("properties") or {}
    return props


def _by_id(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(item.get("id", "")).lower(): item for item in items or ()}


def _ref(value: Any) -> str:
    return str((value or {}).get("id") or "").lower()


def _frontend_address(unit: Unit, network: Any, frontend: dict[str, Any]) -> tuple[str | None, str]:
    """(host, scheme) of a frontend IP configuration: the public IP's FQDN or address, else the private address."""
    props = _props(frontend)
    public_id = _ref(props.get("publicIPAddress"))
    if public_id:
        try:
            ip = rest(network.public_ip_addresses.get(resource_group(public_id), last_name(public_id)))
        except AzureError as exc:
            unit.fail(exc, f"publicIPAddresses.get {last_name(public_id)}")
            return None, "internet-facing"
        ip_props = _props(ip)
        fqdn = (ip_props.get("dnsSettings") or {}).get("fqdn")
        return fqdn or ip_props.get("ipAddress"), "internet-facing"
    return props.get("privateIPAddress"), "internal"


def _listeners(gateway: dict[str, Any]) -> Iterator[dict[str, Any]]:
    props = _props(gateway)
    yield from props.get("httpListeners") or ()
    yield from props.get("listeners") or ()  # v2 TLS (layer 4) listeners


def collect_application_gateways(unit: Unit, predefined: PredefinedPolicies) -> None:
    network = unit.client("network")
    for gateway in map(rest, network.application_gateways.list_all()):
        props = _props(gateway)
        gateway_id = str(gateway.get("id"))
        default = str(props.get("defaultPredefinedSslPolicy") or APPGW_DEFAULT_POLICY)
        frontends, ports, profiles = (_by_id(props.get(k)) for k in (
            "frontendIPConfigurations", "frontendPorts", "sslProfiles"))
        names = {str(p.get("policyName")) for p in [props.get("sslPolicy") or {},
                                                     *(_props(s).get("sslPolicy") or {} for s in profiles.values())]
                 if p.get("policyName")} | {default}
        expansions = {name: policy for name in sorted(names)
                      if (policy := predefined.get(unit, network, name)) is not None}
        addresses: dict[str, tuple[str | None, str]] = {}
        for listener in _listeners(gateway):
            lprops = _props(listener)
            if str(lprops.get("protocol", "")).lower() not in ("https", "tls"):
                continue
            profile = profiles.get(_ref(lprops.get("sslProfile")))
            ssl_policy = _props(profile).get("sslPolicy") if profile else props.get("sslPolicy")
            scope = str(profile.get("id")) if profile else gateway_id
            declared = appgw_policy(ssl_policy, default, expansions)
            port = int(_props(ports.get(_ref(lprops.get("frontendPort")), {})).get("port") or 443)
            frontend_id = _ref(lprops.get("frontendIPConfiguration"))
            if frontend_id not in addresses:
                addresses[frontend_id] = _frontend_address(unit, network, frontends.get(frontend_id, {}))
            address, scheme = addresses[frontend_id]
            hosts = [h for h in [lprops.get("hostName"), *(lprops.get("hostNames") or ())] if h]
            cert = _ref(lprops.get("sslCertificate"))
            for host in dict.fromkeys(hosts) or ([address] if address else []):
                unit.target(str(host), port, "azure-appgw-listener", resource_id=scope, region=gateway.get("location"),
                            declared=declared, certificates=(cert,) if cert else (), scheme=scheme,
                            sni=str(host) if hosts else None)


def collect_front_door(unit: Unit) -> None:
    cdn = unit.client("cdn")
    for profile in map(rest, cdn.profiles.list()):
        if (profile.get("sku") or {}).get("name") not in _AFD_SKUS:
            continue
        group, name = resource_group(str(profile["id"])), str(profile["name"])
        for endpoint in map(rest, cdn.afd_endpoints.list_by_profile(group, name)):
            host = _props(endpoint).get("hostName")
            if host and _props(endpoint).get("enabledState", "Enabled") == "Enabled":
                unit.target(str(host), 443, "azure-afd-endpoint", resource_id=str(endpoint["id"]), region=GLOBAL,
                            declared=afd_domain_policy({"cipherSuiteSetType": AFD_DEFAULT_SET}), sni=str(host),
                            scheme="internet-facing")
        for domain in map(rest, cdn.afd_custom_domains.list_by_profile(group, name)):
            props = _props(domain)
            host = props.get("hostName")
            if not host:
                continue
            settings = props.get("tlsSettings") or {}
            secret = _ref(settings.get("secret"))
            unit.target(str(host), 443, "azure-afd-domain", resource_id=str(domain["id"]), region=GLOBAL,
                        declared=afd_domain_policy(settings), certificates=(secret,) if secret else (),
                        sni=str(host), scheme="internet-facing")


def collect_front_door_classic(unit: Unit) -> None:
    client = unit.client("frontdoor")
    for front_door in map(rest, client.front_doors.list()):
        for frontend in _props(front_door).get("frontendEndpoints") or ():
            props = _props(frontend)
            host = props.get("hostName")
            if not host:
                continue
            https = props.get("customHttpsConfiguration") or {}
            unit.target(str(host), 443, "azure-frontdoor-frontend", resource_id=str(frontend.get("id")),
                        region=GLOBAL, declared=frontdoor_classic_policy(https.get("minimumTlsVersion")),
                        sni=str(host), scheme="internet-facing")


def collect_api_management(unit: Unit) -> None:
    client = unit.client("apimanagement")
    for service in map(rest, client.api_management_service.list()):
        props = _props(service)
        declared = apim_policy(props.get("customProperties"), str(service.get("name")))
        hosts = [urlparse(str(props["gatewayUrl"])).hostname] if props.get("gatewayUrl") else []
        hosts += [c.get("hostName") for c in props.get("hostnameConfigurations") or () if c.get("type") == "Proxy"]
        internal = str(props.get("virtualNetworkType") or "None") == "Internal"
        for host in dict.fromkeys(h for h in hosts if h):
            unit.target(str(host), 443, "azure-apim-gateway", resource_id=str(service["id"]),
                        region=service.get("location"), declared=declared, sni=str(host),
                        scheme="internal" if internal else "internet-facing")


COLLECTORS = {
    "frontdoor": collect_front_door,
    "frontdoor-classic": collect_front_door_classic,
    "apimanagement": collect_api_management,
}
