"""The report registry (probe.report.outputs): one renderer per format, over a stream of results and a context."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from probe.diff import diff_sweeps
from probe.errors import InputError
from probe.extras import MissingExtra
from probe.models import EndpointResult, ResourceResult
from probe.report.context import ReportContext, split_results
from probe.report.outputs import (
    DIFF_FORMATS,
    RENDERERS,
    SUFFIXES,
    DiffFormat,
    OutputFormat,
    check_available,
    format_for,
    render_diff,
    render_output,
)
from tests.report.factories import NOW, POLICY, cloud_sweep, error_result, mixed_results, ok_result

CONTEXT = ReportContext(POLICY, NOW, NOW, title="tlsprobe: registry", subtitle="sweep 7", width=100)
_GENERATED = re.compile(r"generated [0-9T:+-]+")


def _stable(out: str | bytes) -> str | bytes:
    """The output without the moment an HTML page was generated."""
    return _GENERATED.sub("generated -", out) if isinstance(out, str) else out


def _once(items: list[EndpointResult | ResourceResult]) -> Iterator[EndpointResult | ResourceResult]:
    """A one-shot iterator: a renderer must not need to read its input twice."""
    yield from items


def test_every_format_has_one_renderer_and_one_suffix() -> None:
    assert set(RENDERERS) == set(OutputFormat)
    assert [f.value for f in OutputFormat] == ["table", "json", "jsonl", "csv", "md", "html", "sarif", "junit",
                                               "parquet"]
    assert sorted(SUFFIXES) == sorted(r.suffix for r in RENDERERS.values()) and len(SUFFIXES) == len(OutputFormat)
    assert format_for(Path("out/r.SARIF"), None) is OutputFormat.SARIF
    assert format_for(Path("r.xml"), OutputFormat.MD) is OutputFormat.JUNIT
    assert format_for(Path("r.unknown"), OutputFormat.MD) is OutputFormat.MD
    assert format_for(Path("r"), None) is OutputFormat.JSON
    assert [fmt for fmt, r in RENDERERS.items() if r.binary] == [OutputFormat.PARQUET]


def test_diff_formats_are_the_formats_with_a_diff_renderer() -> None:
    assert DIFF_FORMATS == (OutputFormat.JSON, OutputFormat.MD)
    assert {f.value for f in DiffFormat} == {f.value for f in DIFF_FORMATS}
    diff = diff_sweeps([ok_result("a.test")], [ok_result("a.test"), ok_result("b.test")])
    assert render_diff(DiffFormat.MD, diff).startswith("# tlsprobe diff")
    assert '"schema": "tlsprobe.diff/1"' in render_diff("json", diff)
    with pytest.raises(InputError, match="json or md, not table"):
        render_diff(OutputFormat.TABLE, diff)


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_renderers_take_a_one_shot_stream_of_endpoints_and_resources(fmt: OutputFormat) -> None:
    items = cloud_sweep()
    from_list = render_output(fmt, items, CONTEXT)
    from_stream = render_output(fmt, _once(items), CONTEXT)
    assert _stable(from_list) == _stable(from_stream)
    # The order of the stream does not matter to what is said about each item.
    endpoints, resources = split_results(items)
    interleaved = [resources[0], *endpoints[:2], *resources[1:], *endpoints[2:]]
    if fmt in (OutputFormat.TABLE, OutputFormat.HTML, OutputFormat.MD, OutputFormat.JSON):
        assert _stable(render_output(fmt, interleaved, CONTEXT)) == _stable(from_list)
    # Resources the context holds apart join the stream.
    held = render_output(fmt, endpoints, replace(CONTEXT, resources=tuple(resources)))
    assert _stable(held) == _stable(from_list)
    if fmt is not OutputFormat.PARQUET:
        assert isinstance(from_list, str) and "certificate/f9b857ee-1c2d-4e5f-8a9b-0c1d2e3f4a5b" in from_list
    else:
        assert isinstance(from_list, bytes)


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_renderers_read_the_context(fmt: OutputFormat) -> None:
    out = render_output(fmt, mixed_results(), CONTEXT)
    if fmt is OutputFormat.HTML:
        assert isinstance(out, str) and "<title>tlsprobe: registry</title>" in out and "sweep 7" in out
    elif fmt is OutputFormat.JUNIT:
        assert isinstance(out, str) and '<testsuites name="tlsprobe: registry"' in out
    elif fmt is OutputFormat.SARIF:
        assert isinstance(out, str) and '"policy": "OP-POL-001"' in out
    elif fmt in (OutputFormat.JSON, OutputFormat.MD):
        assert isinstance(out, str) and "2025-03-01T12:00:00+00:00" in out
    elif fmt is OutputFormat.TABLE:
        assert isinstance(out, str) and max(len(line) for line in out.splitlines()) <= CONTEXT.width


def test_empty_stream_renders_in_every_format() -> None:
    for fmt in OutputFormat:
        assert render_output(fmt, iter(()), CONTEXT)


def test_errored_endpoint_alone() -> None:
    text = render_output(OutputFormat.TABLE, [error_result()], CONTEXT)
    assert isinstance(text, str) and "error: timeout" in text and "Resources" not in text


def test_check_available_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtra, match=r"^Parquet output needs the parquet extra"):
        check_available(OutputFormat.PARQUET)
    for fmt in OutputFormat:
        if RENDERERS[fmt].extra is None:
            check_available(fmt)
