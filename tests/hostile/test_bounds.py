"""A sweep of 2,000 targets, half tarpits, half closed ports, under a short deadline: it ends within the time
the deadline and concurrency imply and gives back every file descriptor it opened.

Bound: ceil(N_tarpit / C) * (deadline + grace) + ceil(N_closed / C) * t_closed + overhead, with C the
concurrency, grace the engine's DEADLINE_GRACE_S and t_closed a generous 1 s for a refused port.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from probe.models import ErrorKind, Observation, Target
from probe.resolve import StaticResolver
from probe.scan.engine import DEADLINE_GRACE_S, Engine, Limits
from probe.scan.settings import ScanSettings
from probe.scan.sslyze_adapter import SslyzeScanner

N_TARPIT = 1000
N_CLOSED = 1000
TARPIT_ADDRESSES = [f"127.0.41.{i}" for i in range(1, 11)]  # 10 addresses x 100 ports
CLOSED_ADDRESSES = [f"127.0.42.{i}" for i in range(1, 11)]
CONCURRENCY = 50  # what sslyze's per-endpoint threads allow on 2 cores within a 1 s deadline
PER_HOST = CONCURRENCY // len(TARPIT_ADDRESSES)  # every tarpit address can take its share at once
DEADLINE = 1.0
OVERHEAD_S = 10.0
T_CLOSED_S = 1.0


def bound_s() -> float:
    return (math.ceil(N_TARPIT / CONCURRENCY) * (DEADLINE + DEADLINE_GRACE_S)
            + math.ceil(N_CLOSED / CONCURRENCY) * T_CLOSED_S + OVERHEAD_S)


def _listen_forever(sockets: list[socket.socket], stop: object) -> None:
    stop.wait()  # type: ignore[attr-defined]  # listening, never accepting: the kernel completes handshakes


@contextmanager
def tarpits() -> Iterator[list[tuple[str, int]]]:
    """Listening sockets that never accept (the kernel's backlog holds the connections), in a child process."""
    listeners = []
    for address in TARPIT_ADDRESSES:
        for _ in range(N_TARPIT // len(TARPIT_ADDRESSES)):
            sock = socket.socket()
            sock.bind((address, 0))
            sock.listen(64)
            listeners.append(sock)
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    child = ctx.Process(target=_listen_forever, args=(listeners, stop), daemon=True)
    child.start()
    ports = [s.getsockname() for s in listeners]
    for sock in listeners:
        sock.close()  # the child holds them
    try:
        yield ports
    finally:
        stop.set()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()


@contextmanager
def closed_ports() -> Iterator[list[tuple[str, int]]]:
    """Ports bound but not listening: a connection is refused, and nothing else can listen there meanwhile."""
    held = []
    for address in CLOSED_ADDRESSES:
        for _ in range(N_CLOSED // len(CLOSED_ADDRESSES)):
            sock = socket.socket()
            sock.bind((address, 0))
            held.append(sock)
    try:
        yield [s.getsockname() for s in held]
    finally:
        for sock in held:
            sock.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(180)
def test_two_thousand_targets_half_tarpits_end_in_bounded_time_and_return_every_fd() -> None:
    limits = Limits(concurrency=CONCURRENCY, per_host=PER_HOST, timeout=1.0, deadline=DEADLINE)
    settings = ScanSettings(timeout=1.0, per_host=PER_HOST)
    with tarpits() as pits, closed_ports() as closed:
        targets = [Target(host=a, port=p) for a, p in pits] + [Target(host=a, port=p) for a, p in closed]
        engine = Engine(lambda gate: SslyzeScanner(gate, settings), StaticResolver({}), limits=limits)

        async def run() -> list[Observation]:
            return [o async for o in engine.run(targets)]

        before = open_fds()
        threads_before = threading.active_count()
        started = time.monotonic()
        observations = asyncio.run(run())
        elapsed = time.monotonic() - started
        settle_until = time.monotonic() + 15
        while (open_fds() > before or threading.active_count() > threads_before + 5) and (
            time.monotonic() < settle_until
        ):
            time.sleep(0.2)
        after = open_fds()
    threads_after = threading.active_count()
    print(f"threads {threads_before} -> {threads_after}")
    print(f"2000 targets: {elapsed:.1f} s (bound {bound_s():.0f} s); fds {before} -> {after}")
    assert len(observations) == N_TARPIT + N_CLOSED
    assert len({o.target.key for o in observations}) == N_TARPIT + N_CLOSED, "each target exactly once"
    tarpit_kinds = {o.error.kind if o.error else None for o in observations if o.target.host.startswith("127.0.41.")}
    closed_kinds = [o.error.kind if o.error else None for o in observations if o.target.host.startswith("127.0.42.")]
    assert tarpit_kinds == {ErrorKind.TIMEOUT}, tarpit_kinds
    # a refused port is refused; on a loaded machine a few may hit the 1 s deadline first, never anything else
    assert set(closed_kinds) <= {ErrorKind.REFUSED, ErrorKind.TIMEOUT}, set(closed_kinds)
    assert closed_kinds.count(ErrorKind.REFUSED) > N_CLOSED // 2, closed_kinds.count(ErrorKind.REFUSED)
    assert elapsed < bound_s(), f"{elapsed:.1f} s > bound {bound_s():.1f} s"
    assert after <= before, f"file descriptors leaked: {before} -> {after}"
    assert threads_after <= threads_before + 5, f"threads piled up: {threads_before} -> {threads_after}"
