"""Resources through the history commands: `report` in every format and `diff` (md, json) of stored sweeps with
ACM certificates and KMS keys, and the scan/sweep reports (`write_reports`); never a made-up host name."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from probe.cli.history import diff_command, report_command
from probe.cli.runner import ReportSettings, write_reports
from probe.models import EndpointResult, PolicyRef, ResourceResult, Severity
from probe.report.context import ReportContext
from probe.report.outputs import OutputFormat
from probe.store import Store
from tests.report.factories import ACM_ARN, KMS_ARN, finding, resource_result
from tests.store.factory import NOW, errored, ok

KMS_SHORT = "key/1234abcd-12ab-34cd-56ef-1234567890ab"


def app() -> typer.Typer:
    application = typer.Typer()
    application.command("diff")(diff_command)
    application.command("report")(report_command)
    return application


def key(rotation_off: bool) -> ResourceResult:
    findings = (finding("kms.rotation_disabled", Severity.MEDIUM, "automatic key rotation is disabled",
                        clause="OP-POL-001 3.2.2.1"),) if rotation_off else ()
    return resource_result("kms-key", KMS_ARN, "1234abcd-12ab-34cd-56ef-1234567890ab", *findings)


def certificate() -> ResourceResult:
    imported = finding("acm.imported", Severity.MEDIUM, "imported certificate", clause="OP-POL-001 3.3.1.2")
    return resource_result("acm-certificate", ACM_ARN, "api.example.com", imported)


def store_sweeps(db: Path, *sweeps: tuple[list[EndpointResult], list[ResourceResult]]) -> list[int]:
    ids = []
    with Store.open(db, lock_timeout=1) as store:
        for results, resources in sweeps:
            sweep = store.begin_sweep("cloud", "op-pol-001", targets_total=len(results))
            for result in results:
                store.record(sweep, result)
            for item in resources:
                store.record_resource(sweep, item)
            store.finish_sweep(sweep, "done")
            ids.append(sweep)
    return ids


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.db"
    store_sweeps(path, ([ok("a.test"), errored("c.test")], [key(False)]),
                 ([ok("a.test"), ok("c.test")], [key(True), certificate()]))
    return path


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_report_command_shows_the_resources_in_every_format(db: Path, tmp_path: Path, fmt: OutputFormat) -> None:
    out = tmp_path / f"report.{fmt.value}"
    result = CliRunner().invoke(app(), ["report", "--db", str(db), "--format", fmt.value, "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert b".invalid" not in data
    if fmt is OutputFormat.PARQUET:
        frame = pd.read_parquet(io.BytesIO(data))
        assert set(frame[frame["type"] == "resource"]["id"]) == {ACM_ARN, KMS_ARN}
        return
    text = data.decode("utf-8")
    if fmt is OutputFormat.TABLE:  # the resource part of the ARN, the full one in the files
        assert KMS_SHORT in text and KMS_ARN not in text and "2 resources: 0 compliant" in text
        assert max(len(line) for line in text.splitlines()) <= 150
    else:
        assert KMS_ARN in text and ACM_ARN in text
    if fmt is OutputFormat.JSON:
        document = json.loads(text)
        assert {r["id"] for r in document["resources"]} == {KMS_ARN, ACM_ARN} and len(document["endpoints"]) == 2
    elif fmt is OutputFormat.JUNIT:
        suite = ET.fromstring(text).find("testsuite[@name='resources']")
        assert suite is not None and suite.get("failures") == "2"
    elif fmt is OutputFormat.SARIF:
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in json.loads(text)["runs"][0]["results"]}
        assert uris == {KMS_ARN, ACM_ARN}
    elif fmt is OutputFormat.HTML:
        assert text.count('class="resource-row"') == 2 and text.count('class="endpoint-row"') == 2


def test_report_table_to_a_pipe_is_150_columns_wide(db: Path) -> None:
    result = CliRunner().invoke(app(), ["report", "--db", str(db), "--format", "table"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 150
    assert any(KMS_SHORT in line and "kms-key" in line for line in lines)  # the wide layout: a kind column


def test_diff_command_reports_a_resource_regression_by_its_id(db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app(), ["diff", "1", "2", "--db", str(db), "--fail-on", "medium"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert f"| medium | {KMS_ARN} | finding | `kms.rotation_disabled` | new finding on kms-key: automatic key " \
           "rotation is disabled |" in lines
    assert "## Appeared" in lines and f"- {ACM_ARN}" in lines
    assert f"### {KMS_ARN}" in lines and "- compliance: compliant → non-compliant" in lines
    assert "| severity | endpoint / resource | kind | rule | change |" in lines
    result = runner.invoke(app(), ["diff", "1", "2", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "tlsprobe.diff/1" and data["appeared"] == [ACM_ARN]
    assert [(r["endpoint"], r["rule"]) for r in data["regressions"]] == [(KMS_ARN, "kms.rotation_disabled")]
    assert ".invalid" not in result.stdout
    assert runner.invoke(app(), ["diff", "1", "2", "--db", str(db), "--format", "html"]).exit_code == 2


def test_write_reports_puts_the_resources_in_every_file_and_the_table(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tuple(tmp_path / f"r{suffix}" for suffix in (".json", ".csv", ".md", ".html", ".sarif", ".xml", ".txt"))
    context = ReportContext(PolicyRef(id="OP-POL-001", profile="op-pol-001"), NOW, NOW,
                            resources=(key(True), certificate()), title="tlsprobe: cloud")
    write_reports(ReportSettings(fmt=None, outputs=outputs), [ok("a.test"), errored("c.test")], context)
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        assert (KMS_SHORT if path.suffix == ".txt" else KMS_ARN) in text, path
        assert ".invalid" not in text
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    stdout = capsys.readouterr().out
    assert KMS_SHORT in stdout and "Resources" in stdout and "2 endpoints: 1 ok, 1 errors" in stdout
