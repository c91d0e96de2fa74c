"""The work unit of a cluster run: a chunk of resolved targets, and the function a Dask worker scans it with.

A `Chunk` carries a stable id, its stream (the client sends at most one chunk per stream at a time, so all the
connections to one address come from one worker), its targets, already resolved and pinned to one address
each, and the scan settings: the run's options with this chunk's share of `--rate` and what is left of
`--max-duration`. `scan_chunk` runs on the worker, in the Dask task's own thread: `asyncio.run` of the same
engine a single-process run uses, so every limit (per-host, rate, timeout, deadline) is enforced the same way.
It returns plain values (the observations as JSON text): nothing of the worker's state travels back.

Nothing here imports Dask: a worker runs `scan_chunk` because the client named it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from probe.models import ErrorKind, Observation, Target


@dataclass(frozen=True)
class ChunkSettings:
    """How a worker scans a chunk: the run's options, plain values only (the CA travels as its PEM text)."""

    concurrency: int = 10
    per_host: int = 5
    rate: float | None = None  # this chunk's share of --rate
    timeout: float = 5.0
    deadline: float = 120.0
    max_duration: float | None = None  # what is left of --max-duration when the chunk was sent
    engine: str = "fast"
    no_http: bool = False
    ca_pem: bytes | None = None


@dataclass(frozen=True)
class Chunk:
    """Targets (as `Target` JSON) scanned together on one worker; `id` is the Dask key, stable and unique."""

    id: str
    stream: int
    targets: tuple[str, ...]
    settings: ChunkSettings


class ChunkResult(TypedDict):
    """What a worker sends back: the chunk's id, one observation (JSON) per target, and who scanned it."""

    id: str
    observations: list[str]
    worker_pid: int
    seconds: float


_ca_lock = threading.Lock()
_ca_paths: dict[str, Path] = {}


def _ca_file(pem: bytes) -> Path:
    """The CA PEM written once per worker process (the client's --ca-file path means nothing on another host)."""
    digest = hashlib.sha256(pem).hexdigest()
    with _ca_lock:
        path = _ca_paths.get(digest)
        if path is None or not path.is_file():
            folder = Path(tempfile.mkdtemp(prefix="tlsprobe-worker-"))
            path = folder / f"ca-{digest[:16]}.pem"
            path.write_bytes(pem)
            _ca_paths[digest] = path
        return path


def _errored(target: Target, kind: ErrorKind, message: str) -> Observation:
    from probe.scan.engine import errored

    return errored(target, kind, message[:300])


async def _scan(chunk: Chunk, targets: list[Target], seen: dict[str, list[str]]) -> None:
    from probe.app.options import EngineName, ScanOptions, build_engine
    from probe.resolve import StaticResolver

    settings = chunk.settings
    options = ScanOptions(
        ca_file=_ca_file(settings.ca_pem) if settings.ca_pem else None,
        concurrency=settings.concurrency, per_host=settings.per_host, rate=settings.rate, timeout=settings.timeout,
        deadline=settings.deadline, max_duration=settings.max_duration, engine=EngineName(settings.engine),
        no_http=settings.no_http,
    )  # fmt: skip
    engine = build_engine(options, StaticResolver())  # targets come resolved: nothing is looked up here

    def lazily() -> Iterator[Target]:
        yield from targets

    async for observation in engine.run(lazily()):
        seen.setdefault(observation.target.key, []).append(observation.model_dump_json())


def _stop_worker_profiler() -> None:
    """Stop the Dask worker's stack sampler (every 10 ms, `sys._current_frames` on its event loop), once per
    worker: under CPython 3.11 it can deadlock with the engine's threads being created (see
    probe.cluster.client.WORKER_CONFIG, which turns it off on the workers a client starts itself)."""
    global _profiler_stopped
    if _profiler_stopped:
        return
    _profiler_stopped = True
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.get(name)
        if callback is not None:
            worker.loop.add_callback(callback.stop)


_profiler_stopped = False


def scan_chunk(chunk: Chunk) -> ChunkResult:
    """Scan a chunk on this worker (`asyncio.run` of the engine); every target comes back exactly once, a
    failure of the scan itself as an `internal` error of the targets it left."""
    _stop_worker_profiler()
    started = time.monotonic()
    targets = [Target.model_validate_json(text) for text in chunk.targets]
    seen: dict[str, list[str]] = {}
    reason = f"chunk {chunk.id}: no result"  # the engine skipped a target (never drop it anyway)
    try:
        asyncio.run(_scan(chunk, targets, seen))
    except Exception as exc:  # a bug must not lose the chunk's targets
        reason = f"chunk {chunk.id} failed on the worker: {type(exc).__name__}: {exc}"
    observations = []
    for target in targets:
        found = seen.get(target.key)
        text = found.pop(0) if found else _errored(target, ErrorKind.INTERNAL, reason).model_dump_json()
        observations.append(text)
    return ChunkResult(id=chunk.id, observations=observations, worker_pid=os.getpid(),
                       seconds=time.monotonic() - started)


def describe(result: ChunkResult) -> dict[str, Any]:
    """A chunk result without its observations (for logs)."""
    return {"id": result["id"], "targets": len(result["observations"]), "worker_pid": result["worker_pid"],
            "seconds": round(result["seconds"], 3)}


__all__ = ["Chunk", "ChunkResult", "ChunkSettings", "describe", "scan_chunk"]
