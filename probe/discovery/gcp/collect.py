"""What one GCP project holds: load-balancer TLS endpoints with their SSL policies and certificates (Compute
Engine), and Cloud KMS keys. A unit is one service of one project; its failures are DiscoveryErrors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from google.api_core import exceptions as gexc
from google.auth.exceptions import GoogleAuthError
from google.cloud import compute_v1, kms_v1

from probe.discovery.base import DiscoveryItem
from probe.discovery.declared import policy_key
from probe.discovery.gcp.policies import ssl_policy
from probe.discovery.gcp.session import GcpSession, Throttled, describe_error, link_path, message_dict
from probe.discovery.models import CloudKmsKey, GcpSslCertificate
from probe.models import DiscoveryError, Target, TargetSource

__all__ = ["COLLECTORS", "GLOBAL", "Unit"]

GLOBAL = "global"
GCP_ERRORS = (gexc.GoogleAPICallError, GoogleAuthError, Throttled)
_PROXY_KINDS = {"targetHttpsProxies": "gcp-target-https-proxy", "targetSslProxies": "gcp-target-ssl-proxy"}


@dataclass
class Unit:
    project: str
    service: str
    session: GcpSession
    today: date
    items: list[DiscoveryItem] = field(default_factory=list)

    def fail(self, exc: BaseException, context: str = "", region: str | None = GLOBAL) -> None:
        text = describe_error(exc) + (f" ({context})" if context else "")
        self.items.append(DiscoveryError(provider="gcp", account=self.project, region=region, service=self.service,
                                         error=text[:400]))


def _region(scope: str) -> str:
    """'regions/europe-west1' -> 'europe-west1'; 'global' stays."""
    return scope.rsplit("/", 1)[-1] if scope.startswith("regions/") else GLOBAL


def _aggregated(unit: Unit, factory: Any, key: str) -> dict[str, dict[str, Any]]:
    """Every resource of an aggregated list (all pages), by its path, with `_region` added."""
    client = unit.session.client(factory)

    def read() -> list[tuple[str, Any]]:
        return list(client.aggregated_list(request={"project": unit.project}))

    found: dict[str, dict[str, Any]] = {}
    for scope, scoped in unit.session.call(read):
        for message in getattr(scoped, _snake(key)):
            item = message_dict(message)
            item["_region"] = _region(scope)
            found[link_path(item.get("selfLink")) or f"{scope}/{item.get('name')}"] = item
    return found


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _domains(item: dict[str, Any]) -> tuple[str, ...]:
    """The names a certificate resource serves: a managed one's domains, else its subject alternative names."""
    return tuple((item.get("managed") or {}).get("domains") or item.get("subjectAlternativeNames") or ())


def _certificate(project: str, path: str, item: dict[str, Any], users: list[str]) -> GcpSslCertificate:
    key_type = key_bits = None
    pem = item.get("certificate")
    if pem:
        try:
            key = x509.load_pem_x509_certificate(str(pem).encode()).public_key()
            if isinstance(key, rsa.RSAPublicKey):
                key_type, key_bits = "RSA", key.key_size
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key_type, key_bits = "EC", key.curve.key_size
        except ValueError:
            pass
    expire = item.get("expireTime")
    return GcpSslCertificate(
        project=project, region=item.get("_region", GLOBAL), id=path, name=str(item.get("name")),
        type=item.get("type") or ("MANAGED" if item.get("managed") else "SELF_MANAGED"), domains=_domains(item),
        key_type=key_type, key_bits=key_bits,
        not_after=datetime.fromisoformat(str(expire).replace("Z", "+00:00")) if expire else None,
        in_use_by=tuple(sorted(users)),
    )


def _ports(rule: dict[str, Any]) -> list[int]:
    if rule.get("ports"):
        return [int(p) for p in rule["ports"]]
    text = str(rule.get("portRange") or "443")
    return [int(text.split("-", 1)[0])]


