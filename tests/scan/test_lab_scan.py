"""The scanner against every lab endpoint, compared with the ground truth each server's configuration gives."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.lab.manager import LabState, running_lab
from probe.report import validate_document


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab")) as state:
        yield state


@pytest.fixture(scope="module")
def report(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("out") / "lab.json"
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--targets",
            str(lab.targets_csv),
            "--ca-file",
            str(lab.ca_file),
            "--deadline",
            "8",
            "--timeout",
            "2",
            "--format",
            "json",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(output.read_text())
    validate_document(document)
    return document


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["target"]["host"].split(".")[0]: e for e in report["endpoints"]}


def test_every_lab_endpoint_is_accounted_for(lab: LabState, report: dict[str, Any]) -> None:
    assert sorted(by_name(report)) == sorted(e.name for e in lab.endpoints)
    assert report["summary"]["endpoints"] == len(lab.endpoints)


def test_errors_and_findings_match_ground_truth(lab: LabState, report: dict[str, Any]) -> None:
    seen = by_name(report)
    for endpoint in lab.endpoints:
        entry = seen[endpoint.name]
        expect = endpoint.expect
        if expect.error:
            assert entry["status"] == "error" and entry["error"]["kind"] == expect.error, (
                endpoint.name,
                entry["error"],
            )
            assert entry["findings"] == [] and entry["compliant"] is None
            continue
        assert entry["status"] == "ok", (endpoint.name, entry["error"])
        found = Counter((f["rule"], f["severity"]) for f in entry["findings"])
        wanted = Counter((f.rule, f.severity) for f in expect.findings)
        assert found == wanted, endpoint.name
        assert entry["client_auth"] == expect.client_auth, endpoint.name


def test_versions_suites_groups_and_keys_match_ground_truth(lab: LabState, report: dict[str, Any]) -> None:
    seen = by_name(report)
    for endpoint in lab.endpoints:
        truth = endpoint.truth
        if truth is None:
            continue
        entry = seen[endpoint.name]
        assert entry["tls_versions"] == truth.tls_versions, endpoint.name
        assert {v: sorted(s) for v, s in entry["cipher_suites"].items()} == {
            v: sorted(s) for v, s in truth.cipher_suites.items() if s
        }, endpoint.name
        assert set(entry["key_exchange_groups"]) == set(truth.key_exchange_groups), endpoint.name
        assert entry["dh_bits"] == truth.dh_bits, endpoint.name
        served = sorted((c["key_type"], c["key_bits"], c["signature_hash"]) for c in entry["certificates"])
        expected = sorted((c.key_type, c.key_bits, c.signature_hash) for c in truth.certificates)
        assert served == expected, endpoint.name
        for cert in entry["certificates"]:
            truth_cert = next(
                c for c in truth.certificates if (c.key_type, c.key_bits) == (cert["key_type"], cert["key_bits"])
            )
            assert cert["hostname_match"] == truth_cert.hostname_match, endpoint.name
            assert cert["chain_trusted"] == truth_cert.trusted_with_lab_ca, endpoint.name


def test_server_preference_is_detected(lab: LabState, report: dict[str, Any]) -> None:
    seen = by_name(report)
    checked = 0
    for endpoint in lab.endpoints:
        truth = endpoint.truth
        if truth is None or sum(len(truth.cipher_suites.get(v, [])) for v in ("TLSv1.2", "TLSv1.1", "TLSv1.0")) < 2:
            continue
        assert seen[endpoint.name]["cipher_preference"] == truth.cipher_preference, endpoint.name
        checked += 1
    assert checked >= 3


def test_connections_are_counted_per_endpoint(report: dict[str, Any]) -> None:
    for entry in report["endpoints"]:
        assert entry["connections"] >= 1, entry["target"]["host"]
    # a full sslyze scan is hundreds of handshakes: the count is real, not a constant
    assert len({e["connections"] for e in report["endpoints"]}) > 2


def test_fail_on_high_exits_1_and_names_the_clauses(lab: LabState, tmp_path: Path) -> None:
    legacy = next(e for e in lab.endpoints if e.name == "legacy")
    result = CliRunner().invoke(
        app,
        [
            "scan",
            f"{legacy.host}:{legacy.port}",
            "--resolve",
            f"{legacy.host}:{legacy.port}:{legacy.address}",
            "--ca-file",
            str(lab.ca_file),
            "--format",
            "json",
            "--fail-on",
            "high",
        ],
    )
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    deprecated = [f for f in document["endpoints"][0]["findings"] if f["rule"] == "tls.protocol.deprecated"]
    assert {(f["severity"], f["clause"]) for f in deprecated} == {("high", "OP-POL-001 3.1.2.3")}
    assert len(deprecated) == 2
