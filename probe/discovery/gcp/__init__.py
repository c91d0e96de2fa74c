"""GCP discovery: load-balancer TLS endpoints (target HTTPS and SSL proxies, their SSL policies and certificates)
and Cloud KMS keys, read-only. The Google Cloud SDK (the `gcp` extra) is imported only inside this package."""

from probe.discovery.gcp.provider import GcpProvider

__all__ = ["GcpProvider"]
