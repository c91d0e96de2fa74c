"""TLS endpoints of one account/region: ELBv2, classic ELB, API Gateway (v1, v2), CloudFront.

Every listing is paginated; a failing sub-call (one load balancer's listeners) is recorded and skipped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from probe.discovery.aws.session import pages
from probe.discovery.aws.unit import Unit
from probe.discovery.declared import expand_policy, policy_key

__all__ = ["COLLECTORS"]

_AWS_ERRORS = (ClientError, BotoCoreError)
# Documented policies of endpoints that cannot choose one (apigateway-custom-domain-tls-version.html):
# default execute-api endpoints of edge and regional REST APIs use TLS_1_0, private ones TLS_1_2;
# HTTP and WebSocket APIs support only TLS_1_2. CloudFront's *.cloudfront.net names use TLSv1
# whatever MinimumProtocolVersion says (ViewerCertificate API reference).
_REST_DEFAULT_POLICY = {"EDGE": "TLS_1_0", "REGIONAL": "TLS_1_0", "PRIVATE": "TLS_1_2"}
_V2_POLICY = "TLS_1_2"
_CLOUDFRONT_DEFAULT_POLICY = "TLSv1"


def collect_elbv2(unit: Unit) -> None:
    client = unit.client()
    used: set[str] = set()
    for lb in pages(client, "describe_load_balancers", "LoadBalancers"):
        try:
            listeners = list(pages(client, "describe_listeners", "Listeners", LoadBalancerArn=lb["LoadBalancerArn"]))
        except _AWS_ERRORS as exc:
            unit.fail(exc, f"DescribeListeners {lb.get('LoadBalancerName')}")
            continue
        for listener in listeners:
            if listener.get("Protocol") not in ("HTTPS", "TLS"):
                continue
            certs = [c["CertificateArn"] for c in listener.get("Certificates", []) if c.get("CertificateArn")]
            try:
                listed = list(pages(client, "describe_listener_certificates", "Certificates",
                                    ListenerArn=listener["ListenerArn"]))
                listed.sort(key=lambda c: not c.get("IsDefault"))  # default first, then SNI certificates
                certs = [c["CertificateArn"] for c in listed]
            except _AWS_ERRORS as exc:
                unit.fail(exc, f"DescribeListenerCertificates {lb.get('LoadBalancerName')}:{listener.get('Port')}")
            policy = listener.get("SslPolicy")
            if policy:
                used.add(policy)
            unit.target(lb["DNSName"], int(listener["Port"]), "elbv2-listener", arn=listener["ListenerArn"],
                        declared=policy, certificates=tuple(dict.fromkeys(certs)), scheme=lb.get("Scheme"))
    if not used:
        return
    try:
        for policy in pages(client, "describe_ssl_policies", "SslPolicies", Names=sorted(used)):
            ciphers = [c["Name"] for c in sorted(policy.get("Ciphers", []), key=lambda c: c.get("Priority", 0))]
            expanded = expand_policy("elbv2", policy["Name"], policy.get("SslProtocols", []), ciphers,
                                     "elbv2:DescribeSslPolicies")
            unit.items.append((policy_key("elbv2", policy["Name"]), expanded))
    except _AWS_ERRORS as exc:
        unit.fail(exc, "DescribeSslPolicies; falling back to the bundled table")


def _classic_policy(unit: Unit, client: Any, lb: dict[str, Any], names: list[str], arn: str) -> str | None:
    """Declared name of a classic listener's SSL negotiation policy; registers custom expansions.

    moto gap: DescribeLoadBalancerPolicies without a load balancer name fails in moto, so it is
    always called per load balancer (which is also what real AWS needs for custom policies).
    """
    if not names:
        return None
    described = client.describe_load_balancer_policies(LoadBalancerName=lb["LoadBalancerName"], PolicyNames=names)
    for policy in described.get("PolicyDescriptions", []):
        if policy.get("PolicyTypeName") != "SSLNegotiationPolicyType":
            continue
        attrs = {a["AttributeName"]: a.get("AttributeValue") for a in policy.get("PolicyAttributeDescriptions", [])}
        reference = attrs.pop("Reference-Security-Policy", None)
        attrs.pop("Server-Defined-Cipher-Order", None)
        enabled = [name for name, value in attrs.items() if str(value).lower() == "true"]
        protocols = [n for n in enabled if n.startswith("Protocol-")]
        if protocols:  # real AWS expands every attribute: the attributes are the truth
            name = reference or policy["PolicyName"]
            ciphers = [n for n in enabled if not n.startswith("Protocol-")]
            expanded = expand_policy("elb", name, protocols, ciphers, "elb:DescribeLoadBalancerPolicies")
            unit.items.append((policy_key("elb", name, arn), expanded))
            return str(name)
        return reference or str(policy["PolicyName"])
    return None


def collect_elb(unit: Unit) -> None:
    client = unit.client()
    for lb in pages(client, "describe_load_balancers", "LoadBalancerDescriptions"):
        name = lb["LoadBalancerName"]
        arn = f"arn:aws:elasticloadbalancing:{unit.region}:{unit.account.account_id}:loadbalancer/{name}"
        for described in lb.get("ListenerDescriptions", []):
            listener = described.get("Listener", {})
            if str(listener.get("Protocol", "")).upper() not in ("HTTPS", "SSL"):
                continue
            try:
                declared = _classic_policy(unit, client, lb, list(described.get("PolicyNames", [])), arn)
            except _AWS_ERRORS as exc:
                unit.fail(exc, f"DescribeLoadBalancerPolicies {lb['LoadBalancerName']}")
                declared = None
            cert = listener.get("SSLCertificateId")
            # moto gap: classic DNS names always say us-east-1, whatever the region.
            unit.target(lb["DNSName"], int(listener["LoadBalancerPort"]), "elb-listener", arn=arn, declared=declared,
                        certificates=(cert,) if cert else (), scheme=lb.get("Scheme"))


def collect_apigateway(unit: Unit) -> None:
    client = unit.client()
    region = unit.region
    for domain in pages(client, "get_domain_names", "items"):
        name = domain["domainName"]
        certs = tuple(c for c in (domain.get("regionalCertificateArn"), domain.get("certificateArn")) if c)
        arn = f"arn:aws:apigateway:{region}::/domainnames/{name}"
        unit.target(name, 443, "apigateway-domain", arn=arn, declared=domain.get("securityPolicy") or "TLS_1_0",
                    certificates=certs, sni=name)
    for api in pages(client, "get_rest_apis", "items"):
        if api.get("disableExecuteApiEndpoint"):
            continue
        try:
            stages = client.get_stages(restApiId=api["id"]).get("item", [])
        except _AWS_ERRORS as exc:
            unit.fail(exc, f"GetStages {api['id']}")
            continue
        if not stages:
            continue  # nothing deployed: no endpoint serves it
        types = (api.get("endpointConfiguration") or {}).get("types") or ["EDGE"]
        declared = api.get("securityPolicy") or _REST_DEFAULT_POLICY.get(types[0], "TLS_1_0")
        host = f"{api['id']}.execute-api.{region}.amazonaws.com"
        unit.target(host, 443, "apigateway-api", arn=f"arn:aws:apigateway:{region}::/restapis/{api['id']}",
                    declared=declared)


def collect_apigatewayv2(unit: Unit) -> None:
    client = unit.client()
    region = unit.region
    for domain in pages(client, "get_domain_names", "Items"):
        name = domain["DomainName"]
        configs = domain.get("DomainNameConfigurations") or [{}]
        certs = tuple(c["CertificateArn"] for c in configs if c.get("CertificateArn"))
        unit.target(name, 443, "apigatewayv2-domain", arn=f"arn:aws:apigateway:{region}::/domainnames/{name}",
                    declared=configs[0].get("SecurityPolicy") or _V2_POLICY, certificates=certs, sni=name)
    for api in pages(client, "get_apis", "Items"):
        if api.get("DisableExecuteApiEndpoint") or not api.get("ApiEndpoint"):
            continue
        host = urlparse(api["ApiEndpoint"]).hostname or ""
        kind = "apigatewayv2-websocket-api" if api.get("ProtocolType") == "WEBSOCKET" else "apigatewayv2-http-api"
        unit.target(host, 443, kind,
                    arn=f"arn:aws:apigateway:{region}::/apis/{api['ApiId']}", declared=_V2_POLICY)


def collect_cloudfront(unit: Unit) -> None:
    client = unit.client()
    for dist in pages(client, "list_distributions", "DistributionList.Items"):
        viewer = dist.get("ViewerCertificate") or {}
        cert = viewer.get("ACMCertificateArn") or viewer.get("IAMCertificateId")
        certs = (cert,) if cert else ()
        # moto gap: CloudFront ignores the ACM viewer certificate (CloudFrontDefaultCertificate stays true);
        # aliases are reported with the declared MinimumProtocolVersion all the same.
        minimum = viewer.get("MinimumProtocolVersion") or _CLOUDFRONT_DEFAULT_POLICY
        for alias in (dist.get("Aliases") or {}).get("Items", []) or []:
            unit.target(alias, 443, "cloudfront-alias", arn=dist["ARN"], declared=minimum, certificates=certs,
                        sni=alias)
        unit.target(dist["DomainName"], 443, "cloudfront-distribution", arn=dist["ARN"],
                    declared=_CLOUDFRONT_DEFAULT_POLICY)


COLLECTORS = {
    "elbv2": collect_elbv2,
    "elb": collect_elb,
    "apigateway": collect_apigateway,
    "apigatewayv2": collect_apigatewayv2,
    "cloudfront": collect_cloudfront,
}
