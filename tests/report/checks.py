"""Assertions shared by the report tests."""

from __future__ import annotations

import csv
import io
import unicodedata

from probe.report.escape import FORMULA_TRIGGERS

# Categories no terminal or Markdown output may contain (besides the "\n" between lines).
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def control_chars(text: str) -> list[str]:
    """Characters in `text` that are controls, format/bidi characters, surrogates or line separators."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in FORBIDDEN_CATEGORIES]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def formula_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would evaluate: starting (after blanks) with = + - @ tab or CR."""
    return [cell for row in rows for cell in row if cell.lstrip(" ").startswith(FORMULA_TRIGGERS)]
