"""Asyncio TCP latency proxy on loopback.

Every byte crossing the proxy is held for half the round-trip time in each direction, so a
request/response exchange costs one RTT more than it would directly. Delivery stays in order
(a chunk is never released before the one ahead of it), as on a TCP connection.

A userland proxy cannot delay the TCP SYN/SYN-ACK, so with ``connect_rtt=True`` (the default)
the first chunk the client sends is held for one extra RTT: the client sees the same time to its
first answer as it would over a real TCP connection set-up. Keep-alive connections pass through
untouched (one upstream connection per client connection, both kept open until either side
closes). TCP_NODELAY is set on both sockets of every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DelaySpec = float | Callable[[], float]


def jittered_rtt(mean_ms: float, sd_ms: float, seed: int | None = None) -> Callable[[], float]:
    """An RTT drawn per chunk from a normal distribution (clipped at zero)."""
    rng = random.Random(seed)

    def draw() -> float:
        return max(0.0, rng.gauss(mean_ms, sd_ms))

    return draw


@dataclass
class ProxyStats:
    """Counters of one proxy; read them while it runs or after it stopped."""

    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"connections": self.connections, "bytes_up": self.bytes_up, "bytes_down": self.bytes_down}

    def add(self, *, connections: int = 0, up: int = 0, down: int = 0) -> None:
        with self._lock:
            self.connections += connections
            self.bytes_up += up
            self.bytes_down += down


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LatencyProxy:
    """Forward ``listen_host:listen_port`` to ``upstream`` adding ``rtt_ms`` (a number or a callable)."""

    def __init__(
        self,
        upstream: tuple[str, int],
        rtt_ms: DelaySpec = 0.0,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        connect_rtt: bool = True,
    ) -> None:
        self.upstream = upstream
        self.rtt_ms = rtt_ms
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.connect_rtt = connect_rtt
        self.stats = ProxyStats()
        self._server: asyncio.Server | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()

    def _one_way_s(self) -> float:
        rtt = self.rtt_ms() if callable(self.rtt_ms) else self.rtt_ms
        return max(0.0, rtt) / 2000.0

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) clients connect to."""
        return self.listen_host, self.listen_port

    async def start(self) -> None:
        """Start listening (the real port is in ``address`` afterwards)."""
        self._server = await asyncio.start_server(self._handle, self.listen_host, self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close the listener and every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for _ in range(5):
            pending = [t for t in self._conn_tasks if not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
            task.add_done_callback(self._conn_tasks.discard)
        try:
            await self._forward(client_r, client_w)
        except asyncio.CancelledError:
            client_w.close()  # the proxy is stopping; end quietly

    async def _forward(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.add(connections=1)
        _nodelay(client_w)
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        _nodelay(up_w)
        extra = 2 * self._one_way_s() if self.connect_rtt else 0.0
        tasks = [
            asyncio.create_task(self._pipe(client_r, up_w, upstream=True, first_extra_s=extra)),
            asyncio.create_task(self._pipe(up_r, client_w, upstream=False, first_extra_s=0.0)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for w in (client_w, up_w):
                w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool, first_extra_s: float
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self._send_due(queue, writer))
        last_due = 0.0
        extra = first_extra_s
        try:
            while True:
                data = await reader.read(65536)
                now = time.monotonic()
                if not data:
                    queue.put_nowait((max(now, last_due), b""))
                    break
                due = max(now + self._one_way_s() + extra, last_due)
                extra = 0.0
                last_due = due
                queue.put_nowait((due, data))
                if upstream:
                    self.stats.add(up=len(data))
                else:
                    self.stats.add(down=len(data))
        except (ConnectionError, OSError):
            queue.put_nowait((0.0, b""))
        except asyncio.CancelledError:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            raise
        await sender

    @staticmethod
    async def _send_due(queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return


class ThreadedProxy:
    """A LatencyProxy on its own event loop in a daemon thread, for synchronous callers.

    Use as a context manager; ``address`` and ``stats`` are valid inside the block.
    """

    def __init__(self, upstream: tuple[str, int], rtt_ms: DelaySpec = 0.0, listen_host: str = "127.0.0.1",
                 connect_rtt: bool = True) -> None:
        self.proxy = LatencyProxy(upstream, rtt_ms, listen_host, 0, connect_rtt)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.proxy.address

    @property
    def stats(self) -> ProxyStats:
        return self.proxy.stats

    def start(self) -> ThreadedProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(10)

        async def _cancel_all() -> None:
            current = asyncio.current_task()
            for _ in range(5):  # cancelling a connection may wake tasks it started; sweep until none is left
                pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
                if not pending:
                    return
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel_all(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ThreadedProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
