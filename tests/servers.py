"""Small real servers on loopback for engine tests: TLS with a connection counter, and raw responders."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class Counter:
    total: int = 0
    open_now: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            self.total += 1
            self.open_now += 1
            self.peak = max(self.peak, self.open_now)

    def leave(self) -> None:
        with self.lock:
            self.open_now -= 1


@dataclass
class Server:
    address: str
    port: int
    counter: Counter


@contextmanager
def serve(address: str, handler: Callable[[socket.socket], None]) -> Iterator[Server]:
    """Accept on (address, free port) and run `handler` per connection in a thread."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, 0))
    listener.listen(128)
    listener.settimeout(0.2)
    counter = Counter()
    stop = threading.Event()
    clients: list[socket.socket] = []

    def run(conn: socket.socket) -> None:
        counter.enter()
        try:
            handler(conn)
        except OSError:
            pass
        finally:
            counter.leave()
            conn.close()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            clients.append(conn)
            threading.Thread(target=run, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield Server(address, listener.getsockname()[1], counter)
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in clients:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def tls_handler(context: ssl.SSLContext, hold: float = 0.0, delay: float = 0.0) -> Callable[[socket.socket], None]:
    """TLS then a minimal HTTP answer; `delay` waits before the handshake (a slow server)."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        if delay:
            threading.Event().wait(delay)
        tls = context.wrap_socket(conn, server_side=True)
        if hold:
            threading.Event().wait(hold)
        try:
            tls.recv(1024)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        finally:
            tls.close()

    return handle


def tarpit(conn: socket.socket) -> None:
    conn.settimeout(30)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def reply_then_close(data: bytes, *, first: bool = False) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        if not first:
            conn.recv(4096)
        conn.sendall(data)

    return handle


def reset_after_hello(conn: socket.socket) -> None:
    conn.settimeout(5)
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def close_at_once(conn: socket.socket) -> None:
    conn.close()


@dataclass
class ProcessServer:
    """A server running in a forked process; counters live in shared memory."""

    address: str
    port: int
    _total: object
    _peak: object

    @property
    def total(self) -> int:
        return int(self._total.value)  # type: ignore[attr-defined]

    @property
    def peak(self) -> int:
        return int(self._peak.value)  # type: ignore[attr-defined]


@contextmanager
def serve_in_process(address: str, handler: Callable[[socket.socket], None]) -> Iterator[ProcessServer]:
    """Like `serve`, in its own process, so the scanner's threads cannot delay the server's bookkeeping."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    total, peak, open_now = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, 0))
    listener.listen(128)

    def run(conn: socket.socket) -> None:
        try:
            handler(conn)
        except OSError:
            pass
        finally:
            conn.close()
            with open_now.get_lock():
                open_now.value -= 1

    def main() -> None:
        while True:
            conn, _ = listener.accept()
            with open_now.get_lock():  # counted at accept, before any thread scheduling
                open_now.value += 1
                total.value += 1
                peak.value = max(peak.value, open_now.value)
            threading.Thread(target=run, args=(conn,), daemon=True).start()

    process = ctx.Process(target=main, daemon=True)
    process.start()
    try:
        yield ProcessServer(address, listener.getsockname()[1], total, peak)
    finally:
        process.kill()
        process.join()
        listener.close()


class EstablishedSampler:
    """Samples the kernel's TCP table for ESTABLISHED connections to (address, port).

    The kernel moves a server-side socket out of ESTABLISHED the moment the client's FIN arrives,
    so this never counts a connection the client already closed (unlike server-side bookkeeping,
    which lags behind thread scheduling). One read of the table is not atomic (a connection may
    close and another open while it is read), so a connection counts only when two consecutive
    reads both hold it: it was then open at the instant between them. Sampling can miss a short
    peak, never invent one.
    """

    def __init__(self, address: str, port: int, interval: float = 0.0005) -> None:
        import ipaddress

        self._packed = ipaddress.ip_address(address).packed
        self._family = socket.AF_INET if len(self._packed) == 4 else socket.AF_INET6
        self._port = port
        self.interval = interval
        self.peak = 0
        self.samples = 0

    def established(self) -> set[str]:
        """Remote endpoints of the ESTABLISHED connections to the server, from one netlink dump.

        sock_diag filters by state in the kernel, so the dump stays small and fast even when the
        machine holds thousands of TIME_WAIT sockets (reading /proc/net/tcp then takes ~30 ms).
        """
        found: set[str] = set()
        sockid = b"\x00" * 48  # sport, dport, src, dst, interface, cookie: unused with a state filter
        request = struct.pack("=BBBBI", self._family, socket.IPPROTO_TCP, 0, 0, 1 << 1) + sockid
        header = struct.pack("=IHHII", 16 + len(request), 20, 0x301, 1, 0)  # SOCK_DIAG_BY_FAMILY, DUMP
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as nl:  # NETLINK_SOCK_DIAG
            nl.send(header + request)
            while True:
                data = nl.recv(65536)
                offset = 0
                while offset < len(data):
                    length, kind = struct.unpack_from("=IH", data, offset)
                    if kind in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                        return found
                    body = offset + 16
                    sport, dport = struct.unpack_from(">HH", data, body + 4)
                    src = data[body + 8 : body + 8 + len(self._packed)]
                    dst = data[body + 24 : body + 24 + len(self._packed)]
                    if sport == self._port and src == self._packed:
                        found.add(f"{dst.hex()}:{dport}")
                    offset += (length + 3) & ~3

    def _run(self, peak: object, samples: object, stop: object) -> None:
        previous: set[str] = set()
        while not stop.is_set():  # type: ignore[attr-defined]
            current = self.established()
            peak.value = max(peak.value, len(previous & current))  # type: ignore[attr-defined]
            samples.value += 1  # type: ignore[attr-defined]
            previous = current
            time.sleep(self.interval)

    def __enter__(self) -> EstablishedSampler:
        # its own process: the scanner's threads hold the GIL, a thread here would sample too rarely
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._peak, self._samples, self._stop_event = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Event()
        self._process = ctx.Process(target=self._run, args=(self._peak, self._samples, self._stop_event), daemon=True)
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self._process.join(5)
        self.peak = int(self._peak.value)
        self.samples = int(self._samples.value)
