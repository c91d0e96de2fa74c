"""The public API (probe.scan, scan_async, iter_scan, aiter_scan, sweep) against real TLS servers on loopback."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner

import probe
from probe.cli.main import app
from probe.errors import InputError
from probe.report.schema import validate_document
from probe.store import Store
from tests.servers import EstablishedSampler, ProcessServer, serve_in_process, tls_handler

PUBLIC = [
    "EndpointReport",
    "Finding",
    "InputError",
    "ProgressEvent",
    "ScanDocument",
    "Severity",
    "SweepResult",
    "Target",
    "TlsProbeError",
    "__version__",
    "aiter_scan",
    "discover",
    "iter_scan",
    "scan",
    "scan_async",
    "sweep",
]
HOST = "api.lab.test"


def test_public_names_are_pinned() -> None:
    assert sorted(probe.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(probe, name), name
    assert callable(probe.scan), "probe.scan is the function, not the probe.scan subpackage"
    assert probe.__version__ and probe.__version__[0].isdigit()


def test_no_submodule_shadows_a_public_function() -> None:
    """Importing a subpackage for the first time rebinds its parent's attribute: after every module of the
    package is imported, probe.scan, probe.sweep and the others must still be the functions."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(probe.__path__, "probe."):
        if not module.name.startswith(("probe.bench", "probe.lab", "probe.__main__")):
            importlib.import_module(module.name)
    for name in ("scan", "scan_async", "iter_scan", "aiter_scan", "discover", "sweep"):
        assert callable(getattr(probe, name)), f"probe.{name} is shadowed by a module"
        assert getattr(probe, name).__module__ == "probe.api"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[trustme.CA, Path]]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    yield ca, path


def _tls12_only(ca: trustme.CA, delay: float = 0.0) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
    ca.issue_cert(HOST, key_type=trustme.KeyType.RSA).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def server(ca_file: tuple[trustme.CA, Path]) -> Iterator[ProcessServer]:
    with serve_in_process("127.0.31.1", tls_handler(_tls12_only(ca_file[0]))) as running:
        yield running


def _spec(server: ProcessServer) -> tuple[str, str]:
    return f"{HOST}:{server.port}", f"{HOST}:{server.port}:{server.address}"


