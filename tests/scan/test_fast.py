"""The fast back-end against sslyze on every lab endpoint: same suites and groups, far fewer connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from probe.lab.manager import LabState, running_lab
from probe.models import ErrorKind, Observation, Target
from probe.resolve import StaticResolver
from probe.scan.engine import BackendFactory, Engine, Limits
from probe.scan.fast import FastScanner
from probe.scan.settings import ScanSettings
from probe.scan.sslyze_adapter import SslyzeScanner
from tests.servers import EstablishedSampler, serve_in_process, tls_handler

LIMITS = Limits(concurrency=6, per_host=5, timeout=2, deadline=60)


def scan(factory: BackendFactory, targets: list[Target], limits: Limits = LIMITS) -> dict[str, Observation]:
    engine = Engine(factory, StaticResolver({}), limits=limits)

    async def run() -> list[Observation]:
        return [o async for o in engine.run(targets)]

    return {o.target.host.split(".")[0]: o for o in asyncio.run(run())}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab")) as state:
        yield state


@pytest.fixture(scope="module")
def both(lab: LabState) -> tuple[dict[str, Observation], dict[str, Observation]]:
    settings = ScanSettings(timeout=LIMITS.timeout, per_host=LIMITS.per_host, ca_file=Path(lab.ca_file))
    targets = [Target(host=e.host, port=e.port, ip=e.address) for e in lab.endpoints]
    fast = scan(lambda gate: FastScanner(gate, settings), targets)
    slow = scan(lambda gate: SslyzeScanner(gate, settings), targets)
    return fast, slow


def test_every_endpoint_gets_the_same_suites_and_groups_from_both_engines(
    lab: LabState, both: tuple[dict[str, Observation], dict[str, Observation]]
) -> None:
    fast, slow = both
    assert sorted(fast) == sorted(slow) == sorted(e.name for e in lab.endpoints)
    compared = 0
    for name in fast:
        f, s = fast[name], slow[name]
        assert f.engine == "fast" and s.engine == "sslyze"
        assert f.status == s.status, (name, f.error, s.error)
        if f.status == "error":
            assert f.error is not None and s.error is not None and f.error.kind == s.error.kind, name
            continue
        assert f.tls_versions == s.tls_versions, name
        assert {v: set(n) for v, n in f.cipher_suites.items()} == {v: set(n) for v, n in s.cipher_suites.items()}, name
        # sslyze (nassl's OpenSSL 1.1.1) sees no post-quantum group: both engines take them from tlsprobe's raw hellos
        assert set(f.key_exchange_groups) == set(s.key_exchange_groups), name
        assert f.pq == s.pq, name
        assert f.dh_bits == s.dh_bits, name
        assert f.cipher_preference == s.cipher_preference, name
        assert f.client_auth == s.client_auth, name
        assert [c.fingerprint_sha256 for c in f.certificates] == [c.fingerprint_sha256 for c in s.certificates], name
        assert f.vulnerabilities == s.vulnerabilities, name
        compared += 1
    assert compared >= 15


def test_suites_match_the_servers_own_configuration(
    lab: LabState, both: tuple[dict[str, Observation], dict[str, Observation]]
) -> None:
    fast, _ = both
    for endpoint in lab.endpoints:
        if endpoint.truth is None:
            continue
        observed = fast[endpoint.name]
        assert observed.tls_versions == endpoint.truth.tls_versions, endpoint.name
        expected = {v: set(n) for v, n in endpoint.truth.cipher_suites.items() if n}
        assert {v: set(n) for v, n in observed.cipher_suites.items()} == expected, endpoint.name
        assert set(observed.key_exchange_groups) == set(endpoint.truth.key_exchange_groups), endpoint.name


def test_fast_engine_opens_far_fewer_connections(both: tuple[dict[str, Observation], dict[str, Observation]]) -> None:
    fast, slow = both
    for name, observed in fast.items():
        if observed.status == "ok":
            assert 0 < observed.connections < slow[name].connections, name
    # elimination, not one handshake per suite: a plain endpoint costs a small fraction of sslyze's count
    assert fast["compliant"].connections * 5 < slow["compliant"].connections
    assert fast["legacy"].connections * 5 < slow["legacy"].connections


def test_preference_is_reported_both_ways(both: tuple[dict[str, Observation], dict[str, Observation]]) -> None:
    fast, _ = both
    assert fast["client-pref"].cipher_preference == "client"
    assert fast["legacy"].cipher_preference == "server"


def test_a_server_that_resets_long_hellos_falls_back_to_sslyze_and_says_so(
    both: tuple[dict[str, Observation], dict[str, Observation]],
) -> None:
    fast, _ = both
    limited = fast["hello-limit"]
    assert any(n.startswith("TLSv1.2:") and "per-suite test" in n for n in limited.notes), limited.notes
    assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in limited.cipher_suites["TLSv1.2"]
    plain = [o for name, o in fast.items() if name != "hello-limit" and o.status == "ok"]
    assert plain and not any("per-suite test" in n for o in plain for n in o.notes)


def test_per_host_limit_holds_and_every_connection_is_counted(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("fast.lab.test").configure_cert(context)
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    settings = ScanSettings(timeout=3, per_host=2, ca_file=ca_file)
    with serve_in_process("127.0.36.5", tls_handler(context, delay=0.01)) as server:
        target = Target(host="fast.lab.test", port=server.port, ip=server.address)
        with EstablishedSampler(server.address, server.port) as sampler:
            observed = scan(
                lambda gate: FastScanner(gate, settings), [target], Limits(per_host=2, timeout=3, deadline=60)
            )["fast"]
        peak, total = sampler.peak, server.total
    assert observed.status == "ok", observed.error
    assert len(observed.cipher_suites["TLSv1.2"]) >= 6  # several chains ran: enough work to overlap
    assert peak <= 2, f"server saw {peak} simultaneous connections with --per-host 2"
    assert peak >= 1
    assert observed.connections == total, "every connection the server saw is counted, and no other"


def test_sweep_pulls_targets_lazily_and_accounts_for_each() -> None:
    concurrency, count = 3, 400
    pulled = 0

    def targets() -> Iterator[Target]:
        nonlocal pulled
        for i in range(count):
            pulled += 1
            yield Target(host=f"127.0.37.{1 + i % 200}", port=1 + i % 3)  # closed ports: refused at once

    settings = ScanSettings(timeout=1, per_host=2)
    engine = Engine(
        lambda gate: FastScanner(gate, settings),
        StaticResolver({}),
        limits=Limits(concurrency=concurrency, per_host=2, timeout=1, deadline=10),
    )
    leads: list[int] = []

    async def run() -> list[Observation]:
        done = []
        async for observation in engine.run(targets()):
            done.append(observation)
            leads.append(pulled - len(done))
        return done

    observations = asyncio.run(run())
    assert len(observations) == count
    assert all(o.status == "error" and o.error and o.error.kind == ErrorKind.REFUSED for o in observations)
    assert all(o.engine == "fast" and o.connections == 1 for o in observations)
    # bounded by the engine's queues (2x concurrency in, 4x out) and workers, never by the sweep's size
    assert max(leads) <= 7 * concurrency + 1, max(leads)
    assert leads[0] < count // 4
