"""The Dask side of a cluster run: connect (or start a LocalCluster), check the workers, send chunks, collect.

Imported only when a run has `--cluster`: it imports `distributed`, which comes with the dask extra.

`open_cluster(spec)` gives a `ClusterSession` (an asynchronous `distributed.Client`); `ClusterScanner.run` is the
cluster's counterpart of `Engine.run`: targets in (lazily), observations out as chunks complete.

- The client resolves every target (the resolver, `--resolve`, `--connect-to` and `--dns-server` stay here) and
  assigns it to a stream by its address (`probe.cluster.routing`); at most one chunk per stream is in flight and
  at most `window` chunks in all (twice the workers' threads; with `--rate`, the threads, each chunk carrying
  `rate / window`). Memory is bounded by the streams' buffers and the window, not by the number of targets.
- A worker that dies mid-chunk has the chunk scanned again elsewhere (Dask's allowed failures); a chunk that
  kills every worker it lands on ends as `KilledWorker`, and its targets are reported `internal` errors. A chunk's
  result is taken once, when its future completes, so nothing is reported (or stored) twice.
- `--max-duration`: chunks sent carry what is left of it; targets not sent when it ends, and chunks still out
  shortly after, are reported as `timeout` errors, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dask
from distributed import Client, Future, KilledWorker, LocalCluster, Security

from probe.app.options import ScanPlan
from probe.cluster.chunk import Chunk, ChunkResult, ChunkSettings, scan_chunk
from probe.cluster.routing import Stream, Streams, pin
from probe.cluster.spec import ClusterError, ClusterSpec
from probe.models import ErrorKind, Observation, Target
from probe.scan.engine import DEADLINE_GRACE_S, errored

log = logging.getLogger(__name__)

RESOLVERS = 32  # targets resolved at once on the client
LINGER_S = 0.25  # a partly filled chunk waits this long for more targets of its stream (unless nothing is coming)
HARD_STOP_GRACE_S = DEADLINE_GRACE_S + 5.0  # after --max-duration, how long chunks still out may take to return
# Dask samples every thread's stack every 10 ms on a worker's event loop (sys._current_frames); with the engine
# starting threads, CPython 3.11 deadlocks there (the sampler holds the runtime's thread-state lock while a GC
# callback waits for the GIL; a thread being created holds the GIL and waits for that lock). Scans need no
# profile: it is off on the workers this client starts, and `scan_chunk` stops it on others (probe.cluster.chunk).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def _quiet_dask(level: int = logging.ERROR) -> None:
    """Dask logs worker restarts and lost tasks as warnings; tlsprobe reports those as results instead."""
    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker",
                 "distributed.core", "distributed.client", "distributed.comm"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < level and not logging.getLogger().isEnabledFor(logging.DEBUG):
            logger.setLevel(level)


@dataclass
class ClusterSession:
    """One run's connection to a cluster; `cluster` is the LocalCluster started for it (None: an existing one)."""

    spec: ClusterSpec
    client: Client
    cluster: LocalCluster | None = None

    def threads(self) -> int:
        workers: dict[str, Any] = self.client.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info().get("workers", {}))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                closing = self.cluster.close()
                if closing is not None:
                    await closing


def _security(spec: ClusterSpec) -> Security | None:
    if spec.kind != "tls":
        return None
    return Security(
        tls_ca_file=str(spec.tls_ca), tls_client_cert=str(spec.tls_cert),
        tls_client_key=str(spec.tls_key) if spec.tls_key else None, require_encryption=True,
    )  # fmt: skip


def _reachable(spec: ClusterSpec) -> None:
    """Fail at once, in one line, when nothing answers at the scheduler's address (Dask would retry for long)."""
    host, _, port = str(spec.address).partition("://")[2].rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=min(5.0, spec.connect_timeout)):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {spec.address}: {reason}") from None


def version_problems(found: dict[str, Any], expected: str) -> list[str]:
    """Per worker, what is wrong with its tlsprobe (`found`: worker -> version or the exception raised)."""
    problems = []
    for worker, version in sorted(found.items()):
        if isinstance(version, importlib.metadata.PackageNotFoundError):
            problems.append(f"worker {worker} has no tlsprobe installed")
        elif isinstance(version, BaseException):
            problems.append(f"worker {worker} cannot report its tlsprobe version ({type(version).__name__}: "
                            f"{version})")
        elif version != expected:
            problems.append(f"worker {worker} runs tlsprobe {version}")
    return problems


