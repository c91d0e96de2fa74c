"""Connection limits shared by every scanner back-end.

Scanner back-ends open their TCP connections from worker threads through `ConnectionGate.open`,
which enforces, per connection: the endpoint's deadline, the per-IP concurrency limit (`--per-host`),
the global new-connection rate (`--rate`, asyncio-throttle on the engine's loop) and counts the
connection for the endpoint's report.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asyncio_throttle import Throttler


class DeadlineExceeded(TimeoutError):
    """The endpoint's deadline passed: no new connection is opened."""


@dataclass
class EndpointBudget:
    """Per-endpoint accounting: connections opened, deadline, cancellation."""

    deadline_at: float
    connections: int = 0
    peak_open: int = 0
    open_now: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, seconds: float, not_after: float | None = None) -> None:
        """The scan begins now (in its worker thread): the deadline counts from here, not from the queue."""
        deadline_at = time.monotonic() + seconds
        self.deadline_at = deadline_at if not_after is None else min(deadline_at, not_after)
        self.started = True

    def remaining(self) -> float:
        return self.deadline_at - time.monotonic()

    def opened(self) -> None:
        with self._lock:
            self.connections += 1
            self.open_now += 1
            self.peak_open = max(self.peak_open, self.open_now)

    def closed(self) -> None:
        with self._lock:
            self.open_now -= 1


class _GatedSocket(socket.socket):
    """A socket that gives its per-host slot back when closed (once) and never blocks past its endpoint's
    deadline: every send and receive is bounded by the time left, whatever per-call timeout was asked for,
    so a server dripping one byte a second cannot keep a worker thread (and its descriptor) forever."""

    _release: Callable[[], None] | None = None
    _budget: EndpointBudget | None = None
    _wanted_timeout: float | None = None

    def close(self) -> None:
        release, self._release = self._release, None
        try:
            super().close()
        finally:
            if release is not None:
                release()

    def settimeout(self, value: float | None) -> None:
        self._wanted_timeout = value
        super().settimeout(value)

    def _bound(self) -> None:
        budget = self._budget
        if budget is None:
            return
        remaining = budget.remaining()
        if remaining <= 0 or budget.cancelled.is_set():
            raise TimeoutError("endpoint deadline reached")
        wanted = self._wanted_timeout
        super().settimeout(remaining if wanted is None else min(wanted, remaining))

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._bound()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._bound()
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self._bound()
        return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._bound()
        super().sendall(data, flags)


# Which gates are scanning each address: a library opening connections from threads it starts itself (sslyze's
# scanner) finds the run's gate by the address it dials, so scans in one process keep their own limits.
_scanning_lock = threading.Lock()
_scanning: dict[tuple[str, int], list[ConnectionGate]] = {}


class ConnectionGate:
    """Opens TCP connections for scanner threads under the run's limits."""

    def __init__(
        self,
        *,
        per_host: int,
        rate: float | None,
        timeout: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.per_host = per_host
        self.timeout = timeout
        self._loop = loop
        self._throttler = Throttler(rate_limit=max(1, int(rate)), period=1.0) if rate else None
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._host_users: dict[str, int] = {}  # connections holding or awaiting each slot: gone at zero
        # Re-entrant: a dropped socket's finalizer gives its slot back (release -> _unslot) whenever the garbage
        # collector runs, possibly in a thread that holds this lock already.
        self._lock = threading.RLock()
        self._budgets: dict[tuple[str, int], list[EndpointBudget]] = {}

    # Registration: a back-end scanning (ip, port) registers its budget for the hook to find.
    def register(self, ip: str, port: int, budget: EndpointBudget) -> None:
        with self._lock:
            self._budgets.setdefault((ip, port), []).append(budget)
        with _scanning_lock:
            _scanning.setdefault((ip, port), []).append(self)

    def unregister(self, ip: str, port: int, budget: EndpointBudget) -> None:
        with self._lock:
            budgets = self._budgets.get((ip, port), [])
            if budget in budgets:
                budgets.remove(budget)
            if not budgets:
                self._budgets.pop((ip, port), None)
        with _scanning_lock:
            gates = _scanning.get((ip, port), [])
            if self in gates:
                gates.remove(self)
            if not gates:
                _scanning.pop((ip, port), None)

    @staticmethod
    def scanning(ip: str, port: int) -> ConnectionGate | None:
        """The gate of the scan registered for (ip, port), the latest if several runs scan it at once."""
        with _scanning_lock:
            gates = _scanning.get((ip, port))
            return gates[-1] if gates else None

    def budget_for(self, ip: str, port: int) -> EndpointBudget | None:
        with self._lock:
            budgets = self._budgets.get((ip, port))
            return budgets[-1] if budgets else None

    def _slot(self, ip: str) -> threading.BoundedSemaphore:
        with self._lock:
            self._host_users[ip] = self._host_users.get(ip, 0) + 1  # first: a finalizer run here cannot drop it
            slot = self._host_slots.get(ip)
            if slot is None:
                slot = self._host_slots[ip] = threading.BoundedSemaphore(self.per_host)
            return slot

    def _unslot(self, ip: str) -> None:
        """One user fewer of `ip`'s slot; the slot goes when none holds or awaits it, so a sweep of a million
        addresses keeps only those in use (a later connection gets a fresh slot, no limit is lost)."""
        with self._lock:
            users = self._host_users.get(ip, 0) - 1
            if users > 0:
                self._host_users[ip] = users
            else:
                self._host_users.pop(ip, None)
                self._host_slots.pop(ip, None)

    def _wait_rate(self, budget: EndpointBudget | None) -> None:
        if self._throttler is None or self._loop is None or self._loop.is_closed():
            return
        throttler = self._throttler

        async def take() -> None:
            async with throttler:
                pass

        future = asyncio.run_coroutine_threadsafe(take(), self._loop)
        wait = budget.remaining() if budget else None
        try:
            future.result(timeout=wait if wait is None or wait > 0 else 0.001)
        except TimeoutError as exc:
            future.cancel()
            raise DeadlineExceeded("deadline passed while waiting for the rate limit") from exc

    def open(self, ip: str, port: int, timeout: float | None = None) -> socket.socket:
        """Open a TCP connection to (ip, port) within every limit; raise socket errors as usual."""
        budget = self.budget_for(ip, port)
        if budget is not None and (budget.cancelled.is_set() or budget.remaining() <= 0):
            raise DeadlineExceeded(f"deadline for {ip}:{port} passed")
        slot = self._slot(ip)
        if not slot.acquire(timeout=budget.remaining() if budget else None):
            self._unslot(ip)
            raise DeadlineExceeded(f"deadline passed waiting for a connection slot to {ip}")
        counted = False
        done = threading.Event()

        def release() -> None:
            if done.is_set():
                return
            done.set()
            slot.release()
            self._unslot(ip)
            if counted and budget is not None:
                budget.closed()

        try:
            self._wait_rate(budget)
            per_conn = min(timeout or self.timeout, self.timeout)
            if budget is not None:
                per_conn = max(0.05, min(per_conn, budget.remaining()))
                budget.opened()
                counted = True
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            sock = _GatedSocket(family, socket.SOCK_STREAM)
        except BaseException:
            release()
            raise
        sock._release = release
        sock._budget = budget
        weakref.finalize(sock, release)  # a socket dropped without close() still frees its slot
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(per_conn)
            sock.connect((ip, port))
        except BaseException:
            sock.close()
            raise
        return sock
