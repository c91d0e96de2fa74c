"""Reports: the JSON scan document (schema tlsprobe.scan/1) and text formatters. No IO in here."""

from probe.report.csvout import CSV_COLUMNS, format_csv
from probe.report.document import (
    ParsedDocument,
    build_document,
    document_from_dict,
    endpoint_entry,
    parse_document,
    read_document,
    summarize,
)
from probe.report.jsonout import format_json
from probe.report.markdown import format_md
from probe.report.render import Format, render
from probe.report.schema import load_schema, schema_errors, validate_document
from probe.report.table import format_table

__all__ = [
    "CSV_COLUMNS",
    "Format",
    "ParsedDocument",
    "build_document",
    "document_from_dict",
    "endpoint_entry",
    "format_csv",
    "format_json",
    "format_md",
    "format_table",
    "load_schema",
    "parse_document",
    "read_document",
    "render",
    "schema_errors",
    "summarize",
    "validate_document",
]
