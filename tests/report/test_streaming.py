"""Streamed reports: JSON written incrementally is the same document, JSON Lines, CSV row by row, the capped
human formats, memory that does not grow with the number of results, and the CLI writing them from the store."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from probe.cli.main import app
from probe.models import DiscoveryError, EndpointResult, ResourceResult
from probe.report.document import endpoint_entry, resource_entry, summarize
from probe.report.outputs import OutputFormat, ReportContext, render_chunks, render_output
from probe.report.streaming import cap, stream_json
from tests.report.factories import NOW, POLICY, cloud_sweep, error_result, finding, ok_result

ERRORS = (DiscoveryError(provider="aws", account="111122223333", region="eu-west-1", service="elbv2",
                         error="AccessDenied"),)
CONTEXT = ReportContext(POLICY, NOW, NOW, discovery_errors=ERRORS)


def _once(items: list[EndpointResult | ResourceResult]) -> Iterator[EndpointResult | ResourceResult]:
    yield from items


def test_json_written_incrementally_is_the_same_document_with_summary_last() -> None:
    items = cloud_sweep() * 40  # enough endpoints for several pieces
    pieces = list(render_chunks(OutputFormat.JSON, _once(items), CONTEXT))
    assert len(pieces) > 3
    streamed = json.loads("".join(pieces))
    assert streamed == json.loads(render_output(OutputFormat.JSON, items, CONTEXT))
    assert list(streamed)[-2:] == ["finished_at", "summary"]
    assert list(streamed)[:4] == ["schema", "policy", "started_at", "endpoints"]
    empty = json.loads("".join(render_chunks(OutputFormat.JSON, iter(()), CONTEXT)))
    assert empty["endpoints"] == [] and empty["resources"] == [] and empty["summary"]["endpoints"] == 0


def test_json_lines_one_object_per_result_then_discovery_errors_then_the_summary() -> None:
    items = cloud_sweep()
    lines = [json.loads(line) for line in "".join(render_chunks("jsonl", _once(items), CONTEXT)).splitlines()]
    assert [line["type"] for line in lines] == [
        "resource" if isinstance(item, ResourceResult) else "endpoint" for item in items
    ] + ["discovery_error", "summary"]
    for line, item in zip(lines, items, strict=False):
        entry = resource_entry(item) if isinstance(item, ResourceResult) else endpoint_entry(item)
        assert {k: v for k, v in line.items() if k != "type"} == json.loads(json.dumps(entry))
    summary = lines[-1]
    endpoints = [i for i in items if isinstance(i, EndpointResult)]
    resources = [i for i in items if isinstance(i, ResourceResult)]
    expected = summarize(endpoints, resources).model_dump(mode="json")
    assert {k: summary[k] for k in expected} == expected
    assert summary["schema"] == "tlsprobe.scan/2" and summary["policy"]["id"] == "OP-POL-001"
    assert lines[-2]["service"] == "elbv2"


def test_csv_streams_the_same_rows() -> None:
    items = cloud_sweep() * 300
    pieces = list(render_chunks(OutputFormat.CSV, _once(items), CONTEXT))
    assert len(pieces) > 1
    assert "".join(pieces) == render_output(OutputFormat.CSV, items, CONTEXT)


def test_the_cap_keeps_the_worst_in_stream_order_and_counts_everything() -> None:
    items: list[EndpointResult | ResourceResult] = [ok_result(f"fine{i}.test") for i in range(50)]
    items.insert(10, error_result("down.test"))
    items.insert(30, ok_result("weak.test", findings=(finding(),)))
    kept, totals = cap(_once(items), 2, full="all.json")
    assert [r.observation.target.host for r in kept] == ["down.test", "weak.test"]  # type: ignore[union-attr]
    assert totals.omitted == 50 and totals.full == "all.json"
    endpoints = [i for i in items if isinstance(i, EndpointResult)]
    assert totals.summary == summarize(endpoints)
    kept_all, everything = cap(_once(items), None)
    assert len(kept_all) == 52 and everything.omitted == 0


def test_markdown_html_and_table_say_what_they_leave_out_and_where_the_rest_is() -> None:
    items = [ok_result(f"fine-{i}.test") for i in range(30)] + [error_result("down.test")]
    for fmt in (OutputFormat.MD, OutputFormat.HTML, OutputFormat.TABLE):
        text = "".join(str(p) for p in render_chunks(fmt, _once(items), replace(CONTEXT, width=200), max_rows=5,
                                                     full="reports/all.jsonl"))
        assert "26 more results are not shown here: 5 of 31" in text, fmt
        assert "reports/all.jsonl" in text, fmt
        assert "down.test" in text and len(set(re.findall(r"fine-\d+", text))) == 4, fmt
        whole = "".join(str(p) for p in render_chunks(fmt, _once(items), replace(CONTEXT, width=200)))
        assert "not shown" not in whole and len(set(re.findall(r"fine-\d+", whole))) == 30
    html = "".join(str(p) for p in render_chunks(OutputFormat.HTML, _once(items), CONTEXT, max_rows=5))
    assert '<div class="card" id="card-endpoints"><b>31</b>' in html, "the summary counts every endpoint"
    md = "".join(str(p) for p in render_chunks(OutputFormat.MD, _once(items), CONTEXT, max_rows=5))
    assert "| 31 | 30 | 1 |" in md


def _peak_bytes(count: int) -> int:
    """Peak memory allocated while streaming the JSON document of `count` endpoints (made one at a time)."""
    template = ok_result("many.test", findings=(finding(),))

    def results() -> Iterator[EndpointResult]:
        for index in range(count):
            target = template.observation.target.model_copy(update={"host": f"h{index}.many.test"})
            yield template.model_copy(update={"observation": template.observation.model_copy(
                update={"target": target})})

    tracemalloc.start()
    try:
        written = 0
        for piece in stream_json(results(), CONTEXT):
            written += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > count * 500
    return peak


def test_streaming_memory_does_not_grow_with_the_number_of_results() -> None:
    small, large = _peak_bytes(500), _peak_bytes(5000)
    assert large < small * 1.5 + 200_000, (small, large)


def test_scan_writes_streamed_and_capped_reports_from_the_store(tmp_path: Path) -> None:
    targets = [f"127.0.16.{i}:1" for i in range(200, 212)]  # nothing listens: refused, quickly
    outputs = [tmp_path / name for name in ("all.json", "all.jsonl", "all.csv", "some.md", "some.html")]
    args = ["scan", *targets, "--db", str(tmp_path / "h.db"), "--timeout", "2", "--max-rows", "3", "--no-http"]
    for path in outputs:
        args += ["--output", str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(outputs[0].read_text())
    assert len(document["endpoints"]) == 12 and document["summary"]["errors"] == 12
    lines = outputs[1].read_text().splitlines()
    assert len(lines) == 13 and json.loads(lines[-1])["type"] == "summary"
    assert len(outputs[2].read_text().splitlines()) == 13
    for capped in outputs[3:]:
        text = capped.read_text()
        assert "9 more results are not shown here: 3 of 12" in text and "all.json" in text
    assert "12 endpoints (0 ok); wrote" in result.output
    assert "9 more results are not shown here" in result.output  # the table on stdout is capped too
    listed = CliRunner().invoke(app, ["report", "--db", str(tmp_path / "h.db"), "--format", "jsonl"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 13
