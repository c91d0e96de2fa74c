"""Text formatters: CSV, Markdown, table and JSON, with ordinary and hostile input (resources, and the
registry: tests/report/test_resources.py, tests/report/test_registry.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from rich.cells import cell_len

from probe.errors import InputError
from probe.models import EndpointResult
from probe.report import (
    CSV_COLUMNS,
    build_document,
    format_json,
    format_md,
    format_table,
    parse_document,
    render_csv,
    validate_document,
)
from tests.report.checks import control_chars, csv_rows, formula_cells
from tests.report.factories import DISCOVERY_ERRORS, HOSTILE, NOW, POLICY, hostile_result, mixed_results

SGR = re.compile(r"\x1b\[[0-9;]*m")


def _hostile_results() -> list[EndpointResult]:
    return [hostile_result(text, host=f"h{i}{text}.example.com") for i, text in enumerate(HOSTILE)]


def _document(results: list[EndpointResult]) -> dict[str, Any]:
    return build_document(results, policy=POLICY, started_at=NOW, finished_at=NOW, discovery_errors=DISCOVERY_ERRORS)


# ----------------------------------------------------------------------------------------------------- CSV


def test_csv_one_row_per_finding_and_per_endpoint_without_findings() -> None:
    rows = csv_rows(render_csv(mixed_results()))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    # good: 1 row (no findings); legacy: 3 findings; dual: 1 finding; errored: 1 row.
    assert [row["endpoint"].split(":")[0] for row in body] == [
        "good.example.com",
        *["legacy.example.com"] * 3,
        "dual.example.com",
        "tarpit.example.com",
    ]
    good, legacy_high, legacy_medium, legacy_waived, _dual, errored = body
    assert {row["type"] for row in body} == {"endpoint"}
    assert good["rule"] == "" and good["compliant"] == "true" and good["tls_TLSv1_3"] == "true"
    assert (good["provider"], good["kind"], good["account"]) == ("aws", "elbv2-listener", "111111111111")
    assert good["id"].startswith("arn:aws:elasticloadbalancing:") and good["sni"] == "good.example.com"
    assert (legacy_high["rule"], legacy_high["severity"], legacy_high["waived"]) == (
        "tls.protocol.deprecated",
        "high",
        "false",
    )
    assert legacy_medium["severity"] == "medium"
    assert legacy_waived["waived"] == "true" and legacy_waived["waiver_reason"].startswith("vendor appliance")
    assert (errored["status"], errored["error_kind"], errored["compliant"]) == ("error", "timeout", "")


def test_csv_neutralises_formulas() -> None:
    rows = csv_rows(render_csv(_hostile_results()))
    assert formula_cells(rows) == []
    messages = [row[CSV_COLUMNS.index("message")] for row in rows[1:]]
    assert "certificate names =cmd|' /C calc'!A0" in messages
    hosts = [row[CSV_COLUMNS.index("host")] for row in rows[1:]]
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    assert all(control_chars(cell) == [] for row in rows for cell in row)
    # Hostile host names that start like formulas are quoted, the rest left alone.
    formula_host = hostile_result("=1+1", host="=1+1")
    (row,) = csv_rows(render_csv([formula_host]))[1:]
    assert row[CSV_COLUMNS.index("host")] == "'=1+1"
    assert row[CSV_COLUMNS.index("endpoint")].startswith("'=1+1:443")
    assert "h1<script>alert(1)</script>.example.com" in hosts


# ------------------------------------------------------------------------------------------------ Markdown


def test_md_summary_table_then_findings() -> None:
    text = format_md(_document(mixed_results()))
    lines = text.splitlines()
    assert lines[0] == "# tlsprobe scan"
    assert "| endpoints | ok | errors | compliant | critical | high | medium | low | info |" in lines
    assert "| 4 | 3 | 1 | 2 | 0 | 1 | 1 | 1 | 0 |" in lines
    assert any(line.startswith("| legacy.example.com:443@127.0.10.2 | ok | 1.0 1.1 1.2 1.3 | high |") for line in lines)
    assert "## legacy.example.com:443@127.0.10.2" in lines
    assert "## good.example.com:443@127.0.10.1" not in lines  # nothing to say about a clean endpoint
    assert "- error `timeout`: no answer in 5.0 s" in lines
    waived = [line for line in lines if "waived:" in line]
    assert len(waived) == 1 and waived[0].startswith("- ~~") and "2025-12-31" in waived[0]
    assert "## Discovery errors" in lines


def test_md_escapes_hostile_text_and_keeps_one_row_per_line() -> None:
    results = _hostile_results()
    text = format_md(_document(results))
    assert control_chars(text) == []
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "[link](javascript" not in text
    lines = text.splitlines()
    table_rows = [line for line in lines if line.startswith("| ") and "@127.0.10.66 |" in line]
    assert len(table_rows) == len(results)
    # every endpoint row has exactly 7 cells: unescaped pipes would add more
    for row in table_rows:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == 7 + 2, row
    assert text.splitlines() == text.split("\n")[:-1]  # no exotic line breaks (U+2028, U+0085 ...)


# --------------------------------------------------------------------------------------------------- table


def test_table_has_every_endpoint_and_the_summary() -> None:
    text = format_table(_document(mixed_results()), width=160)
    assert "\x1b" not in text
    for header in ("host", "address:port", "status", "versions", "findings", "compliant", "conns"):
        assert header in text
    assert "legacy.example.com" in text and "127.0.10.2:443" in text
    assert "(waived)" in text
    assert "error: timeout" in text
    assert "4 endpoints: 3 ok, 1 errors, 2 compliant; unwaived findings: high 1, medium 1, low 1" in text


@pytest.mark.parametrize("width", [40, 80, 120, 200])
def test_table_respects_width_and_strips_controls(width: int) -> None:
    text = format_table(_document(_hostile_results()), width=width)
    assert control_chars(text) == []
    assert max(cell_len(line) for line in text.splitlines()) <= width


def test_table_colour_only_when_asked() -> None:
    doc = _document(mixed_results() + _hostile_results())
    plain = format_table(doc, width=200)
    coloured = format_table(doc, width=200, color=True)
    assert "\x1b" not in plain
    assert SGR.search(coloured)
    # the only escapes in colour output are rich's own SGR codes; hostile ESC sequences are gone
    assert control_chars(SGR.sub("", coloured)) == []
    assert SGR.sub("", coloured) == plain


def test_table_from_bare_results() -> None:
    text = format_table(mixed_results(), width=160)
    assert "4 endpoints" in text


# ---------------------------------------------------------------------------------------------------- JSON


def test_json_is_pretty_stable_and_valid() -> None:
    doc = _document(mixed_results() + _hostile_results())
    text = format_json(doc)
    assert text.startswith('{\n  "schema": "tlsprobe.scan/2",')
    assert text == format_json(json.loads(text))
    validate_document(json.loads(text))
    text.encode("utf-8")


def test_json_survives_lone_surrogates() -> None:
    result = hostile_result("bad \udcff utf-8 \ud800")
    doc = _document([result])
    text = format_json(doc)
    text.encode("utf-8")
    (back,) = parse_document(text)
    assert back.observation.certificates[0].subject == "CN=bad \ufffd utf-8 \ufffd"


@pytest.mark.parametrize("formatter", [format_md, format_table])
def test_formatters_refuse_a_broken_dict(formatter: Any) -> None:
    doc = _document(mixed_results())
    broken = {**doc, "endpoints": [{**doc["endpoints"][0], "tls_versions": None}]}
    with pytest.raises(InputError):
        formatter(broken)
    with pytest.raises(InputError):
        formatter({**doc, "endpoints": ["not an endpoint"]})
