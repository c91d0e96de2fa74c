"""`tlsprobe diff/report/prune` and `finish_run` (probe.app.finish) against a real store, webhook and metrics file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from probe.app.finish import AlertSettings, finish_run
from probe.cli.history import diff_command, prune_command, report_command
from probe.models import EndpointResult, Severity
from probe.store import Store
from tests.alerts.server import webhook_server
from tests.store.factory import MODERN, cert, errored, finding, ok

TOKEN = "T0KEN-s3cr3t-9f8e7d"


def app() -> typer.Typer:
    application = typer.Typer()
    application.command("diff")(diff_command)
    application.command("report")(report_command)
    application.command("prune")(prune_command)
    return application


def before() -> list[EndpointResult]:
    return [ok("a.test"), ok("b.test"), errored("c.test")]


def after() -> list[EndpointResult]:
    changed = ok("a.test", versions={**MODERN, "TLSv1.0": True}, certs=(cert(key_bits=2048, fingerprint="bb" * 32),),
                 findings=(finding("tls.protocol.deprecated", Severity.HIGH, "TLSv1.0 is enabled", version="TLSv1.0"),
                           finding("cert.key.weak", Severity.MEDIUM, "2048-bit RSA key", certificate=0)))
    return [changed, ok("b.test"), ok("c.test")]


def store_sweeps(db: Path, *sweeps: list[EndpointResult], label: str = "nightly") -> list[int]:
    ids = []
    with Store.open(db, lock_timeout=1) as store:
        for results in sweeps:
            sweep = store.begin_sweep(label, "op-pol-001", targets_total=len(results))
            for result in results:
                store.record(sweep, result)
            store.finish_sweep(sweep, "done")
            ids.append(sweep)
    return ids


def test_finish_run_diffs_alerts_writes_metrics_and_exits_1(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ids = store_sweeps(db, before(), after())
    notes: list[str] = []
    metrics = tmp_path / "m" / "tlsprobe.prom"
    with webhook_server([503, 200]) as server, Store.open(db, lock_timeout=1) as store:
        outcome = finish_run(store, ids[1], label="nightly", baseline="previous", fail_on=Severity.HIGH,
                             fail_on_findings=False, alerts=AlertSettings(webhook=server.url, backoff_s=0.01),
                             metrics_file=metrics, duration_s=3.0)
        notes = list(outcome.notes)
    assert outcome.exit_code == 1 and outcome.alert_sent and outcome.baseline == f"sweep {ids[0]}"
    assert outcome.diff is not None
    assert [(r.endpoint, r.kind) for r in outcome.diff.regressions] == [("a.test:443", "protocol"),
                                                                          ("a.test:443", "key")]
    assert len(server.requests) == 2  # one 503, then the one delivered message
    body = server.requests[-1]
    assert {r["message"] for r in body["regressions"]} >= {"protocol TLSv1.0 enabled",
                                                           "certificate key weakened from RSA-3072 to RSA-2048"}
    assert f"2 regressions since sweep {ids[0]} (worst: high)" in notes
    assert TOKEN not in "\n".join(notes)
    families = {f.name for f in text_string_to_metric_families(metrics.read_text())}
    assert {"tlsprobe_endpoint_compliant", "tlsprobe_run_duration_seconds"} <= families


def test_finish_run_exit_3_when_the_webhook_keeps_failing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ids = store_sweeps(db, before(), after())
    notes: list[str] = []
    with webhook_server([502]) as server, Store.open(db, lock_timeout=1) as store:
        outcome = finish_run(store, ids[1], label="nightly", baseline="previous", fail_on=Severity.HIGH,
                             alerts=AlertSettings(webhook=server.url, backoff_s=0.01))
        notes = list(outcome.notes)
        assert len(list(store.results(ids[1]))) == 3  # the sweep is stored
    assert outcome.exit_code == 3 and not outcome.alert_sent and len(server.requests) == 3
    assert TOKEN not in "\n".join(notes) + "\n".join(outcome.problems)
    assert any("is stored" in n for n in notes)


def test_finish_run_without_regressions_sends_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ids = store_sweeps(db, before()[:2], before()[:2])
    with webhook_server([200]) as server, Store.open(db, lock_timeout=1) as store:
        outcome = finish_run(store, ids[1], label="nightly", baseline="previous", fail_on=Severity.HIGH,
                             alerts=AlertSettings(webhook=server.url))
    assert outcome.diff is not None and outcome.diff.regressions == ()
    assert outcome.exit_code == 0 and server.requests == [] and not outcome.alert_sent


def test_finish_run_errored_twice_is_a_regression(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ids = store_sweeps(db, before(), before())
    with webhook_server([200]) as server, Store.open(db, lock_timeout=1) as store:
        outcome = finish_run(store, ids[1], label="nightly", baseline="previous", fail_on=Severity.HIGH,
                             alerts=AlertSettings(webhook=server.url))
    assert outcome.diff is not None
    assert [r.kind for r in outcome.diff.regressions] == ["errored"]  # c.test: errored 2 sweeps in a row
    assert outcome.exit_code == 1 and len(server.requests) == 1
    with Store.open(db, lock_timeout=1) as store:
        first = finish_run(store, ids[0], label="nightly", baseline="previous", fail_on=Severity.HIGH)
    assert first.diff is None and first.exit_code == 0


def test_diff_command_md_json_and_fail_on(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ids = store_sweeps(db, before(), after())
    runner = CliRunner()
    result = runner.invoke(app(), ["diff", "--db", str(db), "--baseline", "previous", "--fail-on", "high"])
    assert result.exit_code == 1, result.output
    assert "protocol TLSv1.0 enabled" in result.stdout and "| high | a.test:443 | protocol |" in result.stdout
    result = runner.invoke(app(), ["diff", str(ids[0]), str(ids[1]), "--db", str(db), "--format", "json",
                                   "--fail-on", "critical"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["kind"] for r in data["regressions"]] == ["protocol", "key"]
    assert data["changes"][-1]["endpoint"] == "c.test:443" and data["changes"][-1]["recovered"] is True
    # Against a JSON scan document as the baseline.
    report = tmp_path / "old.json"
    assert runner.invoke(app(), ["report", "--db", str(db), "--sweep", str(ids[0]), "--format", "json",
                                 "--output", str(report)]).exit_code == 0
    result = runner.invoke(app(), ["diff", str(ids[1]), "--db", str(db), "--baseline", str(report),
                                   "--fail-on", "high"])
    assert result.exit_code == 1 and "protocol TLSv1.0 enabled" in result.stdout


def test_diff_command_input_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app(), ["diff", "--db", str(tmp_path / "none.db"), "--baseline", "previous"]).exit_code == 2
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    result = runner.invoke(app(), ["diff", str(garbage), str(garbage)])
    assert result.exit_code == 2 and "not a JSON document" in result.output
    assert runner.invoke(app(), ["diff"]).exit_code == 2


@pytest.mark.parametrize("fmt", ["sarif", "junit", "html", "md", "csv", "json", "parquet"])
def test_report_command_formats(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "h.db"
    store_sweeps(db, before(), after())
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(app(), ["report", "--db", str(db), "--format", fmt, "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data
    if fmt == "sarif":
        assert json.loads(data)["runs"][0]["results"][0]["ruleId"] == "tls.protocol.deprecated"
    elif fmt == "junit":
        assert ET.fromstring(data).get("failures") == "2"
    elif fmt == "html":
        assert data.count(b'class="endpoint-row"') == 3
    elif fmt == "json":
        assert len(json.loads(data)["endpoints"]) == 3
    elif fmt == "parquet":
        assert data[:4] == b"PAR1"
    else:
        assert b"a.test" in data


def test_prune_command(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store_sweeps(db, before(), before(), after())
    runner = CliRunner()
    result = runner.invoke(app(), ["prune", "--db", str(db), "--keep", "1"])
    assert result.exit_code == 0 and "pruned 2 sweeps" in result.output
    with Store.open(db, lock_timeout=1) as store:
        assert [s.id for s in store.sweeps()] == [3]
    assert runner.invoke(app(), ["prune", "--db", str(db)]).exit_code == 2
    assert runner.invoke(app(), ["prune", "--db", str(db), "--older-than", "yesterday"]).exit_code == 2


def test_busy_database_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store_sweeps(db, before())
    holder = Store.open(db, lock_timeout=1)
    holder.begin_sweep("nightly", "op-pol-001")
    try:
        result = CliRunner().invoke(app(), ["prune", "--db", str(db), "--keep", "0", "--lock-timeout", "0.2"])
    finally:
        holder.close()
    assert result.exit_code == 2 and "database is busy: another tlsprobe run holds" in result.output
