"""The provider interface: a provider yields Targets, posture items, declared policies and errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from probe.discovery.models import POSTURE_TYPES, DeclaredPolicy, DiscoveryResult, PostureItem, ScopeStatus
from probe.models import DiscoveryError, Target

__all__ = ["DiscoveryItem", "Provider", "StaticProvider", "collect", "merge", "scope_status"]

DiscoveryItem = Target | PostureItem | DiscoveryError | ScopeStatus | tuple[str, DeclaredPolicy]
"""What a provider yields: a `(policy_key, DeclaredPolicy)` pair registers an expanded declared policy."""


def scope_status(
    items: Iterable[DiscoveryItem], *, provider: str, account: str | None, region: str | None, service: str,
    posture_types: tuple[type, ...] = POSTURE_TYPES,
) -> ScopeStatus:
    """How one account/region/service unit of discovery ended, counted from what it yielded: `error` when any
    of it failed, so that an empty `ok` is really empty."""
    held = list(items)
    errors = sum(isinstance(i, DiscoveryError) for i in held)
    return ScopeStatus(
        provider=provider, account=account, region=region, service=service, status="error" if errors else "ok",
        errors=errors, targets=sum(isinstance(i, Target) for i in held),
        posture=sum(isinstance(i, posture_types) for i in held),
    )


@runtime_checkable
class Provider(Protocol):
    """A source of targets. `items()` streams; failures are yielded as DiscoveryError, never raised.

    Only unusable input (no credentials, unknown profile) raises, as probe.errors.InputError,
    before anything is yielded.
    """

    name: str

    def items(self) -> Iterator[DiscoveryItem]: ...


class StaticProvider:
    """Wraps a fixed list of targets (a file, the command line) behind the provider interface."""

    name = "static"

    def __init__(self, targets: Iterable[Target]) -> None:
        self._targets = tuple(targets)

    def items(self) -> Iterator[DiscoveryItem]:
        yield from self._targets


def collect(provider: Provider) -> DiscoveryResult:
    """Drain a provider into one DiscoveryResult (targets de-duplicated by endpoint key, first wins)."""
    return _gather(provider.items())


def _gather(stream: Iterable[DiscoveryItem]) -> DiscoveryResult:
    targets: dict[str, Target] = {}
    posture: list[PostureItem] = []
    errors: list[DiscoveryError] = []
    scopes: list[ScopeStatus] = []
    policies: dict[str, DeclaredPolicy] = {}
    for item in stream:
        if isinstance(item, Target):
            targets.setdefault(item.key, item)
        elif isinstance(item, POSTURE_TYPES):
            posture.append(item)
        elif isinstance(item, DiscoveryError):
            errors.append(item)
        elif isinstance(item, ScopeStatus):
            scopes.append(item)
        else:
            key, policy = item
            policies[key] = policy
    return DiscoveryResult(
        targets=tuple(targets.values()), posture=tuple(posture), errors=tuple(errors),
        scopes=tuple(scopes), policies=policies,
    )


def merge(results: Iterable[DiscoveryResult]) -> DiscoveryResult:
    """Several providers' results as one (targets de-duplicated by endpoint key, first wins)."""

    def items() -> Iterator[DiscoveryItem]:
        for result in results:
            yield from result.targets
            yield from result.posture
            yield from result.errors
            yield from result.scopes
            yield from result.policies.items()

    return _gather(items())