def test_scan_returns_the_typed_document_of_what_the_server_serves(
    server: ProcessServer, ca_file: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    target, pin = _spec(server)
    events: list[probe.ProgressEvent] = []
    doc = probe.scan([target], resolve=[pin], ca_file=ca_file[1], timeout=3, deadline=60, observer=events.append)
    assert isinstance(doc, probe.ScanDocument)
    [endpoint] = doc.endpoints
    assert endpoint.status == "ok", endpoint.error
    assert endpoint.target.ip == server.address and endpoint.target.sni == HOST
    assert endpoint.tls_versions == {"SSLv2": False, "SSLv3": False, "TLSv1.0": False, "TLSv1.1": False,
                                     "TLSv1.2": True, "TLSv1.3": False}
    assert set(endpoint.cipher_suites["TLSv1.2"]) == {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                                      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
    assert endpoint.certificates[0].chain_trusted and endpoint.certificates[0].hostname_match
    assert "tls.cipher.aes128" in {f.rule for f in endpoint.findings}  # OP-POL-001 3.1.2.2, low
    assert doc.summary.endpoints == 1 and doc.summary.ok == 1
    assert [e.kind for e in events] == ["started", "finished"] and events[-1].done == 1
    dumped = doc.model_dump(mode="json")
    validate_document(dumped)  # the published JSON Schema
    assert dumped["schema"] == "tlsprobe.scan/2" and dumped["resources"] == []
    assert not (tmp_path / "anything").exists()


def test_the_model_mirrors_what_format_json_writes(server: ProcessServer, ca_file: tuple[trustme.CA, Path],
                                                   tmp_path: Path) -> None:
    target, pin = _spec(server)
    out = tmp_path / "scan.json"
    result = CliRunner().invoke(app, ["scan", target, "--resolve", pin, "--ca-file", str(ca_file[1]),
                                      "--db", str(tmp_path / "h.db"), "--output", str(out), "--timeout", "3"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert probe.ScanDocument.model_validate(written).model_dump(mode="json") == written


def test_db_stores_the_sweep_and_sweep_gives_its_id_diff_and_exit_code(
    server: ProcessServer, ca_file: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    target, pin = _spec(server)
    db = tmp_path / "history.db"
    probe.scan([target], resolve=[pin], ca_file=ca_file[1], timeout=3, db=db, label="nightly")
    targets = tmp_path / "targets.csv"
    targets.write_text(f"host,port,ip\n{HOST},{server.port},{server.address}\n")
    swept = probe.sweep(provider="file", targets_file=targets, ca_file=ca_file[1], timeout=3, db=db,
                        label="nightly", baseline="previous")
    assert swept.sweep_id is not None and swept.diff is not None and swept.diff.regressions == ()
    assert swept.exit_code() == 0
    severities = {f.severity for e in swept.document.endpoints for f in e.findings} - {probe.Severity.INFO}
    assert severities == {probe.Severity.LOW, probe.Severity.MEDIUM}  # AES-128 suite, RSA-2048 key (info: no PQ)
    assert swept.exit_code(fail_on="medium") == 1
    assert swept.exit_code(fail_on="high") == 0
    with Store.open(db) as store:
        assert [r.label for r in store.sweeps("nightly")] == ["nightly", "nightly"]
        assert len(list(store.results(swept.sweep_id))) == 1


def test_iter_scan_and_aiter_scan_yield_each_endpoint(server: ProcessServer,
                                                      ca_file: tuple[trustme.CA, Path]) -> None:
    target, pin = _spec(server)
    refused = "refused.api.lab.test:1"  # nothing listens on port 1: an errored endpoint, accounted for
    options = {"resolve": [pin, "refused.api.lab.test:1:127.0.31.2"], "ca_file": ca_file[1], "timeout": 3}
    entries = list(probe.iter_scan([target, refused], **options))  # type: ignore[arg-type]
    assert sorted(e.status for e in entries) == ["error", "ok"]
    assert next(e for e in entries if e.status == "error").error.kind == "refused"  # type: ignore[union-attr]

    async def collect() -> list[str]:
        return [e.endpoint async for e in probe.aiter_scan([target], **options)]  # type: ignore[arg-type]

    assert asyncio.run(collect()) == [f"{HOST}:{server.port}@{server.address}"]


def test_unknown_keywords_raise_type_error_and_bad_values_input_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'perhost'"):
        probe.scan(["a.test"], perhost=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'db'"):
        probe.iter_scan(["a.test"], db="x.db")  # type: ignore[call-arg]
    with pytest.raises(InputError, match="--per-host must be at least 1"):
        probe.scan(["a.test"], per_host=0)
    with pytest.raises(InputError, match="no targets"):
        probe.scan([])
    with pytest.raises(InputError, match="port"):
        probe.iter_scan(["a.test:99999"])  # raised by the call, before any step


def test_two_scans_at_once_keep_their_own_per_host_limits_and_counts(ca_file: tuple[trustme.CA, Path]) -> None:
    """sslyze's socket opener is patched once per process; each scan's connections still go through its own
    gate: the per-host limit holds per scan and each scan counts exactly the connections its server saw."""
    ca = ca_file[0]
    with serve_in_process("127.0.31.3", tls_handler(_tls12_only(ca), delay=0.02)) as one, \
            serve_in_process("127.0.31.4", tls_handler(_tls12_only(ca), delay=0.02)) as four:

        async def both() -> tuple[probe.ScanDocument, probe.ScanDocument]:
            first = probe.scan_async([f"{HOST}:{one.port}"], resolve=[f"{HOST}:{one.port}:{one.address}"],
                                     ca_file=ca_file[1], per_host=1, timeout=5, deadline=120)
            second = probe.scan_async([f"{HOST}:{four.port}"], resolve=[f"{HOST}:{four.port}:{four.address}"],
                                      ca_file=ca_file[1], per_host=4, timeout=5, deadline=120)
            return await asyncio.gather(first, second)

        with EstablishedSampler(one.address, one.port) as sample_one, \
                EstablishedSampler(four.address, four.port) as sample_four:
            doc_one, doc_four = asyncio.run(both())
        seen = [(one.total, sample_one.peak), (four.total, sample_four.peak)]
    [a], [b] = doc_one.endpoints, doc_four.endpoints
    assert a.status == b.status == "ok", (a.error, b.error)
    assert seen[0][1] == 1, f"per_host=1 scan: its server saw {seen[0][1]} connections at once"
    assert 1 < seen[1][1] <= 4, f"per_host=4 scan: its server saw {seen[1][1]} connections at once"
    assert a.connections == seen[0][0] and b.connections == seen[1][0], "each scan counts its own connections"