async def open_cluster(spec: ClusterSpec) -> ClusterSession:
    """Start the LocalCluster of `local[:N]` or connect to the scheduler; wait for a worker and check that every
    worker runs this tlsprobe. ClusterError (exit 2, one line) when the cluster cannot be used."""
    _quiet_dask()
    cluster: LocalCluster | None = None
    if spec.kind == "local":
        with dask.config.set(WORKER_CONFIG):  # the nannies pass it on to the worker processes
            cluster = await LocalCluster(
                n_workers=spec.local_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=":0", asynchronous=True, silence_logs=logging.ERROR,
            )  # fmt: skip
        client = await Client(cluster, asynchronous=True, set_as_default=False)
    else:
        await asyncio.to_thread(_reachable, spec)
        try:
            client = await Client(spec.address, asynchronous=True, set_as_default=False,
                                  timeout=spec.connect_timeout, security=_security(spec))
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot connect to the Dask scheduler at {spec.address}: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    session = ClusterSession(spec, client, cluster)
    try:
        try:
            await client.wait_for_workers(1, timeout=spec.connect_timeout)
        except TimeoutError:
            where = spec.describe()
            raise ClusterError(f"the Dask scheduler at {where} has no workers (waited {spec.connect_timeout:g} s): "
                               f"start them with `dask worker {where}`") from None
        from probe import __version__

        found = await client.run(importlib.metadata.version, "tlsprobe", on_error="return")
        problems = version_problems(found, __version__)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ClusterError(f"{problems[0]}{more}; this client runs tlsprobe {__version__}: install the same "
                               "version on every worker (pip install 'tlsprobe[dask]')")
    except BaseException:
        await session.close()
        raise
    log.info("cluster %s: %d workers, %d threads", spec.describe(), len(session.workers()), session.threads())
    return session


@contextlib.asynccontextmanager
async def cluster_session(spec: ClusterSpec) -> AsyncIterator[ClusterSession]:
    session = await open_cluster(spec)
    try:
        yield session
    finally:
        await session.close()


async def _result(future: Future[ChunkResult]) -> ChunkResult:
    result: ChunkResult = await future
    return result


