"""The one asyncio engine: stream targets in, observations out, under every limit.

Blocking back-ends (sslyze, nassl) run in worker threads; their connections pass through a shared
`ConnectionGate`. Targets are consumed lazily and results yielded as they complete, so memory stays
bounded by the concurrency, not by the size of the sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from probe.models import ErrorKind, Observation, ScanError, Target
from probe.resolve import Overrides, ResolutionError, Resolver, is_ip
from probe.scan.limits import ConnectionGate, EndpointBudget

log = logging.getLogger(__name__)

DEADLINE_GRACE_S = 2.0  # how long past its deadline a worker thread may take to notice


@dataclass(frozen=True)
class Limits:
    """Every limit the engine honours (all configurable from the CLI)."""

    concurrency: int = 10  # endpoints at once
    per_host: int = 5  # connections at once to one IP address
    rate: float | None = None  # new connections per second, whole run
    timeout: float = 5.0  # per connection (seconds)
    deadline: float = 120.0  # per endpoint (seconds)
    max_duration: float | None = None  # whole run (seconds)


class Backend(Protocol):
    engine: str

    def scan(self, target: Target, budget: EndpointBudget) -> Observation: ...


BackendFactory = Callable[[ConnectionGate], Backend]


def errored(target: Target, kind: ErrorKind, message: str, engine: str = "none", connections: int = 0) -> Observation:
    """An Observation for an endpoint that could not be scanned."""
    return Observation(
        target=target,
        status="error",
        error=ScanError(kind=kind, message=message),
        engine=engine,
        connections=connections,
    )


@dataclass
class _DialSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Engine:
    """Scans a stream of targets; `run` yields one Observation per (target, address)."""

    def __init__(
        self,
        backend_factory: BackendFactory,
        resolver: Resolver,
        *,
        limits: Limits = Limits(),
        overrides: Overrides | None = None,
        all_ips: bool = False,
    ) -> None:
        self.backend_factory = backend_factory
        self.resolver = resolver
        self.limits = limits
        self.overrides = overrides or Overrides()
        self.all_ips = all_ips
        self._dial_locks: dict[tuple[str, int], _DialSlot] = {}

    async def _addresses(self, target: Target) -> tuple[list[str], int | None]:
        """Addresses to dial for `target` and the port override (curl's --connect-to)."""
        route = self.overrides.route(target.host, target.port)
        if route is not None:
            if is_ip(route.address):
                return [route.address], route.port
            return await self.resolver.resolve(route.address), route.port
        if target.ip:
            return [target.ip], target.connect_port
        pinned = self.overrides.addresses(target.host, target.port)
        if pinned:
            return pinned, target.connect_port
        if is_ip(target.host):
            return [target.host], target.connect_port
        return await self.resolver.resolve(target.host), target.connect_port

    async def _scan_one(
        self, backend: Backend, executor: ThreadPoolExecutor, target: Target, run_end: float | None
    ) -> Observation:
        now = time.monotonic()
        deadline_at = now + self.limits.deadline
        if run_end is not None:
            deadline_at = min(deadline_at, run_end)
        budget = EndpointBudget(deadline_at=deadline_at)
        key = (target.ip or target.host, target.dial_port)
        slot = self._dial_locks.setdefault(key, _DialSlot())
        slot.users += 1
        try:
            async with slot.lock:  # one scan per address:port at a time keeps connection counts exact
                return await self._run_backend(backend, executor, target, budget, run_end)
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._dial_locks.pop(key, None)

    async def _run_backend(
        self, backend: Backend, executor: ThreadPoolExecutor, target: Target, budget: EndpointBudget,
        run_end: float | None,
    ) -> Observation:
        loop = asyncio.get_running_loop()

        def scan() -> Observation:
            budget.start(self.limits.deadline, run_end)  # time queued for a worker thread is not scan time
            return backend.scan(target, budget)

        future = loop.run_in_executor(executor, scan)
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(future), max(0.1, budget.remaining()) + DEADLINE_GRACE_S)
            except TimeoutError:
                if not budget.started and (run_end is None or time.monotonic() < run_end):
                    continue  # still waiting for a thread: every worker is busy finishing a scan
                budget.cancelled.set()
                # the thread stops at its next socket operation (bounded by the deadline); don't wait for it
                future.add_done_callback(lambda f: f.exception())
                return errored(
                    target,
                    ErrorKind.TIMEOUT,
                    f"endpoint deadline of {self.limits.deadline:g} s reached",
                    backend.engine,
                    budget.connections,
                )
            except Exception as exc:  # a back-end bug must not lose the target
                return errored(target, ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"[:300], backend.engine)

    async def _scan_target(
        self, backend: Backend, executor: ThreadPoolExecutor, target: Target, run_end: float | None
    ) -> list[Observation]:
        if target.sni is None and not is_ip(target.host):
            target = target.model_copy(update={"sni": target.host})
        try:
            addresses, port = await asyncio.wait_for(self._addresses(target), self.limits.deadline)
        except ResolutionError as exc:
            return [errored(target, ErrorKind.DNS, str(exc))]
        except TimeoutError:
            return [errored(target, ErrorKind.DNS, f"{target.host}: resolution timed out")]
        if not self.all_ips:
            addresses = addresses[:1]
        results = []
        for address in addresses:
            pinned = target.model_copy(update={"ip": address, "connect_port": port})
            log.debug("scanning %s via %s:%s", pinned.key, address, pinned.dial_port)
            observation = await self._scan_one(backend, executor, pinned, run_end)
            log.info(
                "%s: %s in %.1f s, %d connections",
                pinned.key,
                observation.error.kind.value if observation.error else "ok",
                observation.duration_s,
                observation.connections,
            )
            results.append(observation)
        return results

    async def run(
        self, targets: Iterable[Target], on_start: Callable[[Target], None] | None = None
    ) -> AsyncIterator[Observation]:
        """Scan `targets` (consumed lazily) and yield observations as they complete; `on_start` hears of each
        target as a worker takes it up."""
        limits = self.limits
        loop = asyncio.get_running_loop()
        gate = ConnectionGate(per_host=limits.per_host, rate=limits.rate, timeout=limits.timeout, loop=loop)
        backend = self.backend_factory(gate)
        run_end = time.monotonic() + limits.max_duration if limits.max_duration else None
        queue: asyncio.Queue[Target | None] = asyncio.Queue(maxsize=limits.concurrency * 2)
        results: asyncio.Queue[Observation | None] = asyncio.Queue(maxsize=limits.concurrency * 4)
        executor = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="tlsprobe-scan")

        async def produce() -> None:
            for target in targets:
                await queue.put(target)
            for _ in range(limits.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (target := await queue.get()) is not None:
                if on_start is not None:
                    on_start(target)
                if run_end is not None and time.monotonic() >= run_end:
                    observations = [
                        errored(target, ErrorKind.TIMEOUT, "run stopped at --max-duration before this endpoint")
                    ]
                else:
                    observations = await self._scan_target(backend, executor, target, run_end)
                for observation in observations:
                    await results.put(observation)

        async def supervise() -> None:
            try:
                await asyncio.gather(produce(), *(work() for _ in range(limits.concurrency)))
            finally:
                await results.put(None)

        supervisor = asyncio.create_task(supervise())
        try:
            while (observation := await results.get()) is not None:
                yield observation
            await supervisor  # surface errors from the target iterator (e.g. a file vanished)
        finally:
            if not supervisor.done():
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor
            executor.shutdown(wait=False, cancel_futures=True)
