"""Property tests: arbitrary (hostile) text in certificate fields, messages and hosts is always escaped,
and arbitrary input to the document reader gives results or a one-line InputError, never a traceback."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probe.errors import InputError
from probe.models import ErrorKind
from probe.report import build_document, format_json, format_md, format_table, parse_document, render_csv
from probe.report.escape import clean_text, csv_cell, md_escape
from tests.report.checks import control_chars, csv_rows, formula_cells
from tests.report.factories import NOW, POLICY, error_result, hostile_result

NASTY = [
    "\x1b",
    "\x1b[",
    "[31m",
    "\x9b",
    "\x07",
    "\x00",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\ufeff",
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "|",
    "<",
    ">",
    "&",
    "`",
    "[",
    "]",
    "\\",
    "\ud800",
    "\udcff",
    "'",
]
# Pieces, not single characters, so that whole escape sequences ("\x1b" + "[31m") come up often.
hostile_text = st.lists(st.one_of(st.characters(exclude_categories=[]), st.sampled_from(NASTY)), max_size=30).map(
    "".join
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(text=hostile_text, host=hostile_text)
def test_hostile_text_is_escaped_in_every_output(text: str, host: str) -> None:
    results = [
        hostile_result(text, host=host or "h"),
        error_result(host=host or "h", kind=ErrorKind.TLS_ALERT, message=text),
    ]
    doc = build_document(results, policy=POLICY, started_at=NOW, finished_at=NOW)

    json_text = format_json(doc)
    json_text.encode("utf-8")  # strict UTF-8: no lone surrogate left
    back = parse_document(json_text)  # validates against the schema on the way
    assert len(back) == 2
    if not any("\ud800" <= c <= "\udfff" for c in text + host):
        assert back == results

    for rendered in (format_table(doc, width=100), format_md(doc)):
        assert control_chars(rendered) == []
    # Markdown: 3 summary-table lines + header, rule and one row per endpoint; 7 cells per endpoint row.
    table_lines = [line for line in format_md(doc).splitlines() if line.startswith("|")]
    assert len(table_lines) == 3 + 2 + len(results)
    for row in table_lines[-len(results) :]:
        assert len(re.findall(r"(?<!\\)\|", row)) == 8, row

    rows = csv_rows(render_csv(results))
    assert formula_cells(rows) == []
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)


@SETTINGS
@given(text=hostile_text)
def test_escape_functions_hold_their_promises(text: str) -> None:
    cleaned = clean_text(text)
    assert control_chars(cleaned) == [] and "\n" not in cleaned
    assert clean_text(cleaned) == cleaned  # idempotent
    escaped = md_escape(text)
    assert control_chars(escaped) == [] and "<" not in escaped and ">" not in escaped
    assert "|" not in escaped.replace("\\|", "")
    assert not csv_cell(text).lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)


def _reads_or_refuses(text: str) -> None:
    try:
        parse_document(text)
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message and control_chars(message) == []


@SETTINGS
@given(raw=st.text(max_size=200))
def test_arbitrary_text_reads_or_refuses(raw: str) -> None:
    _reads_or_refuses(raw)


@SETTINGS
@given(value=json_values)
def test_arbitrary_json_reads_or_refuses(value: Any) -> None:
    _reads_or_refuses(json.dumps(value, ensure_ascii=True))


_BASE = build_document([hostile_result("x"), error_result()], policy=POLICY, started_at=NOW, finished_at=NOW)
_PATHS = [
    ("policy",),
    ("started_at",),
    ("summary",),
    ("discovery_errors",),
    ("endpoints", 0, "target"),
    ("endpoints", 0, "target", "port"),
    ("endpoints", 0, "certificates"),
    ("endpoints", 0, "certificates", 0, "not_after"),
    ("endpoints", 0, "findings", 0, "severity"),
    ("endpoints", 0, "findings", 0, "waiver"),
    ("endpoints", 0, "tls_versions"),
    ("endpoints", 1, "error"),
    ("endpoints", 1, "status"),
    ("endpoints", 0, "vulnerabilities"),
    ("endpoints", 0, "cipher_suites"),
]


@SETTINGS
@given(path=st.sampled_from(_PATHS), value=json_values)
def test_mutated_documents_read_or_refuse(path: tuple[Any, ...], value: Any) -> None:
    doc = copy.deepcopy(_BASE)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    _reads_or_refuses(json.dumps(doc, ensure_ascii=True))
