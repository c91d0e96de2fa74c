"""Post-quantum key exchange against real servers: Node.js (OpenSSL 3.5) lab endpoints and the PQ fake.

Supported, negotiated and HRR upgrade are exactly the ground truth each endpoint was measured (Node) or configured
(fake, Python's OpenSSL 3.0) to give; the elimination costs k+1 connections, all counted by the gate; a malformed
share draws illegal_parameter from OpenSSL 3.5 while a valid one is accepted; a server that chokes on empty shares
is retried with valid ones; a TLS-1.2-only endpoint has no `pq` block and fails pq-ready."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.manager import LabState, running_lab
from probe.models import Observation, Target
from probe.report import validate_document
from probe.resolve import StaticResolver
from probe.scan import mlkem
from probe.scan.engine import Engine, Limits
from probe.scan.fast import FastScanner
from probe.scan.fast.pq import Kind, PqProber, client_hello, probe_pq, read_answer
from probe.scan.limits import ConnectionGate, EndpointBudget
from probe.scan.settings import ScanSettings

PQ_NAMES = ["pq-default", "pq-hrr", "pq-one-tuple", "pq-nist", "pq-classical", "pq-kyber-draft", "pq-empty-share"]
NAMES = [*PQ_NAMES, "weak-dh", "compliant"]
LIMITS = Limits(concurrency=9, per_host=5, timeout=3, deadline=60)
# PQ connections: the elimination (k supported groups: k+1), the browser-like hello, the HRR probe (only when
# X25519MLKEM768 is supported); the empty-share fake costs one more (its inconclusive first answer).
PQ_CONNECTIONS = {"pq-default": 4, "pq-hrr": 4, "pq-one-tuple": 4, "pq-nist": 4, "pq-classical": 2,
                  "pq-kyber-draft": 3, "pq-empty-share": 5, "compliant": 2}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab"), names=NAMES) as state:
        yield state


@pytest.fixture(scope="module")
def scanned(lab: LabState) -> dict[str, Observation]:
    settings = ScanSettings(timeout=LIMITS.timeout, per_host=LIMITS.per_host, ca_file=Path(lab.ca_file))
    engine = Engine(lambda gate: FastScanner(gate, settings), StaticResolver({}), limits=LIMITS)
    targets = [Target(host=e.host, port=e.port, ip=e.address) for e in lab.endpoints]

    async def run() -> list[Observation]:
        return [o async for o in engine.run(targets)]

    return {o.target.host.split(".")[0]: o for o in asyncio.run(run())}


def test_supported_negotiated_and_hrr_upgrade_are_the_ground_truth(lab: LabState,
                                                                     scanned: dict[str, Observation]) -> None:
    for endpoint in lab.endpoints:
        assert endpoint.truth is not None
        observed = scanned[endpoint.name]
        assert observed.status == "ok", (endpoint.name, observed.error)
        truth, seen = endpoint.truth.pq, observed.pq
        if truth is None:
            assert seen is None, endpoint.name
            continue
        assert seen is not None, endpoint.name
        assert set(seen.supported) == set(truth.supported), endpoint.name
        assert (seen.negotiated, seen.hrr_upgrade, seen.undecided) == (truth.negotiated, truth.hrr_upgrade, ()), (
            endpoint.name)
        assert set(observed.key_exchange_groups) == set(endpoint.truth.key_exchange_groups), endpoint.name


def test_the_sslyze_engine_adds_the_same_pq_block(lab: LabState) -> None:
    """sslyze (nassl's OpenSSL 1.1.1) sees no post-quantum group: its engine runs tlsprobe's raw hellos too."""
    from probe.scan.sslyze_adapter import SslyzeScanner

    settings = ScanSettings(timeout=LIMITS.timeout, per_host=LIMITS.per_host, ca_file=Path(lab.ca_file))
    engine = Engine(lambda gate: SslyzeScanner(gate, settings), StaticResolver({}), limits=LIMITS)
    wanted = [e for e in lab.endpoints if e.name in ("pq-default", "pq-nist")]

    async def run() -> list[Observation]:
        return [o async for o in engine.run([Target(host=e.host, port=e.port, ip=e.address) for e in wanted])]

    for observed in asyncio.run(run()):
        truth = next(e.truth for e in wanted if e.host == observed.target.host)
        assert truth is not None and truth.pq is not None and observed.pq is not None, observed.error
        assert set(observed.pq.supported) == set(truth.pq.supported), observed.target.host
        assert observed.pq.negotiated == truth.pq.negotiated
        assert set(truth.pq.supported) <= set(observed.key_exchange_groups)


def test_the_lab_covers_every_answer(lab: LabState) -> None:
    pq = {e.name: e.truth.pq for e in lab.endpoints if e.truth is not None}
    assert pq["weak-dh"] is None  # TLS 1.2 only
    assert pq["pq-default"] is not None and pq["pq-default"].hrr_upgrade is True
    assert pq["pq-hrr"] is not None and pq["pq-hrr"].hrr_upgrade is True
    assert pq["pq-one-tuple"] is not None and pq["pq-one-tuple"].hrr_upgrade is False
    assert pq["pq-nist"] is not None and pq["pq-nist"].negotiated == "X25519"
    assert set(pq["pq-nist"].supported) == {"SecP256r1MLKEM768", "SecP384r1MLKEM1024"}
    assert pq["pq-classical"] is not None and pq["pq-classical"].supported == ()
    assert pq["pq-kyber-draft"] is not None and pq["pq-kyber-draft"].supported == ("X25519Kyber768Draft00",)


def test_every_pq_probe_is_counted_by_the_gate(lab: LabState) -> None:
    for endpoint in lab.endpoints:
        if endpoint.name not in PQ_CONNECTIONS:
            continue
        gate = ConnectionGate(per_host=2, rate=None, timeout=3)
        budget = EndpointBudget(deadline_at=time.monotonic() + 30)
        gate.register(endpoint.address, endpoint.port, budget)
        try:
            pq, _ = probe_pq(gate, endpoint.address, endpoint.port, endpoint.host, 3)
        finally:
            gate.unregister(endpoint.address, endpoint.port, budget)
        assert endpoint.truth is not None and endpoint.truth.pq is not None
        assert set(pq.supported) == set(endpoint.truth.pq.supported), endpoint.name
        assert budget.connections == PQ_CONNECTIONS[endpoint.name], endpoint.name
        assert budget.open_now == 0, endpoint.name
        k = len(pq.supported)
        extra = 1 if endpoint.name == "pq-empty-share" else 0
        upgrade = 1 if "X25519MLKEM768" in pq.supported else 0
        assert budget.connections == (k + 1) + extra + 1 + upgrade, endpoint.name  # k+1, not seven


def _first_answer(endpoint: Any, groups: list[int], shares: dict[int, bytes]) -> Any:
    with socket.create_connection((endpoint.address, endpoint.port), timeout=3) as sock:
        sock.sendall(client_hello(endpoint.host, groups, shares))
        return read_answer(sock)


def test_openssl_35_refuses_a_malformed_share_and_accepts_a_valid_one(lab: LabState) -> None:
    node = lab.endpoint("pq-default")
    hybrid = mlkem.X25519_MLKEM768
    malformed = _first_answer(node, [hybrid], {hybrid: mlkem.random_share(hybrid)})
    assert (malformed.kind, malformed.alert) == (Kind.ALERT, 47)  # illegal_parameter, never "not supported"
    valid = _first_answer(node, [hybrid], {hybrid: mlkem.key_share(hybrid)})
    assert (valid.kind, valid.group) == (Kind.SERVER_HELLO, hybrid)
    nist = lab.endpoint("pq-nist")
    for group in (mlkem.SECP256R1_MLKEM768, mlkem.SECP384R1_MLKEM1024):
        answer = _first_answer(nist, [group], {group: mlkem.key_share(group)})
        assert (answer.kind, answer.group) == (Kind.SERVER_HELLO, group)
        swapped = mlkem.key_share(group)
        point = 65 if group == mlkem.SECP256R1_MLKEM768 else 97
        answer = _first_answer(nist, [group], {group: swapped[point:] + swapped[:point]})  # halves swapped
        assert (answer.kind, answer.alert) == (Kind.ALERT, 47)


def test_a_server_that_rejects_empty_shares_is_retried_with_valid_ones(lab: LabState) -> None:
    fake = lab.endpoint("pq-empty-share")
    hybrid = mlkem.X25519_MLKEM768
    empty = _first_answer(fake, [hybrid], {})
    assert (empty.kind, empty.alert) == (Kind.ALERT, 50)  # decode_error: inconclusive
    malformed = _first_answer(fake, [hybrid], {hybrid: mlkem.random_share(hybrid)})
    assert (malformed.kind, malformed.alert) == (Kind.ALERT, 47)
    answers: list[str] = []

    def send(hello: bytes) -> Any:
        with socket.create_connection((fake.address, fake.port), timeout=3) as sock:
            sock.sendall(hello)
            answer = read_answer(sock)
        answers.append(answer.describe())
        return answer

    prober = PqProber(send, fake.host)
    assert prober.eliminate() == (["X25519MLKEM768"], [])
    assert answers == ["alert decode_error", "server_hello X25519MLKEM768", "alert handshake_failure"]
    kyber = lab.endpoint("pq-kyber-draft")
    draft = mlkem.X25519_KYBER768_DRAFT00
    assert _first_answer(kyber, [draft], {}).kind == Kind.HRR
    assert _first_answer(kyber, [draft], {draft: mlkem.key_share(draft)}).kind == Kind.SERVER_HELLO
    assert _first_answer(kyber, [draft], {draft: mlkem.random_share(draft)}).alert == 47


@pytest.fixture(scope="module")
def documents(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for policy in ("op-pol-001", "pq-ready"):
        path = tmp_path_factory.mktemp("out") / f"{policy}.json"
        result = CliRunner().invoke(app, ["scan", "--targets", lab.targets_csv, "--ca-file", lab.ca_file,
                                          "--policy", policy, "--timeout", "3", "--deadline", "30",
                                          "--output", str(path), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        document = json.loads(path.read_text())
        validate_document(document)
        out[policy] = {e["target"]["host"].split(".")[0]: e for e in document["endpoints"]}
    return out


def test_the_document_and_the_findings_of_both_profiles(lab: LabState, documents: dict[str, dict[str, Any]]) -> None:
    op, ready = documents["op-pol-001"], documents["pq-ready"]
    assert op["weak-dh"]["pq"] is None and "X25519MLKEM768" not in op["weak-dh"]["key_exchange_groups"]
    assert op["pq-default"]["pq"] == {"supported": ["X25519MLKEM768"], "negotiated": "X25519MLKEM768",
                                      "hrr_upgrade": True, "undecided": []}
    assert "X25519MLKEM768" in op["pq-default"]["key_exchange_groups"]
    for endpoint in lab.endpoints:
        wanted = sorted((f.rule, f.severity.value) for f in endpoint.expect.findings)
        found = sorted((f["rule"], f["severity"]) for f in op[endpoint.name]["findings"])
        assert found == wanted, endpoint.name
        pq_findings = [f for f in op[endpoint.name]["findings"] if f["rule"].startswith("tls.kex.pq")]
        assert all(f["clause"] == "beyond OP-POL-001" and f["severity"] == "info" for f in pq_findings)

    def pq_rules(entry: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((f["rule"], f["severity"]) for f in entry["findings"] if f["rule"].startswith("tls.kex.pq"))

    assert pq_rules(ready["weak-dh"]) == [("tls.kex.pq_absent", "high")]  # TLS 1.2 only fails pq-ready
    assert ready["weak-dh"]["compliant"] is False
    assert pq_rules(ready["pq-classical"]) == [("tls.kex.pq_absent", "high")]
    assert pq_rules(ready["pq-nist"]) == [("tls.kex.pq_not_preferred", "medium")]
    assert pq_rules(ready["pq-kyber-draft"]) == [("tls.kex.pq_absent", "high"), ("tls.kex.pq_obsolete", "medium")]
    assert pq_rules(ready["pq-default"]) == [] and ready["pq-default"]["compliant"] is True
