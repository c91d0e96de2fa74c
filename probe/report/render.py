"""One entry point for the text formats: `render(Format.MD, doc)`."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, assert_never

from probe.report.csvout import format_csv
from probe.report.document import ParsedDocument
from probe.report.jsonout import format_json
from probe.report.markdown import format_md
from probe.report.table import format_table


class Format(StrEnum):
    """Output formats of `--format` that this package renders as text."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MD = "md"


def render(fmt: Format, doc: Mapping[str, Any] | ParsedDocument, *, width: int = 120, color: bool = False) -> str:
    """The document in `fmt`; `width` and `color` apply to the table only."""
    match fmt:
        case Format.TABLE:
            return format_table(doc, width=width, color=color)
        case Format.JSON:
            return format_json(doc)
        case Format.CSV:
            return format_csv(doc)
        case Format.MD:
            return format_md(doc)
        case _:
            assert_never(fmt)
