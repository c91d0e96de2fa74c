"""A real Dask cluster on loopback for the cluster tests: `dask scheduler` and `dask worker` processes, started
as an operator would, and servers that kill the process scanning them (a worker dying mid-chunk)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASK = str(Path(sys.executable).with_name("dask"))


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DaskProcesses:
    """A scheduler and its workers, each `dask worker` with a nanny (which restarts a killed worker)."""

    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)

    def start_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        command = [DASK, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                   "--death-timeout", "60", *self.extra]
        process = subprocess.Popen(command, env={**os.environ, **self.env, **(env or {})}, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def client(self, **kwargs: Any) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False, **kwargs)

    def wait_for_workers(self, count: int, timeout: float = 60, **kwargs: Any) -> list[str]:
        """Wait until exactly `count` workers are connected (a killed worker's replacement included)."""
        with self.client(**kwargs) as client:
            deadline = time.monotonic() + timeout
            while True:
                workers = sorted(client.scheduler_info()["workers"])
                if len(workers) == count:
                    return workers
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(workers)} workers, not {count}")
                time.sleep(0.1)

    def worker_pids(self, **kwargs: Any) -> dict[str, int]:
        with self.client(**kwargs) as client:
            pids: dict[str, int] = client.run(os.getpid)
            return pids

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.processes)):
            self.stop(process)


@contextlib.contextmanager
def dask_processes(workers: int = 2, *, allowed_failures: int = 1, tls: dict[str, str] | None = None,
                   **wait_kwargs: Any) -> Iterator[DaskProcesses]:
    """`dask scheduler` on 127.0.0.1 and `workers` x `dask worker --nthreads 1`, stopped afterwards. A task may
    lose `allowed_failures` workers before it ends as KilledWorker (Dask's default is 3)."""
    port = free_port()
    scheme = "tls" if tls else "tcp"
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
    extra = [f"--{flag}={path}" for flag, path in (tls or {}).items()]
    cluster = DaskProcesses(f"{scheme}://127.0.0.1:{port}", env=env, extra=extra)
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
         *(["--protocol", "tls"] if tls else []), *extra],
        env={**os.environ, **env}, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    cluster.processes.append(scheduler)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if scheduler.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dask scheduler did not start") from None
                time.sleep(0.1)
        for _ in range(workers):
            cluster.start_worker()
        cluster.wait_for_workers(workers, **wait_kwargs)
        yield cluster
    finally:
        cluster.stop_all()


def scanning_pid(conn: socket.socket) -> int | None:
    """The process on this machine that opened the client side of `conn` (root sees every process)."""
    import psutil

    peer = conn.getpeername()[:2]
    for found in psutil.net_connections(kind="tcp"):
        if found.laddr and tuple(found.laddr)[:2] == tuple(peer) and found.pid:
            return int(found.pid)
    return None


def killing_handler(kills: Any, spare: int, then: Callable[[socket.socket], None],
                    times: int = 1_000_000) -> Callable[[socket.socket], None]:
    """A server's handler that SIGKILLs the process scanning it (at most `times` times; never `spare`, the test
    process itself), then serves the next connections with `then`. `kills` is a shared counter."""

    def handle(conn: socket.socket) -> None:
        with kills.get_lock():
            pid = scanning_pid(conn) if kills.value < times else None
            if pid is not None and pid != spare:
                kills.value += 1
                os.kill(pid, signal.SIGKILL)
                conn.close()
                return
        then(conn)

    return handle
