"""Unit tests of probe.report.escape: terminal, Markdown, CSV and JSON escaping of hostile text."""

from __future__ import annotations

import json
import math

import pytest

from probe.report.escape import clean_text, csv_cell, json_safe, md_code, md_escape, replace_surrogates
from tests.report.checks import control_chars


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1;38;5;196mbold\x1b[m", "bold"),
        ("\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "click"),
        ("\x1b]0;title\x1b\\after", "after"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("a\nb\r\nc\td", "a b  c d"),
        ("\u202egnp.exe", "gnp.exe"),
        ("\u2066isolated\u2069 \u202amark\u202c", "isolated mark"),
        ("nul\x00bell\x07del\x7fc1\x85", "nulbelldelc1 "),
        ("line\u2028sep\u2029para", "line sep para"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("\x1b", ""),
        ("\x1b[", ""),
        ("unicode ok: é 中文 🙂", "unicode ok: é 中文 🙂"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    assert control_chars(cleaned) == []
    assert "\n" not in cleaned


def test_md_escape_neutralises_markup_tables_and_html() -> None:
    escaped = md_escape("<script>alert(1)</script> | [x](javascript:y) *b* _i_ `c` \\ & ~s~ # !")
    assert "<" not in escaped and ">" not in escaped
    assert "&lt;script&gt;" in escaped and "&amp;" in escaped
    assert "|" not in escaped.replace("\\|", "")
    for char in "[]*_`~#!":
        assert char not in escaped.replace("\\" + char, ""), char
    assert md_escape("line1\nline2") == "line1 line2"


def test_md_code_only_for_plain_identifiers() -> None:
    assert md_code("tls.protocol.deprecated") == "`tls.protocol.deprecated`"
    assert md_code("a`b|c") == "a\\`b\\|c"
    assert md_code("") == ""


@pytest.mark.parametrize("raw", ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@evil", "\tTAB", "\r=x", "  =1+1"])
def test_csv_cell_prefixes_formulas(raw: str) -> None:
    cell = csv_cell(raw)
    assert cell.startswith("'")
    assert control_chars(cell) == []


@pytest.mark.parametrize("raw", ["api.example.com", "TLSv1.0 is enabled", "443", "'quoted"])
def test_csv_cell_leaves_harmless_text(raw: str) -> None:
    assert csv_cell(raw) == raw


def test_json_safe_makes_encodable_json() -> None:
    value = {
        "s": "x\ud83d y",
        1: [math.nan, math.inf, 1.5],
        "set": {"b", "a"},
        "bytes": b"\xff\xfeok",
        "tuple": ("\udcff",),
        "k\udc80": None,
    }
    safe = json_safe(value)
    text = json.dumps(safe, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # strict: raises on any lone surrogate left
    assert safe["s"] == "x\ufffd y"
    assert safe["1"] == [None, None, 1.5]
    assert safe["set"] == ["a", "b"]
    assert safe["bytes"].endswith("ok")
    assert "k\ufffd" in safe


def test_replace_surrogates_keeps_valid_text() -> None:
    assert replace_surrogates("ok 🙂") == "ok 🙂"
    assert replace_surrogates("\udc80\udcff") == "\ufffd\ufffd"
