"""A history written before resources had their own table (store schema 1, document tlsprobe.scan/1) still loads,
diffs and reports: its ACM/KMS pseudo-endpoints come back as resources."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import probe.store as store_module
from probe.app.finish import finish_run
from probe.cli.main import app
from probe.models import EndpointResult, Observation, Severity, Target, TargetSource
from probe.report.document import read_document
from probe.report.schema import validate_document
from probe.store import Store
from tests.store.factory import finding, ok

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"


def pseudo_key(rotation_off: bool) -> EndpointResult:
    """A KMS key as schema 1 stored it: a `.invalid` pseudo-endpoint with an 'inventory' observation."""
    source = TargetSource(provider="aws", kind="kms-key", account="123456789012", region="eu-west-1", arn=KEY_ARN)
    target = Target(host="1111-2222.eu-west-1.123456789012.kms-key.invalid", port=443, source=source)
    findings = (finding("kms.rotation_disabled", Severity.MEDIUM, "automatic key rotation is disabled"),) \
        if rotation_off else ()
    return EndpointResult(observation=Observation(target=target, status="ok", engine="inventory"),
                          findings=findings, compliant=not rotation_off)


@pytest.fixture
def schema1_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[int]]:
    """Two sweeps written by a store that knows only the first migration (as tlsprobe before schema 2)."""
    db = tmp_path / "old.db"
    with monkeypatch.context() as old:
        old.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        old.setattr(store_module, "SCHEMA_VERSION", 1)
        ids = []
        with Store.open(db) as store:
            for rotation_off in (False, True):
                sweep = store.begin_sweep("nightly", "op-pol-001", 2)
                store.record(sweep, ok("api.example.test", compliant=True))
                store.record(sweep, pseudo_key(rotation_off))
                store.finish_sweep(sweep, "done")
                ids.append(sweep)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (1,)
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'resources'").fetchone() is None
    return db, ids


def test_a_schema1_history_loads_with_its_pseudo_endpoints_as_resources(schema1_db: tuple[Path, list[int]]) -> None:
    db, ids = schema1_db
    with Store.open(db) as store:
        assert store.schema_version() == store_module.SCHEMA_VERSION
        assert [r.observation.target.host for r in store.results(ids[1])] == ["api.example.test"]
        [key] = list(store.resources(ids[1]))
    assert (key.resource.kind, key.resource.id, key.resource.region) == ("kms-key", KEY_ARN, "eu-west-1")
    assert [f.rule for f in key.findings] == ["kms.rotation_disabled"] and key.compliant is False


def test_a_schema1_history_diffs_a_resource_regression(schema1_db: tuple[Path, list[int]]) -> None:
    db, ids = schema1_db
    with Store.open(db) as store:
        outcome = finish_run(store, ids[1], label="nightly", baseline="previous", fail_on=Severity.MEDIUM,
                             fail_on_findings=False)
    assert outcome.diff is not None
    assert [(r.endpoint, r.rule) for r in outcome.diff.regressions] == [(KEY_ARN, "kms.rotation_disabled")]
    assert outcome.exit_code == 1


def test_a_schema1_history_reports_as_schema2(schema1_db: tuple[Path, list[int]], tmp_path: Path) -> None:
    db, ids = schema1_db
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["report", "--db", str(db), "--sweep", str(ids[1]), "--format", "json",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    validate_document(doc)
    assert doc["schema"] == "tlsprobe.scan/2"
    assert [e["target"]["host"] for e in doc["endpoints"]] == ["api.example.test"]
    assert [r["id"] for r in doc["resources"]] == [KEY_ARN]
    assert doc["summary"]["endpoints"] == 1 and doc["summary"]["resources"] == 1
    assert ".invalid" not in out.read_text()


def test_a_schema1_document_reads_with_its_pseudo_endpoints_as_resources(
    schema1_db: tuple[Path, list[int]], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from probe.models import PolicyRef
    from probe.report.document import build_document

    doc = build_document([ok("api.example.test", compliant=True), pseudo_key(True)],
                         policy=PolicyRef(id="OP-POL-001", profile="op-pol-001"),
                         started_at=datetime(2026, 1, 1, tzinfo=UTC), finished_at=datetime(2026, 1, 1, tzinfo=UTC))
    doc["schema"] = "tlsprobe.scan/1"  # as tlsprobe wrote it before schema 2
    del doc["resources"]
    for key in ("resources", "resources_compliant"):
        del doc["summary"][key]
    validate_document(doc)  # against the kept schema 1
    parsed = read_document(json.dumps(doc))
    assert [r.observation.target.host for r in parsed.results] == ["api.example.test"]
    assert [r.resource.id for r in parsed.resources] == [KEY_ARN]
    assert parsed.summary.endpoints == 1 and parsed.summary.resources == 1