def collect_compute(unit: Unit) -> None:
    """Forwarding rules in front of target HTTPS/SSL proxies (global and regional), their SSL policies and
    certificates. Certificate Manager maps are named on the target but not read."""
    rules = _aggregated(unit, compute_v1.ForwardingRulesClient, "forwardingRules")
    proxies = {path: (p, "targetHttpsProxies") for path, p in
               _aggregated(unit, compute_v1.TargetHttpsProxiesClient, "targetHttpsProxies").items()}
    ssl_client = unit.session.client(compute_v1.TargetSslProxiesClient)
    for message in unit.session.call(lambda: list(ssl_client.list(request={"project": unit.project}))):
        item = message_dict(message)
        item["_region"] = GLOBAL
        proxies[link_path(item.get("selfLink"))] = (item, "targetSslProxies")
    policies = _aggregated(unit, compute_v1.SslPoliciesClient, "sslPolicies")
    certificates = _aggregated(unit, compute_v1.SslCertificatesClient, "sslCertificates")
    users: dict[str, list[str]] = {path: [] for path in certificates}
    for path, (proxy, _) in proxies.items():
        for cert in proxy.get("sslCertificates") or ():
            users.setdefault(link_path(cert), []).append(path)
    for rule in rules.values():
        target_path = link_path(rule.get("target"))
        if target_path not in proxies or not rule.get("IPAddress"):
            continue
        proxy, collection = proxies[target_path]
        policy_path = link_path(proxy.get("sslPolicy"))
        name, declared = ssl_policy(policies.get(policy_path) if policy_path else None, unit.today)
        certs = [link_path(c) for c in proxy.get("sslCertificates") or ()]
        domains = [d for c in certs if c in certificates for d in _domains(certificates[c])]
        scheme = "internal" if str(rule.get("loadBalancingScheme", "")).startswith("INTERNAL") else "internet-facing"
        unit.items.append((policy_key("gcp-ssl-policy", name, target_path), declared))
        for port in _ports(rule):
            source = TargetSource(
                provider="gcp", kind=_PROXY_KINDS[collection], account=unit.project, region=rule["_region"],
                arn=target_path, declared_policy=name, certificate_arns=tuple(certs), scheme=scheme,
            )  # fmt: skip
            unit.items.append(Target(host=str(rule["IPAddress"]), port=port, sni=domains[0] if domains else None,
                                     source=source))
    for path, item in certificates.items():
        unit.items.append(_certificate(unit.project, path, item, users.get(path, [])))


def _seconds(text: Any) -> float | None:
    """'7776000s' (a Duration in JSON) -> seconds."""
    if not text:
        return None
    try:
        return float(str(text).rstrip("s"))
    except ValueError:
        return None


def _when(text: Any) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _listed(method: Any, parent: str) -> list[dict[str, Any]]:
    return [message_dict(item) for item in method(parent=parent)]


def collect_kms(unit: Unit) -> None:
    """Every key ring of every location, and its crypto keys (rotation, algorithm, protection level)."""
    client = unit.session.client(kms_v1.KeyManagementServiceClient, rest=True)
    response = unit.session.call(lambda: client.list_locations(request={"name": f"projects/{unit.project}"}))
    for location in response.locations:
        parent = f"projects/{unit.project}/locations/{location.location_id}"
        try:
            rings = unit.session.call(partial(_listed, client.list_key_rings, parent))
            for ring in rings:
                keys = unit.session.call(partial(_listed, client.list_crypto_keys, str(ring["name"])))
                for key in keys:
                    version = key.get("primary") or key.get("versionTemplate") or {}
                    template = key.get("versionTemplate") or {}
                    period = _seconds(key.get("rotationPeriod"))
                    unit.items.append(CloudKmsKey(
                        project=unit.project, location=location.location_id, id=str(key["name"]),
                        purpose=key.get("purpose"), algorithm=version.get("algorithm") or template.get("algorithm"),
                        protection_level=version.get("protectionLevel") or template.get("protectionLevel"),
                        rotation_period_days=round(period / 86400, 2) if period else None,
                        next_rotation_time=_when(key.get("nextRotationTime")),
                        primary_state=(key.get("primary") or {}).get("state"),
                        labels={str(k): str(v) for k, v in (key.get("labels") or {}).items()},
                    ))
        except GCP_ERRORS as exc:
            unit.fail(exc, f"key rings of {location.location_id}", region=location.location_id)


COLLECTORS = {"compute": collect_compute, "kms": collect_kms}
