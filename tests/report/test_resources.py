"""Resources (ACM certificates, KMS keys) in every output, with their own identity and no made-up host name;
the terminal table of a sweep with endpoints and resources fits 80 and 120 columns with identifiers whole."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.cells import cell_len

from probe.metrics import RunInfo, render_metrics
from probe.models import EndpointResult, ResourceResult, Severity
from probe.report import CSV_COLUMNS, format_table, read_document, validate_document
from probe.report.context import ReportContext
from probe.report.outputs import OutputFormat, render_output
from probe.report.sarif import load_sarif_schema
from tests.report.checks import control_chars, csv_rows, formula_cells
from tests.report.factories import (
    ACM_ARN,
    CLOUD_HOSTS,
    HOSTILE,
    KMS_ARN,
    NOW,
    POLICY,
    finding,
    mixed_results,
    resource_result,
    resource_results,
)
from tests.report.factories import cloud_sweep as _cloud_sweep

CONTEXT = ReportContext(POLICY, NOW, NOW, title="tlsprobe: cloud", rules=("tls.protocol.deprecated",))


def cloud_sweep() -> list[EndpointResult | ResourceResult]:
    return _cloud_sweep()


def endpoints() -> list[EndpointResult]:
    return [item for item in cloud_sweep() if isinstance(item, EndpointResult)]


def resources() -> list[ResourceResult]:
    return [item for item in cloud_sweep() if isinstance(item, ResourceResult)]


def render(fmt: OutputFormat, items: list[EndpointResult | ResourceResult] | None = None) -> str:
    out = render_output(fmt, iter(items if items is not None else cloud_sweep()), CONTEXT)
    assert isinstance(out, str)
    return out


def no_made_up_host(text: str) -> None:
    assert ".invalid" not in text and "acm-certificate.invalid" not in text


# ------------------------------------------------------------------------------------------ terminal table


def _identifiers() -> list[str]:
    """What must appear whole on one line: every endpoint's host name and address, every resource's short id,
    every rule id."""
    names: list[str] = []
    for result in endpoints():
        target = result.observation.target
        names += [target.host, f"{target.ip}:{target.dial_port}"]
    names += [item.resource.short_id for item in resources()]
    names += [f.rule for item in cloud_sweep() for f in item.findings]
    return names


@pytest.mark.parametrize("width", [80, 120])
def test_table_of_a_cloud_sweep_fits_the_terminal_with_identifiers_whole(width: int) -> None:
    text = render_output(OutputFormat.TABLE, cloud_sweep(), ReportContext(POLICY, NOW, NOW, width=width))
    assert isinstance(text, str)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    for name in _identifiers():
        assert any(name in line for line in lines), f"{name!r} broken across lines at width {width}"
    for result in endpoints():  # at 80 and 120 the endpoint shows as host:port
        target = result.observation.target
        assert any(f"{target.host}:{target.port}" in line for line in lines)
    assert "Endpoints" in lines and "Resources" in lines
    # Resources by the resource part of their ARN: the full ARN stays in the files.
    assert "certificate/f9b857ee-1c2d-4e5f-8a9b-0c1d2e3f4a5b" in text and ACM_ARN not in text
    assert "key/1234abcd-12ab-34cd-56ef-1234567890ab" in text and KMS_ARN not in text
    assert "api.example.com" in text  # an ACM certificate's domain is shown with it
    no_made_up_host(text)
    assert "5 endpoints: 4 ok, 1 errors, 2 compliant; 4 resources: 2 compliant" in " ".join(lines)
    assert not [line for line in lines if line != line.rstrip()], "no trailing blanks"


@pytest.mark.parametrize("width", [60, 80, 100, 120, 150, 200])
def test_table_of_a_cloud_sweep_at_any_width(width: int) -> None:
    text = format_table(cloud_sweep(), width=width)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    for name in _identifiers():
        assert any(name in line for line in lines), f"{name!r} broken across lines at width {width}"


def test_table_layouts_from_wide_to_stacked() -> None:
    wide = format_table(cloud_sweep(), width=200)
    assert all(header in wide for header in ("host", "address:port", "versions", "conns", "kind", "account"))
    narrow = format_table(cloud_sweep(), width=120)  # identity, status, findings, compliance
    assert "address:port" not in narrow and "endpoint" in narrow and "resource" in narrow
    stacked = format_table(cloud_sweep(), width=80)
    assert "┃" not in stacked  # no table: one block per endpoint and per resource
    block = stacked.splitlines()
    head = block.index(f"{CLOUD_HOSTS[3]}:443  127.0.60.4:443")
    assert block[head + 1].startswith("  ok · TLS 1.2 1.3 · compliant: no")
    assert block[head + 2] == "  high cert.hostname_mismatch"
    key = block.index("key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert block[key + 1] == "  kms-key · eu-west-1 · 123456789012 · compliant: no"
    assert block[key + 2:key + 4] == ["  medium kms.rotation_disabled", "  medium kms.key.weak (waived)"]


def test_table_of_mixed_endpoints_fits_80_and_120() -> None:
    for width in (80, 120):
        text = format_table([*mixed_results(), *resource_results()], width=width)
        assert max(cell_len(line) for line in text.splitlines()) <= width
        for host in ("good.example.com:443", "legacy.example.com:443", "tarpit.example.com:8443"):
            assert any(host in line for line in text.splitlines())


def test_table_folds_only_an_identifier_longer_than_the_terminal() -> None:
    key = f"key/{'k' * 90}"
    text = format_table([*mixed_results()[:1], resource_result("kms-key", f"arn:aws:kms:eu-west-1:1:{key}", None)],
                        width=60)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= 60
    assert "good.example.com:443" in text  # the others stay whole
    assert "".join(line for line in lines if line.startswith(("key/", "k"))) == key  # folded, nothing lost


def test_table_resources_only_and_hostile_resource_text() -> None:
    hostile = [resource_result("kms-key", f"arn:aws:kms:eu-west-1:1:key/{text}", text,
                               finding("kms.rotation_disabled", Severity.MEDIUM, text)) for text in HOSTILE]
    for width in (40, 80, 120, 200):
        text = format_table(hostile, width=width)
        assert control_chars(text) == []
        assert max(cell_len(line) for line in text.splitlines()) <= width
        assert "0 endpoints" in text and f"{len(HOSTILE)} resources" in text
        assert "host" not in text.splitlines()[0]  # no empty endpoint table before the resources


def test_table_colour_keeps_the_layout() -> None:
    sgr = re.compile(r"\x1b\[[0-9;]*m")
    for width in (80, 120):
        plain = format_table(cloud_sweep(), width=width)
        coloured = format_table(cloud_sweep(), width=width, color=True)
        assert sgr.search(coloured) and sgr.sub("", coloured) == plain


# ------------------------------------------------------------------------------------- files: full identity


def test_json_lists_resources_apart_and_validates() -> None:
    document = json.loads(render(OutputFormat.JSON))
    validate_document(document)
    assert len(document["endpoints"]) == 5 and len(document["resources"]) == 4
    assert {r["id"] for r in document["resources"]} >= {ACM_ARN, KMS_ARN}
    assert document["summary"]["resources"] == 4 and document["summary"]["resources_compliant"] == 2
    back = read_document(render(OutputFormat.JSON))
    assert list(back.resources) == resources() and list(back.results) == endpoints()
    no_made_up_host(json.dumps(document["endpoints"]))


def test_markdown_has_a_resources_section_by_full_id() -> None:
    text = render(OutputFormat.MD)
    lines = text.splitlines()
    assert "| endpoints | ok | errors | compliant | resources | resources compliant | critical | high | medium | low"\
           " | info |" in lines
    assert "| 5 | 4 | 1 | 2 | 4 | 2 | 0 | 4 | 4 | 1 | 0 |" in lines
    assert "## Resources" in lines
    row = next(line for line in lines if line.startswith(f"| `{KMS_ARN}` |"))
    assert "| kms-key |" in row and "| no |" in row and "1 (+1 waived)" in row
    assert f"### acm-certificate `{ACM_ARN}`" in lines
    assert any(line.startswith("- **medium** `acm.imported`") for line in lines)
    assert any(line.startswith("- ~~**medium** `kms.key.weak`") for line in lines)
    no_made_up_host(text)
    # Without resources, the summary keeps its endpoint columns only.
    plain = render(OutputFormat.MD, endpoints())
    assert "## Resources" not in plain and "resources compliant" not in plain


def test_csv_rows_resources_with_their_own_identity() -> None:
    rows = csv_rows(render(OutputFormat.CSV))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    kinds = [row["type"] for row in body]
    assert kinds == ["endpoint"] * kinds.count("endpoint") + ["resource"] * kinds.count("resource")
    resource_rows = [row for row in body if row["type"] == "resource"]
    # ACM: 2 findings + 1 clean, KMS: 2 findings (one waived) + 1 clean
    assert len(resource_rows) == 6
    for row in resource_rows:
        assert row["endpoint"] == row["host"] == row["port"] == row["ip"] == row["status"] == ""
        assert row["id"].startswith("arn:aws:") and row["provider"] == "aws" and row["account"] == "123456789012"
    imported = next(row for row in resource_rows if row["rule"] == "acm.imported")
    assert (imported["id"], imported["kind"], imported["name"], imported["compliant"]) == (
        ACM_ARN, "acm-certificate", "api.example.com", "false")
    weak = next(row for row in resource_rows if row["rule"] == "kms.key.weak")
    assert weak["waived"] == "true" and weak["region"] == "eu-west-1"
    clean = next(row for row in resource_rows if row["id"].endswith("mrk-0123456789abcdef0123456789abcdef"))
    assert (clean["rule"], clean["compliant"], clean["region"]) == ("", "true", "us-east-1")
    no_made_up_host(render(OutputFormat.CSV))


def test_csv_neutralises_formulas_in_resource_text() -> None:
    hostile = [resource_result("kms-key", text, text, finding("kms.rotation_disabled", Severity.MEDIUM, text))
               for text in HOSTILE]
    rows = csv_rows(render(OutputFormat.CSV, [*hostile]))
    assert formula_cells(rows) == []
    assert all(control_chars(cell) == [] for row in rows for cell in row)
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    ids = [row[CSV_COLUMNS.index("id")] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in ids


def test_parquet_holds_resource_rows() -> None:
    data = render_output(OutputFormat.PARQUET, iter(cloud_sweep()), CONTEXT)
    assert isinstance(data, bytes) and data[:4] == b"PAR1"
    frame = pd.read_parquet(io.BytesIO(data))
    assert list(frame.columns) == list(CSV_COLUMNS)
    resources_frame = frame[frame["type"] == "resource"]
    assert len(resources_frame) == 6 and resources_frame["endpoint"].isna().all()
    assert set(resources_frame["id"]) == {r.resource.id for r in resources()}
    assert str(frame["compliant"].dtype) == "boolean" and str(frame["port"].dtype) == "Int64"


def test_html_has_a_resources_table_by_full_id() -> None:
    hostile = resource_result("acm-certificate", "arn:aws:acm:eu-west-1:1:certificate/x", '<script>alert(1)</script>',
                              finding("acm.imported", Severity.MEDIUM, "<img src=x onerror=alert(1)>"))
    page = render(OutputFormat.HTML, [*cloud_sweep(), hostile])
    assert page.count('class="resource-row"') == 5 and page.count('class="endpoint-row"') == 5
    assert f'data-resource="{ACM_ARN}"' in page and f">{KMS_ARN}</td>" in page
    assert 'id="card-resources"' in page and 'id="card-resources-non-compliant"' in page
    # resource findings are listed with the others, by the resource's id
    assert f'<td class="key">{ACM_ARN}</td><td class="key">acm.imported</td>' in page
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;alert(1)" in page
    assert page.count("<script>") == 1
    assert "tr.endpoint-row,tr.resource-row" in page  # the filters apply to resources too
    no_made_up_host(page)


def test_sarif_locates_resource_findings_at_the_resource_id() -> None:
    log = json.loads(render(OutputFormat.SARIF))
    jsonschema.Draft7Validator(load_sarif_schema()).validate(log)
    (run,) = log["runs"]
    located = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]}
    imported = [r for r in run["results"] if r["ruleId"] == "acm.imported"]
    assert len(imported) == 1
    (location,) = imported[0]["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == ACM_ARN
    assert location["logicalLocations"] == [{"name": "certificate/f9b857ee-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                                             "fullyQualifiedName": ACM_ARN, "kind": "resource"}]
    assert imported[0]["properties"]["resource"] == ACM_ARN and imported[0]["properties"]["kind"] == "acm-certificate"
    assert imported[0]["message"]["text"].startswith(f"{ACM_ARN}: ")
    assert KMS_ARN in located and not any(uri.startswith("tls://") and "arn" in uri for uri in located)
    assert "kms.key.weak" not in {r["ruleId"] for r in run["results"]}  # waived
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["kms.rotation_disabled"]["properties"]["tags"] == ["security", "cloud"]
    assert rules["tls.protocol.deprecated"]["properties"]["tags"] == ["security", "tls"]
    no_made_up_host(json.dumps(log))


def test_junit_has_a_resources_suite() -> None:
    root = ET.fromstring(render(OutputFormat.JUNIT))
    suite = root.find("testsuite[@name='resources']")
    assert suite is not None
    # ACM kind: acm.imported, acm.expiring x 2 certificates; KMS kind: kms.rotation_disabled, kms.key.weak x 2 keys
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == ("8", "3", "1",
                                                                                                     "0")
    failure = suite.find(f"testcase[@classname='{ACM_ARN}'][@name='acm.imported']/failure")
    assert failure is not None and failure.get("type") == "medium"
    assert suite.find(f"testcase[@classname='{KMS_ARN}'][@name='kms.key.weak']/skipped") is not None
    assert {s.get("name") for s in root.findall("testsuite")} >= {f"{h}:443@127.0.60.{i + 1}"
                                                                  for i, h in enumerate(CLOUD_HOSTS)}
    assert int(root.get("tests") or 0) == sum(int(s.get("tests") or 0) for s in root.findall("testsuite"))
    # A resource of a kind without any finding still has a (passing) case.
    lone = ET.fromstring(render(OutputFormat.JUNIT, [resource_result("s3-bucket", "arn:aws:s3:::logs", "logs")]))
    case = lone.find("testsuite[@name='resources']/testcase[@classname='arn:aws:s3:::logs']")
    assert case is not None and case.get("name") == "posture" and len(case) == 0


def test_metrics_carry_resources_and_count_their_findings() -> None:
    run = RunInfo(duration_s=3.0, finished_at=1_800_000_000.0, label="cloud", profile="op-pol-001")
    families = {f.name: f for f in text_string_to_metric_families(render_metrics(iter(cloud_sweep()), run))}

    def samples(metric: str, **labels: str) -> list[float]:
        return [s.value for s in families[metric].samples if all(s.labels.get(k) == v for k, v in labels.items())]

    assert samples("tlsprobe_resource_compliant", id=ACM_ARN, kind="acm-certificate", provider="aws",
                   account="123456789012", region="eu-west-1", name="api.example.com") == [0]
    assert samples("tlsprobe_resource_compliant", id=KMS_ARN) == [0]
    assert len(families["tlsprobe_resource_compliant"].samples) == 4
    assert samples("tlsprobe_resource_findings", id=KMS_ARN, severity="medium") == [1]  # the waived one not
    assert samples("tlsprobe_resource_findings", id=ACM_ARN, severity="medium") == [2]
    assert samples("tlsprobe_run_resources") == [4] and samples("tlsprobe_run_endpoints") == [5]
    # 4 high, 4 medium (1 on an endpoint, 3 on resources: the waived one not), 1 low
    assert samples("tlsprobe_run_findings", severity="medium") == [4]
    assert samples("tlsprobe_run_findings", severity="high") == [4]
    assert not [s for s in families["tlsprobe_endpoint_up"].samples if "arn:" in s.labels["endpoint"]]
