"""Escaping for attacker-controlled text (certificate subjects, SANs, error messages) in every output.

- `clean_text`: for terminals and anything line-oriented. Removes ANSI/VT escape sequences, C0 and C1
  controls, bidi overrides and other invisible format characters; line breaks and tabs become spaces;
  lone surrogates become U+FFFD. The result is one printable line.
- `md_escape`: `clean_text`, then Markdown punctuation and HTML-ish characters are made inert.
- `csv_cell`: `clean_text`, then a cell a spreadsheet would read as a formula gets a leading quote.
- `json_safe`: a JSON-ready copy of a value: lone surrogates replaced, non-finite floats as null.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

# ESC-introduced sequences: CSI, OSC/DCS/SOS/PM/APC strings (only when terminated), two-character escapes;
# and the 8-bit CSI (U+009B). Unterminated strings fall through to the two-character rule.
_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                    # CSI ... final byte
    | \x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)   # OSC, DCS, SOS, PM, APC ... terminator
    | \x1b[ -/]*[0-~]                            # nF / Fp / Fe / Fs escapes (ESC + final byte)
    | \x9b[0-?]*[ -/]*[@-~]                      # 8-bit CSI
    """,
    re.VERBOSE,
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Controls and separators that break a line or a cell: shown as one space.
_BREAKING = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = frozenset("\\`*_[]|~#!")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def replace_surrogates(text: str) -> str:
    """Replace lone surrogates (unencodable in UTF-8) with U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def clean_text(text: str) -> str:
    """One printable line: no escape sequences, controls, bidi overrides or line breaks."""
    if text.isprintable():
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    out: list[str] = []
    for char in text:
        if char in _BREAKING:
            out.append(" ")
            continue
        category = unicodedata.category(char)
        if category == "Cs":
            out.append("\ufffd")
        elif category in ("Zl", "Zp"):
            out.append(" ")
        elif category not in ("Cc", "Cf"):
            out.append(char)
    return "".join(out)


def md_escape(text: str) -> str:
    """Text safe inside a Markdown paragraph, list item, heading or table cell (GFM)."""
    out: list[str] = []
    for char in clean_text(text):
        if char in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[char])
        elif char in _MD_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def md_code(text: str) -> str:
    """An identifier as inline code when that is safe, else escaped plain text."""
    if text and re.fullmatch(r"[A-Za-z0-9._:/-]+", text):
        return f"`{text}`"
    return md_escape(text)


def csv_cell(text: str) -> str:
    """A CSV cell no spreadsheet evaluates: cleaned, and quote-prefixed when it starts like a formula."""
    cleaned = clean_text(text)
    if any(candidate.startswith(FORMULA_TRIGGERS) for candidate in (text, cleaned, cleaned.lstrip())):
        return "'" + cleaned
    return cleaned


def json_safe(value: Any) -> Any:
    """A copy of `value` that `json.dumps(..., allow_nan=False)` accepts and that encodes as UTF-8."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {replace_surrogates(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [json_safe(v) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return replace_surrogates(str(value))
