"""Emulated AWS for tests and the demo: moto in server mode on loopback, a seeded fleet, a fault proxy.

    with start_cloud() as cloud:
        manifest = seed_fleet(cloud.endpoint_url, {"alb-good": ("127.0.10.2", 8443), ...})
        discover(AwsOptions(endpoint_url=cloud.endpoint_url, regions=manifest.regions))
        # manifest.resolve maps every seeded DNS name to a lab TLS server (moto's names never resolve)

The lab servers given here serve the lab's certificates, which do not name the seeded hosts; for servers
whose certificates do, seed without them and start them with probe.lab.cloud_servers.serve_fleet.

moto gaps worked around here and in probe/discovery (search for "moto gap"):
- classic ELB: DescribeLoadBalancerPolicies needs a load balancer name; DNS names always say us-east-1;
- CloudFront ignores the ACM viewer certificate (reports the default *.cloudfront.net certificate);
- ACM reports requested (Amazon-issued) EC certificates as RSA_2048;
- nothing in moto can deny one region: FaultProxy below does, and adds latency.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import boto3
import trustme
from pydantic import Field

from probe.lab.cloud_posture import PostureManifest, seed_posture
from probe.lab.definition import ExpectedFinding
from probe.lab.manager import EndpointState
from probe.models import Frozen
from probe.policy.rule_ids import CERT_HOSTNAME_MISMATCH

__all__ = [
    "FLEET_REGIONS",
    "SUGGESTED_LAB_ENDPOINTS",
    "CloudServer",
    "FaultProxy",
    "FleetEndpoint",
    "FleetManifest",
    "seed_fleet",
    "seed_minimal_region",
    "start_cloud",
]

FLEET_REGIONS: tuple[str, ...] = ("eu-west-1", "us-east-1", "ap-southeast-2")
ACCOUNT = "123456789012"  # moto's default account
_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto accepts anything

# Which lab endpoint (definitions/lab.yaml name) each seeded endpoint role is best served by, so that the
# observed strength matches the declared one (a bad policy on a weak server, a good one on a strong server).
# probe.lab.cloud_servers serves each role with a copy of its lab endpoint whose certificate names the seeded
# host, except edge-domain: its certificate deliberately names another host (hostname-mismatch, otherwise as
# compliant; its seeded ACM certificate, for ap.example.test, does not name edge.example.test either), the
# fleet's one expected cert.hostname_mismatch.
SUGGESTED_LAB_ENDPOINTS: dict[str, str] = {
    "alb-good": "compliant", "alb-bad": "legacy", "alb-apse2": "compliant", "nlb-tls": "tls13-ecdsa",
    "classic-web": "legacy", "rest-domain": "compliant", "edge-domain": "hostname-mismatch",
    "http-domain": "tls13-ecdsa", "cdn-modern": "compliant", "cdn-legacy": "legacy",
}


class FleetEndpoint(Frozen):
    """One seeded TLS endpoint, as discovery should find it."""

    role: str
    kind: str
    region: str
    host: str
    port: int = 443
    declared_policy: str | None
    scheme: str | None = None
    reachable: bool = Field(default=True, description="False for internal endpoints (no lab server behind)")


class FleetManifest(Frozen):
    endpoint_url: str
    account: str = ACCOUNT
    regions: tuple[str, ...]
    endpoints: tuple[FleetEndpoint, ...]
    certificates: dict[str, str] = Field(description="role -> ACM certificate ARN")
    keys: dict[str, str] = Field(description="role -> KMS key ARN")
    resolve: dict[str, tuple[str, int]] = Field(description="seeded DNS name -> (ip, port) of a lab TLS server")
    served: dict[str, EndpointState] = Field(
        default_factory=dict,
        description="role -> the lab TLS server started for it by probe.lab.cloud_servers (a copy of its lab "
        "endpoint, certificates for the seeded host): where it listens, its ground truth and expected findings",
    )
    posture: PostureManifest | None = Field(default=None, description="the seeded encryption posture (S3, EBS, "
                                            "RDS ...) and its ground truth (probe.lab.cloud_posture)")

    def connect_to(self) -> list[str]:
        """The resolve map as curl-style --connect-to values: HOST:PORT:ADDR:PORT2."""
        ports = {e.host: e.port for e in self.endpoints}
        return [f"{host}:{ports[host]}:{ip}:{port}" for host, (ip, port) in sorted(self.resolve.items())]

    def expected_findings(self, role: str) -> list[ExpectedFinding]:
        """What a scan of a served role's server must find (its lab endpoint's expect: findings)."""
        return list(self.served[role].expect.findings)

    def deliberate_hostname_mismatches(self) -> set[str]:
        """The served roles whose certificate deliberately does not name the seeded host (ground truth)."""
        return {role for role, server in self.served.items()
                if any(f.rule == CERT_HOSTNAME_MISMATCH for f in server.expect.findings)}


class CloudServer:
    """A running moto server; stop() (or leaving the `with` block) shuts it down."""

    def __init__(self, server: Any, endpoint_url: str) -> None:
        self._server = server
        self.endpoint_url = endpoint_url

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def start_cloud(ip_address: str = "127.0.0.1", port: int = 0, *, reset: bool = True) -> Iterator[CloudServer]:
    """Run moto's ThreadedMotoServer on loopback (port 0 = a free port). moto's backends live in this
    process, so `reset` clears what an earlier server of the same process seeded."""
    from moto.server import ThreadedMotoServer

    # moto would otherwise invent its default AMIs, and over a thousand EBS snapshots the account "owns"
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    cloud = CloudServer(server, f"http://{host}:{bound}")
    try:
        if reset:
            request = urllib.request.Request(f"{cloud.endpoint_url}/moto-api/reset", method="POST", data=b"")
            urllib.request.urlopen(request, timeout=10).close()
        yield cloud
    finally:
        cloud.stop()


def _client(endpoint_url: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **_CREDS)


def _subnets(ec2: Any, region: str) -> list[str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
    return [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for i, zone in enumerate(zones, start=1)]


def _import_certificate(acm: Any, name: str, *, days: int, rsa: bool) -> str:
    ca = trustme.CA()
    key_type = trustme.KeyType.RSA if rsa else trustme.KeyType.ECDSA  # trustme's RSA keys are RSA-2048
    now = datetime.now(UTC)
    leaf = ca.issue_cert(name, not_before=now - timedelta(days=1), not_after=now + timedelta(days=days),
                         key_type=key_type)
    return str(acm.import_certificate(Certificate=leaf.cert_chain_pems[0].bytes(),
                                      PrivateKey=leaf.private_key_pem.bytes(),
                                      CertificateChain=ca.cert_pem.bytes())["CertificateArn"])


def _load_balancer(elb: Any, name: str, subnets: list[str], *, kind: str = "application",
                   scheme: str = "internet-facing") -> dict[str, Any]:
    return dict(elb.create_load_balancer(Name=name, Subnets=subnets, Scheme=scheme, Type=kind)["LoadBalancers"][0])


def _listener(elb: Any, lb: dict[str, Any], *, protocol: str, policy: str, certs: list[str]) -> None:
    vpc = lb["VpcId"]
    tg_protocol = "HTTP" if protocol == "HTTPS" else "TCP"
    tg = elb.create_target_group(Name=f"tg-{lb['LoadBalancerName']}"[:32], Protocol=tg_protocol, Port=80,
                                 VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol=protocol, Port=443,
                                   SslPolicy=policy, Certificates=[{"CertificateArn": certs[0]}],
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    if certs[1:]:
        elb.add_listener_certificates(ListenerArn=listener["ListenerArn"],
                                      Certificates=[{"CertificateArn": c} for c in certs[1:]])


def _rest_api(apigw: Any, name: str, endpoint_type: str) -> str:
    api = apigw.create_rest_api(name=name, endpointConfiguration={"types": [endpoint_type]})
    root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    return str(api["id"])


def _distribution(cloudfront: Any, alias: str, minimum: str, cert: str) -> dict[str, Any]:
    config = {
        "CallerReference": alias, "Comment": alias, "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [alias]},
        "Origins": {"Quantity": 1, "Items": [{"Id": "origin", "DomainName": f"origin.{alias}", "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "origin", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "TrustedSigners": {"Enabled": False, "Quantity": 0},
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
        # moto gap: the ACM certificate is accepted but ignored (the default certificate is reported).
        "ViewerCertificate": {"ACMCertificateArn": cert, "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": minimum},
    }
    return dict(cloudfront.create_distribution(DistributionConfig=config)["Distribution"])


def _assign(roles: Sequence[str], lab: Mapping[str, tuple[str, int]] | Sequence[tuple[str, int]] | None
            ) -> dict[str, tuple[str, int]]:
    if not lab:
        return {}
    if isinstance(lab, Mapping):
        return {role: (str(lab[role][0]), int(lab[role][1])) for role in roles if role in lab}
    servers = list(lab)
    return {role: servers[i % len(servers)] for i, role in enumerate(roles)}


def seed_fleet(endpoint_url: str,
               lab_endpoints: Mapping[str, tuple[str, int]] | Sequence[tuple[str, int]] | None = None,
               ) -> FleetManifest:
    """Seed a fleet over three regions and return what discovery should find.

    `lab_endpoints` maps endpoint roles (see SUGGESTED_LAB_ENDPOINTS) to lab TLS servers (ip, port), or is a
    list of servers assigned to the reachable roles round-robin; the manifest's `resolve` then maps each
    seeded DNS name to its server (for --connect-to style static resolution). Internal endpoints get none.
    """
    eu, us, ap = FLEET_REGIONS
    found: list[FleetEndpoint] = []
    certs: dict[str, str] = {}
    keys: dict[str, str] = {}

    # eu-west-1: ALBs (good, bad, internal), a REST API with a regional custom domain, KMS keys.
    acm = _client(endpoint_url, "acm", eu)
    certs["alb-good"] = acm.request_certificate(DomainName="alb-good.example.test")["CertificateArn"]
    certs["alb-good-sni"] = _import_certificate(acm, "sni.example.test", days=365, rsa=False)
    certs["expiring"] = _import_certificate(acm, "legacy.example.test", days=10, rsa=True)
    certs["rest-domain"] = acm.request_certificate(DomainName="api.example.test")["CertificateArn"]
    ec2, elb = _client(endpoint_url, "ec2", eu), _client(endpoint_url, "elbv2", eu)
    subnets = _subnets(ec2, eu)
    for role, policy, scheme, cert_list in (
        ("alb-good", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "internet-facing",
         [certs["alb-good"], certs["alb-good-sni"]]),
        ("alb-bad", "ELBSecurityPolicy-2016-08", "internet-facing", [certs["expiring"]]),
        ("alb-internal", "ELBSecurityPolicy-TLS-1-1-2017-01", "internal", [certs["alb-good"]]),
    ):
        lb = _load_balancer(elb, role, subnets, scheme=scheme)
        _listener(elb, lb, protocol="HTTPS", policy=policy, certs=cert_list)
        found.append(FleetEndpoint(role=role, kind="elbv2-listener", region=eu, host=lb["DNSName"].lower(),
                                   declared_policy=policy, scheme=scheme, reachable=scheme != "internal"))
    apigw = _client(endpoint_url, "apigateway", eu)
    rest_id = _rest_api(apigw, "orders", "REGIONAL")
    apigw.create_domain_name(domainName="api.example.test", regionalCertificateArn=certs["rest-domain"],
                             endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_0")
    apigw.create_base_path_mapping(domainName="api.example.test", restApiId=rest_id, stage="prod")
    found.append(FleetEndpoint(role="rest-domain", kind="apigateway-domain", region=eu, host="api.example.test",
                               declared_policy="TLS_1_0"))
    found.append(FleetEndpoint(role="rest-default", kind="apigateway-api", region=eu,
                               host=f"{rest_id}.execute-api.{eu}.amazonaws.com", declared_policy="TLS_1_0",
                               reachable=False))
    kms = _client(endpoint_url, "kms", eu)
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotated["KeyId"])
    keys["rotated"] = rotated["Arn"]
    keys["not-rotated"] = kms.create_key(Description="not rotated")["KeyMetadata"]["Arn"]
    keys["rsa-2048-sign"] = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    keys["ecc-p256-sign"] = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    primary = kms.create_key(Description="multi-region", MultiRegion=True)["KeyMetadata"]
    kms.enable_key_rotation(KeyId=primary["KeyId"])
    kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion=us)
    keys["multi-region"] = primary["Arn"]

    # us-east-1: an NLB TLS listener, a classic ELB, HTTP and WebSocket APIs, CloudFront.
    acm_us = _client(endpoint_url, "acm", us)
    certs["nlb-tls"] = _import_certificate(acm_us, "nlb.example.test", days=200, rsa=False)
    certs["cdn"] = acm_us.request_certificate(DomainName="www.example.test")["CertificateArn"]
    certs["http-domain"] = acm_us.request_certificate(DomainName="http.example.test")["CertificateArn"]
    ec2_us, elb_us = _client(endpoint_url, "ec2", us), _client(endpoint_url, "elbv2", us)
    nlb = _load_balancer(elb_us, "nlb-tls", _subnets(ec2_us, us), kind="network")
    _listener(elb_us, nlb, protocol="TLS", policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
              certs=[certs["nlb-tls"]])
    found.append(FleetEndpoint(role="nlb-tls", kind="elbv2-listener", region=us, host=nlb["DNSName"].lower(),
                               declared_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", scheme="internet-facing"))
    classic = _client(endpoint_url, "elb", us)
    classic.create_load_balancer(
        LoadBalancerName="classic-web", AvailabilityZones=[f"{us}a"],
        Listeners=[{"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP", "InstancePort": 80,
                    "SSLCertificateId": certs["cdn"]}])
    classic.create_load_balancer_policy(
        LoadBalancerName="classic-web", PolicyName="classic-web-ssl", PolicyTypeName="SSLNegotiationPolicyType",
        PolicyAttributes=[{"AttributeName": "Reference-Security-Policy",
                           "AttributeValue": "ELBSecurityPolicy-2016-08"}])
    classic.set_load_balancer_policies_of_listener(LoadBalancerName="classic-web", LoadBalancerPort=443,
                                                   PolicyNames=["classic-web-ssl"])
    classic_dns = classic.describe_load_balancers(LoadBalancerNames=["classic-web"])["LoadBalancerDescriptions"][0]
    found.append(FleetEndpoint(role="classic-web", kind="elb-listener", region=us,
                               host=classic_dns["DNSName"].lower(), declared_policy="ELBSecurityPolicy-2016-08",
                               scheme=classic_dns.get("Scheme")))
    v2 = _client(endpoint_url, "apigatewayv2", us)
    http_api = v2.create_api(Name="checkout", ProtocolType="HTTP")
    ws_api = v2.create_api(Name="events", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    v2.create_domain_name(DomainName="http.example.test", DomainNameConfigurations=[{
        "CertificateArn": certs["http-domain"], "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}])
    v2.create_api_mapping(DomainName="http.example.test", ApiId=http_api["ApiId"], Stage="$default")
    found.append(FleetEndpoint(role="http-domain", kind="apigatewayv2-domain", region=us, host="http.example.test",
                               declared_policy="TLS_1_2"))
    for role, api, kind in (("http-default", http_api, "apigatewayv2-http-api"),
                            ("ws-default", ws_api, "apigatewayv2-websocket-api")):
        found.append(FleetEndpoint(role=role, kind=kind, region=us, host=urlparse(api["ApiEndpoint"]).hostname or "",
                                   declared_policy="TLS_1_2", reachable=False))
    kms_us = _client(endpoint_url, "kms", us)
    keys["us-not-rotated"] = kms_us.create_key(Description="us not rotated")["KeyMetadata"]["Arn"]
    cloudfront = _client(endpoint_url, "cloudfront", us)
    for role, alias, minimum in (("cdn-modern", "www.example.test", "TLSv1.2_2021"),
                                 ("cdn-legacy", "legacy-cdn.example.test", "TLSv1")):
        dist = _distribution(cloudfront, alias, minimum, certs["cdn"])
        found.append(FleetEndpoint(role=role, kind="cloudfront-alias", region="global", host=alias,
                                   declared_policy=minimum))
        found.append(FleetEndpoint(role=f"{role}-default", kind="cloudfront-distribution", region="global",
                                   host=dist["DomainName"].lower(), declared_policy="TLSv1", reachable=False))

    # ap-southeast-2: one more ALB, an edge REST domain, an Amazon-issued EC certificate.
    acm_ap = _client(endpoint_url, "acm", ap)
    # moto gap: requested EC certificates come back as RSA_2048.
    certs["ap-requested-ec"] = acm_ap.request_certificate(DomainName="ap.example.test",
                                                         KeyAlgorithm="EC_prime256v1")["CertificateArn"]
    ec2_ap, elb_ap = _client(endpoint_url, "ec2", ap), _client(endpoint_url, "elbv2", ap)
    alb_ap = _load_balancer(elb_ap, "alb-apse2", _subnets(ec2_ap, ap))
    _listener(elb_ap, alb_ap, protocol="HTTPS", policy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
              certs=[certs["ap-requested-ec"]])
    found.append(FleetEndpoint(role="alb-apse2", kind="elbv2-listener", region=ap, host=alb_ap["DNSName"].lower(),
                               declared_policy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06", scheme="internet-facing"))
    apigw_ap = _client(endpoint_url, "apigateway", ap)
    apigw_ap.create_domain_name(domainName="edge.example.test", certificateArn=certs["ap-requested-ec"],
                                endpointConfiguration={"types": ["EDGE"]}, securityPolicy="TLS_1_2")
    found.append(FleetEndpoint(role="edge-domain", kind="apigateway-domain", region=ap, host="edge.example.test",
                               declared_policy="TLS_1_2"))

    reachable = [e.role for e in found if e.reachable]
    assigned = _assign(reachable, lab_endpoints)
    resolve = {e.host: assigned[e.role] for e in found if e.role in assigned}
    return FleetManifest(endpoint_url=endpoint_url, regions=FLEET_REGIONS, endpoints=tuple(found), certificates=certs,
                         keys=keys, resolve=resolve, posture=seed_posture(endpoint_url, FLEET_REGIONS))


def seed_minimal_region(endpoint_url: str, region: str, *, load_balancers: int = 2) -> int:
    """Seed a small, typical region (ALBs with listeners, a certificate, a key); returns listeners seeded.
    Used by the discovery benchmark to fill many regions."""
    acm = _client(endpoint_url, "acm", region)
    cert = acm.request_certificate(DomainName=f"{region}.example.test")["CertificateArn"]
    ec2, elb = _client(endpoint_url, "ec2", region), _client(endpoint_url, "elbv2", region)
    subnets = _subnets(ec2, region)
    for i in range(load_balancers):
        lb = _load_balancer(elb, f"lb{i}-{region}"[:32], subnets)
        _listener(elb, lb, protocol="HTTPS", policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certs=[cert])
    _client(endpoint_url, "kms", region).create_key(Description=f"key {region}")
    return load_balancers


# -- fault injection ------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_JSON_SERVICES = {"kms", "acm", "organizations", "apigateway", "sts-json"}


class FaultProxy:
    """An HTTP proxy in front of moto that answers AccessDenied (HTTP 403, AWS error body) for chosen
    (signing service, region) pairs, read from the SigV4 credential scope, and can add latency to every
    request. Signing names: elbv2 and classic ELB share "elasticloadbalancing"; API Gateway v1 and v2
    share "apigateway"."""

    def __init__(self, upstream_url: str, *, deny: Iterable[tuple[str, str]] = (), delay_s: float = 0.0,
                 ip_address: str = "127.0.0.1") -> None:
        self.upstream = urlparse(upstream_url)
        self.deny = frozenset(deny)
        self.delay_s = delay_s
        self.requests = 0
        self.denied = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((ip_address, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _count(self, denied: bool) -> None:
        with self._lock:
            self.requests += 1
            self.denied += int(denied)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                scope = _SCOPE.search(self.headers.get("Authorization", ""))
                region, service = (scope.group(1), scope.group(2)) if scope else ("", "")
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                denied = (service, region) in proxy.deny
                proxy._count(denied)
                if denied:
                    self._deny(service, region)
                else:
                    self._forward(body)

            def _deny(self, service: str, region: str) -> None:
                message = f"injected: access to {service} in {region} is denied"
                request_id = str(uuid.uuid4())
                if service in _JSON_SERVICES:
                    payload = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                    headers = {"Content-Type": "application/x-amz-json-1.1",
                               "x-amzn-ErrorType": "AccessDeniedException", "x-amzn-RequestId": request_id}
                elif service == "ec2":
                    payload = (f"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}"
                               f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
                    headers = {"Content-Type": "text/xml"}
                else:
                    payload = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>"
                               f"{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                               ).encode()
                    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
                self.send_response(403)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port,
                                                      timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in ("connection", "transfer-encoding", "content-length", "server",
                                                "date"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        return Handler
