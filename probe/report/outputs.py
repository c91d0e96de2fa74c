"""The report registry: one map from format name to renderer, used by `scan`, `sweep`, `report` and `diff`.

A renderer takes a stream of results (endpoint results and resource results, in any order: a renderer that
needs them apart splits them itself, so streaming a large sweep changes no renderer) and the run's
`ReportContext`, and returns text, or bytes for Parquet. Renderers do no IO; the CLI writes what they return
(`probe.report.atomic.write_atomically` for files) and is the only place that prints.

Formats that can also render a diff of two sweeps (`SweepDiff`) carry a diff renderer: JSON and Markdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import chain
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, assert_never

from probe.errors import InputError
from probe.extras import require
from probe.report.context import ReportContext, Result
from probe.report.html import render_html
from probe.report.jsonout import render_json
from probe.report.junit import render_junit
from probe.report.markdown import render_md
from probe.report.sarif import render_sarif
from probe.report.streaming import cap, render_jsonl, stream_csv, stream_json, stream_jsonl
from probe.report.table import render_table
from probe.report.tabular import render_csv, render_parquet

if TYPE_CHECKING:
    from probe.diff import SweepDiff

__all__ = [
    "DIFF_FORMATS",
    "RENDERERS",
    "SUFFIXES",
    "DiffFormat",
    "DiffRenderer",
    "OutputFormat",
    "Renderer",
    "ReportContext",
    "Result",
    "ResultsRenderer",
    "StreamRenderer",
    "check_available",
    "format_for",
    "render_chunks",
    "render_diff",
    "render_output",
]

ResultsRenderer = Callable[[Iterable[Result], ReportContext], "str | bytes"]
StreamRenderer = Callable[[Iterable[Result], ReportContext], Iterator[str]]
DiffRenderer = Callable[["SweepDiff"], str]


class OutputFormat(StrEnum):
    """The formats of `--format` / `--output`."""

    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    MD = "md"
    HTML = "html"
    SARIF = "sarif"
    JUNIT = "junit"
    PARQUET = "parquet"


class DiffFormat(StrEnum):
    """The formats `tlsprobe diff` writes: those whose renderer has a diff renderer (DIFF_FORMATS)."""

    MD = "md"
    JSON = "json"


@dataclass(frozen=True)
class Renderer:
    """How one format renders: a run's results, and (JSON, Markdown) a diff of two sweeps."""

    results: ResultsRenderer
    suffix: str
    binary: bool = False
    extra: str | None = None  # the pip extra the format needs
    diff: DiffRenderer | None = None
    stream: StreamRenderer | None = None  # writes as the results come, in constant memory (JSON, JSONL, CSV)
    capped: bool = False  # for reading: at most --max-rows detail rows (table, Markdown, HTML)


def _diff_json(diff: SweepDiff) -> str:
    from probe.report.diff import render_diff_json

    return render_diff_json(diff)


def _diff_md(diff: SweepDiff) -> str:
    from probe.report.diff import render_diff_md

    return render_diff_md(diff)


def _renderer(fmt: OutputFormat) -> Renderer:
    match fmt:
        case OutputFormat.TABLE:
            return Renderer(render_table, ".txt", capped=True)
        case OutputFormat.JSON:
            return Renderer(render_json, ".json", diff=_diff_json, stream=stream_json)
        case OutputFormat.JSONL:
            return Renderer(render_jsonl, ".jsonl", stream=stream_jsonl)
        case OutputFormat.CSV:
            return Renderer(render_csv, ".csv", stream=stream_csv)
        case OutputFormat.MD:
            return Renderer(render_md, ".md", diff=_diff_md, capped=True)
        case OutputFormat.HTML:
            return Renderer(render_html, ".html", capped=True)
        case OutputFormat.SARIF:
            return Renderer(render_sarif, ".sarif")
        case OutputFormat.JUNIT:
            return Renderer(render_junit, ".xml")
        case OutputFormat.PARQUET:
            return Renderer(render_parquet, ".parquet", binary=True, extra="parquet")
        case _:
            assert_never(fmt)


# The registry: every format's renderer (exhaustive: _renderer's match covers every OutputFormat).
RENDERERS: Final[Mapping[OutputFormat, Renderer]] = MappingProxyType({fmt: _renderer(fmt) for fmt in OutputFormat})
SUFFIXES: Final[Mapping[str, OutputFormat]] = MappingProxyType({r.suffix: fmt for fmt, r in RENDERERS.items()})
DIFF_FORMATS: Final[tuple[OutputFormat, ...]] = tuple(fmt for fmt, r in RENDERERS.items() if r.diff is not None)


def format_for(path: Path, fallback: OutputFormat | None) -> OutputFormat:
    """A file's format: its suffix decides, then `fallback`, then JSON."""
    return SUFFIXES.get(path.suffix.lower()) or fallback or OutputFormat.JSON


def check_available(fmt: OutputFormat) -> None:
    """Raise `probe.extras.MissingExtra` if writing `fmt` needs an extra that is not installed (Parquet: the
    parquet extra), so that a run can refuse before it scans rather than fail when it writes."""
    extra = RENDERERS[fmt].extra
    if extra is not None:
        require(extra, f"{fmt.value.capitalize()} output")


def render_output(fmt: OutputFormat | str, results: Iterable[Result], context: ReportContext) -> str | bytes:
    """The results in `fmt`: text, or bytes for Parquet. No IO. Resources held in `context.resources` join the
    stream after `results`."""
    renderer = RENDERERS[OutputFormat(fmt)]
    if context.resources:
        results = chain(results, context.resources)
        context = replace(context, resources=())
    return renderer.results(results, context)


def render_chunks(
    fmt: OutputFormat | str, results: Iterable[Result], context: ReportContext, *, max_rows: int | None = None,
    full: str = "",
) -> Iterator[str | bytes]:
    """The results in `fmt`, in pieces to write as they come: JSON, JSONL and CSV stream (constant memory); the
    table, Markdown and HTML show at most `max_rows` results in their details (None or 0: all; the summary counts
    every result and the report says how many it leaves out and that `full` has them all); the other formats
    are rendered whole. `results` is read once. No IO."""
    renderer = RENDERERS[OutputFormat(fmt)]
    if context.resources:
        results = chain(results, context.resources)
        context = replace(context, resources=())
    if renderer.stream is not None:
        yield from renderer.stream(results, context)
        return
    if renderer.capped and max_rows:
        from probe.report.coverage import coverage_counter

        counter = coverage_counter(context.policy)  # the coverage matrix counts every result, not the kept ones
        kept, totals = cap(counter.watch(results) if counter else results, max_rows, full=full)
        yield renderer.results(kept, replace(context, totals=totals, coverage=counter.coverage() if counter else None))
        return
    yield renderer.results(results, context)


def render_diff(fmt: DiffFormat | OutputFormat | str, diff: SweepDiff) -> str:
    """A diff of two sweeps in `fmt` (one of DIFF_FORMATS); InputError for a format that renders no diff."""
    renderer = RENDERERS[OutputFormat(fmt)].diff
    if renderer is None:
        raise InputError(f"a diff is written as {' or '.join(f.value for f in DIFF_FORMATS)}, not {fmt}")
    return renderer(diff)
