"""The Azure provider: subscriptions x services discovered concurrently, failures kept as values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from azure.core.exceptions import AzureError

from probe.discovery.azure import endpoints
from probe.discovery.azure.inventory import collect_key_vault
from probe.discovery.azure.session import AzureSession, credential
from probe.discovery.azure.unit import GLOBAL, Unit
from probe.discovery.base import DiscoveryItem, scope_status
from probe.discovery.models import AZURE_SERVICES, AzureOptions
from probe.errors import InputError

__all__ = ["AzureProvider"]

_SUBSCRIPTION_RE = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


def _validate(options: AzureOptions) -> None:
    unknown = sorted(set(options.services) - set(AZURE_SERVICES))
    if unknown:
        raise InputError(f"unknown Azure service(s) {', '.join(unknown)} (known: {', '.join(AZURE_SERVICES)})")
    bad = [s for s in options.subscriptions if not _SUBSCRIPTION_RE.match(s)]
    if bad:
        raise InputError(f"--azure-subscription: not a subscription id: {bad[0]!r}")
    if options.endpoint and not options.endpoint.startswith("https://"):
        raise InputError("--azure-endpoint must be an https:// URL (Azure's clients send a bearer token only over TLS)")


class AzureProvider:
    """Discovers TLS endpoints and Key Vault posture in Azure. Read-only: list and get calls only."""

    name = "azure"

    def __init__(self, options: AzureOptions) -> None:
        _validate(options)
        self.options = options
        self._predefined = endpoints.PredefinedPolicies()

    def _collector(self, service: str) -> Callable[[Unit], None]:
        if service == "applicationgateway":
            return lambda unit: endpoints.collect_application_gateways(unit, self._predefined)
        if service == "keyvault":
            return collect_key_vault
        return endpoints.COLLECTORS[service]

    def _run(self, unit: Unit) -> list[DiscoveryItem]:
        try:
            self._collector(unit.service)(unit)
        except AzureError as exc:
            unit.fail(exc)
        except Exception as exc:  # a bug or an unexpected reply: this unit's error, never hidden
            unit.fail(exc, "internal")
        unit.items.append(scope_status(unit.items, provider="azure", account=unit.subscription, region=GLOBAL,
                                       service=unit.service))
        return unit.items

    def items(self) -> Iterator[DiscoveryItem]:
        """Stream every target, posture item, declared policy, error and scope status."""
        session = AzureSession(self.options, credential(self.options))
        subscriptions = session.subscriptions()
        units = [Unit(s, service, session) for s in subscriptions for service in self.options.services]
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="azure-discovery") as pool:
            futures: list[Any] = [pool.submit(self._run, unit) for unit in units]
            for future in as_completed(futures):
                yield from future.result()
