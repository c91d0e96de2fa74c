"""Where each target goes: resolved on the client, pinned to one address, assigned to a stream by that address.

Politeness across the cluster rests on streams: a target's stream is `crc32(ip) mod S`, and the client keeps
at most one chunk per stream in flight, so every connection to one address comes from one worker's engine at a
time, under that engine's `--per-host` gate, however many workers run. Streams buffer at most one chunk's worth
of targets each, so the client holds at most `S x chunk_size` targets however long the target list is.

Nothing here imports Dask.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field

from probe.models import ErrorKind, Observation, Target
from probe.resolve import Overrides, ResolutionError, Resolver, is_ip


def stream_of(ip: str, streams: int) -> int:
    """The stream of an address: stable across runs and processes (not Python's salted hash)."""
    return zlib.crc32(ip.encode("utf-8")) % streams


async def _addresses(target: Target, resolver: Resolver, overrides: Overrides) -> tuple[list[str], int | None]:
    """Addresses to dial for `target` and the port override, as the engine decides them (--connect-to,
    a target's own ip, --resolve, an IP literal, else the resolver)."""
    route = overrides.route(target.host, target.port)
    if route is not None:
        if is_ip(route.address):
            return [route.address], route.port
        return await resolver.resolve(route.address), route.port
    if target.ip:
        return [target.ip], target.connect_port
    pinned = overrides.addresses(target.host, target.port)
    if pinned:
        return pinned, target.connect_port
    if is_ip(target.host):
        return [target.host], target.connect_port
    return await resolver.resolve(target.host), target.connect_port


async def pin(
    target: Target, resolver: Resolver, overrides: Overrides, *, all_ips: bool, timeout: float
) -> list[Target] | Observation:
    """The target pinned to its address (each address with `all_ips`), or its `dns` error observation."""
    from probe.scan.engine import errored

    if target.sni is None and not is_ip(target.host):
        target = target.model_copy(update={"sni": target.host})
    try:
        addresses, port = await asyncio.wait_for(_addresses(target, resolver, overrides), timeout)
    except ResolutionError as exc:
        return errored(target, ErrorKind.DNS, str(exc))
    except TimeoutError:
        return errored(target, ErrorKind.DNS, f"{target.host}: resolution timed out")
    if not addresses:
        return errored(target, ErrorKind.DNS, f"{target.host}: no address")
    if not all_ips:
        addresses = addresses[:1]
    return [target.model_copy(update={"ip": address, "connect_port": port}) for address in addresses]


@dataclass
class Stream:
    """Targets waiting for one stream's next chunk, and whether a chunk of it is in flight."""

    index: int
    buffer: list[Target] = field(default_factory=list)
    since: float = 0.0  # when the oldest buffered target arrived
    busy: bool = False  # a chunk of this stream is in flight


class Streams:
    """S streams of at most `chunk_size` buffered targets each."""

    def __init__(self, count: int, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self.all = [Stream(i) for i in range(count)]
        self.buffered = 0

    def of(self, target: Target) -> Stream:
        return self.all[stream_of(target.ip or target.host, len(self.all))]

    def has_room(self, stream: Stream) -> bool:
        return len(stream.buffer) < self.chunk_size

    def add(self, stream: Stream, target: Target, now: float) -> None:
        if not stream.buffer:
            stream.since = now
        stream.buffer.append(target)
        self.buffered += 1

    def pick(self, now: float, *, linger: float, flush: bool) -> Stream | None:
        """The stream whose chunk goes next: none in flight, something buffered, and either a full chunk, or
        `flush` (no more targets are coming soon), or its oldest target waited `linger` seconds. Fullest first."""
        best: Stream | None = None
        for stream in self.all:
            size = len(stream.buffer)
            if stream.busy or not size:
                continue
            if size < self.chunk_size and not flush and now - stream.since < linger:
                continue
            if best is None or size > len(best.buffer):
                best = stream
                if size >= self.chunk_size:
                    break
        return best

    def take(self, stream: Stream) -> list[Target]:
        taken, stream.buffer = stream.buffer, []
        self.buffered -= len(taken)
        return taken

    def drain(self) -> list[Target]:
        """Every buffered target (the run is over: they are reported, not sent)."""
        left: list[Target] = []
        for stream in self.all:
            left += self.take(stream)
        return left


__all__ = ["Stream", "Streams", "pin", "stream_of"]
