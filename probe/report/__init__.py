"""Reports: the JSON scan document (schema tlsprobe.scan/2) and its formats. No IO in here but `atomic`.

Every format is in one registry, `probe.report.outputs` (format name -> renderer); this package's top level
keeps to the document and the text formatters of a document, so that importing it stays light.
"""

from probe.report.document import (
    ParsedDocument,
    build_document,
    document_from_dict,
    endpoint_entry,
    parse_document,
    read_document,
    resource_entry,
    summarize,
)
from probe.report.jsonout import format_json
from probe.report.markdown import format_md
from probe.report.schema import load_schema, schema_errors, validate_document
from probe.report.table import format_table
from probe.report.tabular import COLUMNS as CSV_COLUMNS
from probe.report.tabular import render_csv

__all__ = [
    "CSV_COLUMNS",
    "ParsedDocument",
    "build_document",
    "document_from_dict",
    "endpoint_entry",
    "format_json",
    "format_md",
    "format_table",
    "load_schema",
    "parse_document",
    "read_document",
    "render_csv",
    "resource_entry",
    "schema_errors",
    "summarize",
    "validate_document",
]
