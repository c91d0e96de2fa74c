"""One unit of Azure discovery work: a service in one subscription."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from probe.discovery.azure.session import AzureSession, describe_error
from probe.discovery.base import DiscoveryItem
from probe.discovery.declared import policy_family, policy_key
from probe.discovery.models import DeclaredPolicy
from probe.models import DiscoveryError, Target, TargetSource

__all__ = ["GLOBAL", "Unit", "resource_group"]

GLOBAL = "global"  # region label of global services (Front Door) and of a unit spanning a subscription's regions


def resource_group(resource_id: str) -> str:
    """The resource group named in an ARM id (/subscriptions/S/resourceGroups/RG/providers/...)."""
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def last_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Unit:
    subscription: str
    service: str
    session: AzureSession
    items: list[DiscoveryItem] = field(default_factory=list)

    def client(self, kind: str) -> Any:
        return self.session.client(kind, self.subscription)

    def fail(self, exc: BaseException, context: str = "") -> None:
        """Record a failure (the whole service, or one resource's sub-call) and go on."""
        text = describe_error(exc, self.session.options.max_attempts) + (f" ({context})" if context else "")
        self.items.append(DiscoveryError(provider="azure", account=self.subscription, region=GLOBAL,
                                         service=self.service, error=text[:400]))

    def target(self, host: str, port: int, kind: str, *, resource_id: str, region: str | None,
               declared: tuple[str, DeclaredPolicy | None], certificates: tuple[str, ...] = (),
               scheme: str | None = None, sni: str | None = None) -> None:
        """A discovered endpoint with its declared policy, registered under the resource's id."""
        name, policy = declared
        family = policy_family(kind)
        if policy is not None and family is not None:
            self.items.append((policy_key(family, name, resource_id), policy))
        source = TargetSource(provider="azure", kind=kind, account=self.subscription, region=region or GLOBAL,
                              arn=resource_id, declared_policy=name, certificate_arns=certificates, scheme=scheme)
        self.items.append(Target(host=host.rstrip(".").lower(), port=port, sni=sni, source=source))
