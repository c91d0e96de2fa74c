"""The engine against real servers on loopback: errors are values, limits hold, every target is accounted for."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import trustme

from probe.models import ErrorKind, Observation, Target
from probe.resolve import StaticResolver
from probe.scan.engine import Engine, Limits
from probe.scan.settings import ScanSettings
from probe.scan.sslyze_adapter import SslyzeScanner
from tests.servers import (
    EstablishedSampler,
    close_at_once,
    reply_then_close,
    reset_after_hello,
    serve,
    serve_in_process,
    tarpit,
    tls_handler,
)


def scan(targets: list[Target], limits: Limits, ca: Path | None = None, **kw: object) -> list[Observation]:
    settings = ScanSettings(timeout=limits.timeout, per_host=limits.per_host, ca_file=ca, **kw)  # type: ignore[arg-type]
    engine = Engine(lambda gate: SslyzeScanner(gate, settings), StaticResolver({}), limits=limits)

    async def run() -> list[Observation]:
        return [o async for o in engine.run(targets)]

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (reply_then_close(b"HTTP/1.1 400 Bad Request\r\n\r\n"), ErrorKind.NOT_TLS),
        (reply_then_close(b"SSH-2.0-OpenSSH_9.6\r\n", first=True), ErrorKind.NOT_TLS),
        (reply_then_close(b"\x15\x03\x03\x00\x02\x02\x70"), ErrorKind.TLS_ALERT),
        (reset_after_hello, ErrorKind.RESET),
        (close_at_once, ErrorKind.CLOSED),
    ],
    ids=["http", "ssh", "alert-unrecognized-name", "reset", "closed"],
)
def test_misbehaving_servers_become_errored_observations(handler, kind: ErrorKind) -> None:  # type: ignore[no-untyped-def]
    with serve("127.0.30.1", handler) as server:
        [obs] = scan([Target(host=server.address, port=server.port)], Limits(timeout=2, deadline=20))
    assert obs.status == "error"
    assert obs.error is not None and obs.error.kind == kind, obs.error
    assert obs.connections >= 1
    if kind == ErrorKind.TLS_ALERT:
        assert "SNI" in obs.error.message


def test_refused_and_unresolvable_are_accounted_for() -> None:
    targets = [Target(host="127.0.30.2", port=1), Target(host="nowhere.invalid", port=443)]
    observations = scan(targets, Limits(timeout=2, deadline=10))
    kinds = {o.target.host: o.error.kind for o in observations if o.error}
    assert kinds == {"127.0.30.2": ErrorKind.REFUSED, "nowhere.invalid": ErrorKind.DNS}


def test_tarpit_ends_as_timeout_within_its_deadline() -> None:
    with serve("127.0.30.3", tarpit) as server:
        started = time.monotonic()
        [obs] = scan([Target(host=server.address, port=server.port)], Limits(timeout=1, deadline=3))
        elapsed = time.monotonic() - started
    assert obs.error is not None and obs.error.kind == ErrorKind.TIMEOUT
    assert elapsed < 3 + 10  # generous margin: the deadline is enforced, not how fast


def test_max_duration_accounts_for_every_target() -> None:
    with serve("127.0.30.4", tarpit) as server:
        targets = [Target(host=server.address, port=server.port, sni=f"n{i}.test") for i in range(6)]
        observations = scan(targets, Limits(concurrency=2, timeout=1, deadline=30, max_duration=2))
    assert len(observations) == 6
    assert all(o.status == "error" and o.error and o.error.kind == ErrorKind.TIMEOUT for o in observations)


def test_tls_server_is_scanned_and_per_host_limit_holds(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("engine.lab.test")
    context = __import__("ssl").SSLContext(__import__("ssl").PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with serve_in_process("127.0.30.5", tls_handler(context, delay=0.01)) as server:
        targets = [Target(host="engine.lab.test", port=server.port, ip=server.address)]
        with EstablishedSampler(server.address, server.port) as sampler:
            [obs] = scan(targets, Limits(per_host=2, timeout=3, deadline=60), ca=ca_file)
        peak, total = sampler.peak, server.total
    assert obs.status == "ok", obs.error
    assert obs.tls_versions["TLSv1.2"] and obs.tls_versions["TLSv1.3"] and not obs.tls_versions["TLSv1.0"]
    assert "TLS_AES_256_GCM_SHA384" in obs.cipher_suites["TLSv1.3"]
    assert obs.certificates and obs.certificates[0].hostname_match
    assert peak <= 2, f"server saw {peak} simultaneous connections with --per-host 2"
    assert peak >= 1, "the sampler saw the scan's connections at all"
    assert obs.connections == total, "every connection the server saw is counted, and no other"
