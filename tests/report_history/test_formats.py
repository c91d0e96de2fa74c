"""SARIF (validated against the bundled official schema), JUnit, CSV/Parquet and Prometheus metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from probe.metrics import RunInfo, render_metrics, write_metrics
from probe.models import Severity
from probe.report.junit import build_junit
from probe.report.sarif import build_sarif, load_sarif_schema
from probe.report.tabular import render_csv, render_parquet, results_frame
from tests.report_history.test_html import sample
from tests.store.factory import MODERN, finding, ok


def test_sarif_validates_against_the_official_schema() -> None:
    schema = load_sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    waived = finding("cert.untrusted", Severity.HIGH, "self-signed", waived=True)
    results = [*sample(), ok("::1", port=8443, findings=(waived,))]
    log = build_sarif(results, policy_id="OP-POL-001")
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(log)
    (run,) = log["runs"]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == ["cert.expired", "cert.expiring", "cert.key.weak", "tls.protocol.deprecated"]
    assert len(run["results"]) == 5  # unwaived findings only
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"tls://legacy.example.test:443", "tls://expired.example.test:443"}
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["cert.expiring"] == "warning" and levels["cert.expired"] == "error"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1 and "down.example.test:443" in notes[0]["message"]["text"]
    # A broken log does fail the same validation (the check can fail).
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "severe"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_junit_cases_failures_errors_and_skips() -> None:
    waived = finding("cert.untrusted", Severity.HIGH, "self-signed", waived=True)
    results = [*sample(), ok("w.test", findings=(waived,))]
    xml = build_junit(results, rules=["tls.protocol.deprecated", "vuln.heartbleed"])
    root = ET.fromstring(xml)
    rules = 6  # 2 given + cert.expiring, cert.key.weak, cert.expired, cert.untrusted
    ok_endpoints = 4
    assert root.get("tests") == str(rules * ok_endpoints + 1)
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "1")
    legacy = root.find("testsuite[@name='legacy.example.test:443']")
    assert legacy is not None
    failure = legacy.find("testcase[@name='tls.protocol.deprecated']/failure")
    assert failure is not None and "TLSv1.0 is enabled" in (failure.text or "")
    assert "TLSv1.1 is enabled" in (failure.text or "")
    assert legacy.find("testcase[@name='vuln.heartbleed']/failure") is None
    down = root.find("testsuite[@name='down.example.test:443']")
    assert down is not None and len(down) == 1 and down[0].find("error") is not None
    assert "<script>" not in xml


def test_csv_neutralises_formulas_and_parquet_round_trips() -> None:
    formula = ok("=cmd.example.test", findings=(finding("cert.expired", message="+SUM(A1:A9)"),))
    results = [*sample(), formula, ok("@at.test"), ok("-minus.test")]
    text = render_csv(results)
    rows = list(csv.reader(io.StringIO(text)))
    for cell in (cell for row in rows for cell in row):
        if not re.fullmatch(r"-?\d+", cell):  # numbers (days to expiry) stay numbers
            assert not cell.startswith(("=", "+", "-", "@")), cell
    frame = pd.read_csv(io.StringIO(text))
    assert "'=cmd.example.test:443" in text and "'+SUM(A1:A9)" in text and "'@at.test:443" in text
    assert len(frame) == len(results_frame(results)) == 1 + 4 + 1 + 1 + 1 + 1 + 1
    parquet = pd.read_parquet(io.BytesIO(render_parquet(results)))
    assert list(parquet.columns) == list(results_frame(results).columns)
    legacy = parquet[parquet["endpoint"] == "legacy.example.test:443"]
    assert bool(legacy["tls_TLSv1_0"].iloc[0]) is True and set(legacy["rule"]) == {
        "tls.protocol.deprecated", "cert.expiring", "cert.key.weak"}
    assert parquet[parquet["endpoint"] == "down.example.test:443"]["error_kind"].iloc[0] == "timeout"


def test_metrics_parse_with_the_prometheus_parser(tmp_path: Path) -> None:
    results = [*sample(), ok("old.test", versions={**MODERN, "TLSv1.0": True})]
    run = RunInfo(duration_s=12.5, finished_at=1_800_000_000.0, label="nightly", profile="op-pol-001")
    path = tmp_path / "textfile" / "tlsprobe.prom"
    write_metrics(path, results, run)
    assert not [p for p in path.parent.iterdir() if p.name != "tlsprobe.prom"]  # no temporary left
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}

    def value(name: str, **labels: str) -> float:
        return next(s.value for s in families[name].samples if all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("tlsprobe_endpoint_compliant", endpoint="good.example.test:443") == 1
    assert value("tlsprobe_endpoint_compliant", endpoint="legacy.example.test:443") == 0
    assert not [s for s in families["tlsprobe_endpoint_compliant"].samples
                if s.labels["endpoint"] == "down.example.test:443"]
    assert value("tlsprobe_endpoint_up", endpoint="down.example.test:443") == 0
    assert value("tlsprobe_endpoint_findings", endpoint="legacy.example.test:443", severity="high") == 3
    assert value("tlsprobe_certificate_expiry_days", endpoint="expired.example.test:443") == -5
    assert value("tlsprobe_tls_version_enabled", endpoint="old.test:443", version="TLSv1.0") == 1
    assert value("tlsprobe_tls_version_enabled", endpoint="good.example.test:443", version="TLSv1.0") == 0
    assert value("tlsprobe_run_duration_seconds") == 12.5
    assert value("tlsprobe_run_endpoints") == 5 and value("tlsprobe_run_errors") == 1
    assert value("tlsprobe_last_success_timestamp_seconds") == 1_800_000_000.0
    failed = RunInfo(duration_s=1, finished_at=1_900_000_000.0, succeeded=False, last_success=1_700_000_000.0)
    text = render_metrics(results, failed)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert value("tlsprobe_last_success_timestamp_seconds") == 1_700_000_000.0
    # Atomic replace: an existing file is swapped whole, and its inode changes.
    before = os.stat(path).st_ino
    write_metrics(path, results[:1], run)
    assert os.stat(path).st_ino != before and "legacy.example.test" not in path.read_text()
