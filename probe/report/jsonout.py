"""JSON output: the scan document, pretty-printed in its stable key order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from probe.report.document import ParsedDocument
from probe.report.escape import json_safe


def format_json(doc: Mapping[str, Any] | ParsedDocument, *, indent: int | None = 2) -> str:
    """The document as JSON text (UTF-8 safe, no NaN, newline-terminated)."""
    data = doc.to_document() if isinstance(doc, ParsedDocument) else json_safe(doc)
    return json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"
