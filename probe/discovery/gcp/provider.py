"""The GCP provider: projects x services discovered concurrently, failures kept as values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date

from probe.discovery.base import DiscoveryItem, scope_status
from probe.discovery.gcp.collect import COLLECTORS, GCP_ERRORS, GLOBAL, Unit
from probe.discovery.gcp.session import GcpSession, credentials
from probe.discovery.models import GCP_SERVICES, GcpOptions
from probe.errors import InputError

__all__ = ["GcpProvider"]

_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def _validate(options: GcpOptions) -> None:
    unknown = sorted(set(options.services) - set(GCP_SERVICES))
    if unknown:
        raise InputError(f"unknown GCP service(s) {', '.join(unknown)} (known: {', '.join(GCP_SERVICES)})")
    bad = [p for p in options.projects if not _PROJECT_RE.match(p)]
    if bad:
        raise InputError(f"--gcp-project: not a project id: {bad[0]!r}")


class GcpProvider:
    """Discovers load-balancer TLS endpoints, SSL certificates and Cloud KMS keys in GCP. Read-only: list calls.
    `today` decides what a dated setting (postQuantumKeyExchange DEFAULT or DEFERRED) means."""

    name = "gcp"

    def __init__(self, options: GcpOptions, *, today: date | None = None) -> None:
        _validate(options)
        self.options = options
        self.today = today or date.today()

    @staticmethod
    def _run(unit: Unit) -> list[DiscoveryItem]:
        try:
            COLLECTORS[unit.service](unit)
        except GCP_ERRORS as exc:
            unit.fail(exc)
        except Exception as exc:  # a bug or an unexpected reply: this unit's error, never hidden
            unit.fail(exc, "internal")
        unit.items.append(scope_status(unit.items, provider="gcp", account=unit.project, region=GLOBAL,
                                       service=unit.service))
        return unit.items

    def items(self) -> Iterator[DiscoveryItem]:
        """Stream every target, posture item, declared policy, error and scope status."""
        session = GcpSession(self.options, credentials(self.options))
        with session.trust():
            projects = session.projects()
            units = [Unit(p, service, session, self.today) for p in projects for service in self.options.services]
            with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="gcp-discovery") as pool:
                for future in as_completed([pool.submit(self._run, unit) for unit in units]):
                    yield from future.result()