class ClusterScanner:
    """Scans a stream of targets on a cluster; `run` yields one Observation per (target, address)."""

    def __init__(self, plan: ScanPlan, session: ClusterSession) -> None:
        self.plan = plan
        self.session = session
        self.spec = session.spec
        options = plan.options
        self._ca_pem = options.ca_file.read_bytes() if options.ca_file is not None else None
        self._token = uuid.uuid4().hex[:12]
        self._sequence = 0

    def _settings(self, share: float | None, left: float | None) -> ChunkSettings:
        options = self.plan.options
        return ChunkSettings(
            concurrency=options.concurrency, per_host=options.per_host, rate=share, timeout=options.timeout,
            deadline=options.deadline, max_duration=left, engine=options.engine.value, no_http=options.no_http,
            ca_pem=self._ca_pem,
        )  # fmt: skip

    async def run(
        self, targets: Iterable[Target], on_start: Callable[[Target], None] | None = None
    ) -> AsyncIterator[Observation]:
        """Scan `targets` (consumed lazily) on the cluster and yield observations as chunks complete; `on_start`
        hears of each target as its chunk is sent."""
        options, plan = self.plan.options, self.plan
        threads = self.session.threads()
        window = 2 * threads
        share: float | None = None
        if options.rate:
            window = max(1, min(threads, int(options.rate)))
            share = options.rate / window  # never more than --rate in all: each chunk in flight takes its share
        # Few streams (twice the window): a sparse estate still fills its chunks; one address, one stream.
        streams = Streams(max(8, 2 * window), self.spec.chunk_size_for(options.concurrency))
        run_end = time.monotonic() + options.max_duration if options.max_duration else None
        out: asyncio.Queue[Observation | None] = asyncio.Queue(maxsize=window * streams.chunk_size + RESOLVERS)
        pending: asyncio.Queue[Target | None] = asyncio.Queue(maxsize=2 * RESOLVERS)
        room = asyncio.Condition()
        wake = asyncio.Event()
        inflight: dict[str, tuple[asyncio.Task[None], Future[ChunkResult]]] = {}
        state = {"feeding": True, "waiting": 0}
        client = self.session.client

        def over() -> bool:
            return run_end is not None and time.monotonic() >= run_end

        def stopped(target: Target) -> Observation:
            return errored(target, ErrorKind.TIMEOUT, "run stopped at --max-duration before this endpoint")

        async def feed() -> None:
            for target in targets:
                await pending.put(target)
            for _ in range(RESOLVERS):
                await pending.put(None)

        async def resolve() -> None:
            while (target := await pending.get()) is not None:
                if over():
                    await out.put(stopped(target))
                    continue
                pinned = await pin(target, plan.resolver, plan.overrides, all_ips=options.all_ips,
                                   timeout=options.deadline)
                if isinstance(pinned, Observation):
                    await out.put(pinned)
                    continue
                for one in pinned:
                    stream = streams.of(one)
                    async with room:
                        if not streams.has_room(stream):
                            state["waiting"] += 1
                            wake.set()  # a full stream: send what the others hold rather than wait for more
                            await room.wait_for(lambda s=stream: streams.has_room(s))  # type: ignore[misc]
                            state["waiting"] -= 1
                        streams.add(stream, one, time.monotonic())
                    if len(stream.buffer) >= streams.chunk_size:
                        wake.set()

        async def collect(stream: Stream, batch: list[Target], chunk: Chunk, future: Future[ChunkResult]) -> None:
            try:
                if run_end is None:
                    result = await _result(future)
                else:
                    limit = run_end + HARD_STOP_GRACE_S - time.monotonic()
                    result = await asyncio.wait_for(_result(future), max(0.1, limit))
                observations = [Observation.model_validate_json(text) for text in result["observations"]]
                if len(observations) != len(batch):
                    raise RuntimeError(f"{len(observations)} results for {len(batch)} targets")
            except KilledWorker as exc:
                message = f"chunk {chunk.id} was lost with every worker that scanned it ({exc})"
                observations = [errored(t, ErrorKind.INTERNAL, message[:300]) for t in batch]
            except TimeoutError:
                future.cancel()
                observations = [errored(t, ErrorKind.TIMEOUT, "run stopped at --max-duration before this "
                                        "endpoint's chunk came back") for t in batch]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a worker without tlsprobe, a deserialisation error: never lose the targets
                message = f"chunk {chunk.id} failed: {type(exc).__name__}: {exc}"
                observations = [errored(t, ErrorKind.INTERNAL, message[:300]) for t in batch]
            for observation in observations:
                await out.put(observation)
            stream.busy = False
            inflight.pop(chunk.id, None)
            wake.set()

        async def send(stream: Stream) -> None:
            batch = streams.take(stream)
            stream.busy = True
            async with room:
                room.notify_all()
            self._sequence += 1
            left = max(0.1, run_end - time.monotonic()) if run_end is not None else None
            chunk = Chunk(id=f"tlsprobe-chunk-{self._token}-{self._sequence}", stream=stream.index,
                          targets=tuple(t.model_dump_json() for t in batch), settings=self._settings(share, left))
            future = client.submit(scan_chunk, chunk, key=chunk.id, pure=False)
            if on_start is not None:
                for target in batch:
                    on_start(target)
            task = asyncio.create_task(collect(stream, batch, chunk, future))
            inflight[chunk.id] = (task, future)

        async def dispatch() -> None:
            while True:
                wake.clear()
                if over():
                    left = streams.drain()
                    async with room:
                        room.notify_all()
                    for target in left:
                        await out.put(stopped(target))
                else:
                    flush = not state["feeding"] or state["waiting"] > 0
                    now = time.monotonic()
                    while len(inflight) < window and (stream := streams.pick(now, linger=LINGER_S, flush=flush)):
                        await send(stream)
                if not state["feeding"] and streams.buffered == 0 and not inflight:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), LINGER_S)

        async def feed_all() -> None:
            try:
                await asyncio.gather(feed(), *(resolve() for _ in range(RESOLVERS)))
            finally:
                state["feeding"] = False
                wake.set()

        async def supervise() -> None:
            try:
                await asyncio.gather(feed_all(), dispatch())
            finally:
                await out.put(None)

        supervisor = asyncio.create_task(supervise())
        try:
            while (observation := await out.get()) is not None:
                yield observation
            await supervisor  # surface errors from the target iterator (a file vanished, say)
        finally:
            if not supervisor.done():
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor
            for task, future in list(inflight.values()):
                task.cancel()
                future.cancel()
            for task, _ in list(inflight.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


__all__ = ["ClusterScanner", "ClusterSession", "cluster_session", "open_cluster", "version_problems"]
