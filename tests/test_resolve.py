import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from dnslib import AAAA, QTYPE, RR, A, DNSRecord

from probe.errors import InputError
from probe.resolve import DnsResolver, Overrides, ResolutionError, Route, StaticResolver


@pytest.fixture
def dns_server() -> Iterator[tuple[str, int]]:
    """A real DNS server on loopback answering from a small zone."""
    zone = {"multi.lab.test.": ["127.0.20.1", "127.0.20.2"], "v6.lab.test.": ["::1"]}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.53", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            request = DNSRecord.parse(data)
            reply = request.reply()
            name, qtype = str(request.q.qname), QTYPE[request.q.qtype]
            for address in zone.get(name, []):
                if qtype == "A" and ":" not in address:
                    reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=60))
                if qtype == "AAAA" and ":" in address:
                    reply.add_answer(RR(name, QTYPE.AAAA, rdata=AAAA(address), ttl=60))
            sock.sendto(reply.pack(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stop.set()
        thread.join()
        sock.close()


def test_dns_resolver_against_loopback_server(dns_server: tuple[str, int]) -> None:
    resolver = DnsResolver(*dns_server)
    assert asyncio.run(resolver.resolve("multi.lab.test")) == ["127.0.20.1", "127.0.20.2"]
    assert asyncio.run(resolver.resolve("v6.lab.test")) == ["::1"]
    with pytest.raises(ResolutionError, match="no A or AAAA"):
        asyncio.run(resolver.resolve("missing.lab.test"))


def test_dns_resolver_without_server_fails_as_resolution_error() -> None:
    resolver = DnsResolver("127.0.0.54", 9, timeout=0.5)
    with pytest.raises(ResolutionError):
        asyncio.run(resolver.resolve("x.test"))


def test_static_resolver_is_case_insensitive_and_strict() -> None:
    resolver = StaticResolver({"api.lab.test": ["127.0.0.9"]})
    assert asyncio.run(resolver.resolve("API.lab.test.")) == ["127.0.0.9"]
    with pytest.raises(ResolutionError, match="not in the static name map"):
        asyncio.run(resolver.resolve("other.test"))


def test_overrides_parse_curl_forms() -> None:
    overrides = Overrides.parse(["a.test:443:127.0.0.9,127.0.0.10", "[::1]:8443:::1"], ["b.test:443:127.0.0.11:9443"])
    assert overrides.addresses("A.test", 443) == ["127.0.0.9", "127.0.0.10"]
    assert overrides.addresses("a.test", 444) is None
    assert overrides.route("b.test", 443) == Route("127.0.0.11", 9443)


@pytest.mark.parametrize(
    ("resolve", "connect_to", "message"),
    [
        (["a.test:443"], [], "expected HOST:PORT:ADDR"),
        (["a.test:x:1.2.3.4"], [], "expected HOST:PORT:ADDR"),
        (["a.test:443:not-an-ip"], [], "not an IP address"),
        ([], ["b.test:443:127.0.0.1:99999"], "out of range"),
        ([], ["b.test:70000:127.0.0.1:1"], "out of range"),
    ],
)
def test_overrides_reject_malformed(resolve: list[str], connect_to: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Overrides.parse(resolve, connect_to)
