"""One unit of discovery work: a service in one region of one account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from probe.discovery.aws.session import Account, ClientFactory, describe_error
from probe.discovery.base import DiscoveryItem
from probe.models import DiscoveryError, Target, TargetSource

__all__ = ["GLOBAL_REGION", "Unit"]

GLOBAL_REGION = "global"  # region label of global services (CloudFront); their API lives in us-east-1


@dataclass
class Unit:
    account: Account
    region: str
    service: str
    factory: ClientFactory
    items: list[DiscoveryItem] = field(default_factory=list)

    def client(self, service: str | None = None) -> Any:
        region = "us-east-1" if self.region == GLOBAL_REGION else self.region
        return self.factory.client(self.account.session, service or self.service, region)

    def fail(self, exc: BaseException, context: str = "") -> None:
        """Record a partial failure (one resource's sub-call) and go on."""
        text = describe_error(exc) + (f" ({context})" if context else "")
        self.items.append(DiscoveryError(provider="aws", account=self.account.account_id, region=self.region,
                                         service=self.service, error=text[:400]))

    def target(self, host: str, port: int, kind: str, *, arn: str | None, declared: str | None,
               certificates: tuple[str, ...] = (), scheme: str | None = None, sni: str | None = None) -> None:
        source = TargetSource(provider="aws", kind=kind, account=self.account.account_id, region=self.region,
                              arn=arn, declared_policy=declared, certificate_arns=certificates, scheme=scheme)
        self.items.append(Target(host=host.rstrip(".").lower(), port=port, sni=sni, source=source))
