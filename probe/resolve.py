"""Name resolution behind one interface.

`SystemResolver` is for real use. Tests and the lab use `StaticResolver` (a map, as curl's
`--resolve` and `--connect-to`) or `DnsResolver` pointed at a DNS server on loopback, so that no
test ever asks the system resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from probe.errors import InputError
from probe.targets import split_host_port


class ResolutionError(Exception):
    """A name did not resolve; becomes an Observation with error kind `dns`."""


class Resolver(Protocol):
    async def resolve(self, host: str) -> list[str]:
        """Return the addresses of `host` (IPv4 first), or raise ResolutionError."""
        ...


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ipv4_first(addresses: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(addresses))
    return sorted(unique, key=lambda a: ":" in a)


class SystemResolver:
    """The operating system's resolver (getaddrinfo)."""

    async def resolve(self, host: str) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolutionError(f"{host}: {exc.strerror}") from exc
        return _ipv4_first(str(info[4][0]) for info in infos)


@dataclass
class StaticResolver:
    """A fixed map of names to addresses; unknown names fail (or go to `fallback`)."""

    names: dict[str, list[str]] = field(default_factory=dict)
    fallback: Resolver | None = None

    async def resolve(self, host: str) -> list[str]:
        found = self.names.get(host.lower().rstrip("."))
        if found:
            return list(found)
        if self.fallback is not None:
            return await self.fallback.resolve(host)
        raise ResolutionError(f"{host}: not in the static name map")


@dataclass
class DnsResolver:
    """Queries one DNS server (A and AAAA over UDP), e.g. a DNS server on loopback."""

    server: str
    port: int = 53
    timeout: float = 2.0

    async def _query(self, host: str, qtype: str) -> list[str]:
        from dnslib import QTYPE, DNSRecord  # only with --dns-server: kept off every scan's start-up

        loop = asyncio.get_running_loop()
        request = DNSRecord.question(host, qtype)
        request.header.id = random.randint(0, 0xFFFF)
        family = socket.AF_INET6 if ":" in self.server else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (self.server, self.port))
            await loop.sock_sendall(sock, request.pack())
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 4096), self.timeout)
            except (TimeoutError, ConnectionRefusedError) as exc:
                raise ResolutionError(f"{host}: DNS server {self.server}:{self.port} did not answer") from exc
        reply = DNSRecord.parse(data)
        if reply.header.id != request.header.id:
            raise ResolutionError(f"{host}: mismatched DNS reply")
        wanted = getattr(QTYPE, qtype)
        return [str(rr.rdata) for rr in reply.rr if rr.rtype == wanted]

    async def resolve(self, host: str) -> list[str]:
        v4, v6 = await asyncio.gather(self._query(host, "A"), self._query(host, "AAAA"))
        addresses = v4 + v6
        if not addresses:
            raise ResolutionError(f"{host}: no A or AAAA record")
        return addresses


@dataclass(frozen=True)
class Route:
    """Where to dial for a (host, port) pair: an address and a port."""

    address: str
    port: int


@dataclass
class Overrides:
    """curl's `--resolve HOST:PORT:ADDR` and `--connect-to HOST:PORT:ADDR:PORT2`."""

    resolve: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    connect_to: dict[tuple[str, int], Route] = field(default_factory=dict)

    @classmethod
    def parse(cls, resolve: Iterable[str] = (), connect_to: Iterable[str] = ()) -> Overrides:
        """Parse the flag values; raise InputError with a one-line reason on a malformed one."""
        overrides = cls()
        for item in resolve:
            host, port, addrs = _split_override(item, "--resolve", 3)
            addresses = [a.strip("[]") for a in addrs.split(",")]
            for address in addresses:
                if not is_ip(address):
                    raise InputError(f"--resolve {item!r}: {address!r} is not an IP address")
            overrides.resolve[(host.lower(), port)] = addresses
        for item in connect_to:
            host, port, rest = _split_override(item, "--connect-to", 4)
            if not (("]:" in rest) if rest.startswith("[") else rest.count(":") == 1):
                raise InputError(f"--connect-to {item!r}: expected HOST:PORT:ADDR:PORT2 (IPv6 ADDR in brackets)")
            try:
                address, port2 = split_host_port(rest)
            except ValueError as exc:
                raise InputError(f"--connect-to {item!r}: {exc}") from exc
            overrides.connect_to[(host.lower(), port)] = Route(address, port2)
        return overrides

    def route(self, host: str, port: int) -> Route | None:
        return self.connect_to.get((host.lower(), port))

    def addresses(self, host: str, port: int) -> list[str] | None:
        return self.resolve.get((host.lower(), port))


def _split_override(item: str, flag: str, parts: int) -> tuple[str, int, str]:
    # HOST:PORT:REST where HOST may be [v6]
    if item.startswith("["):
        end = item.find("]")
        host, remainder = item[1:end], item[end + 2 :]
    else:
        host, _, remainder = item.partition(":")
    port_text, _, rest = remainder.partition(":")
    if not host or not port_text.isdigit() or not rest:
        shape = "HOST:PORT:ADDR" if parts == 3 else "HOST:PORT:ADDR:PORT2"
        raise InputError(f"{flag} {item!r}: expected {shape}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise InputError(f"{flag} {item!r}: port {port} out of range")
    return host, port, rest
