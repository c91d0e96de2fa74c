"""Strict-Transport-Security read as RFC 6797 (section 6.1 and 8.1) says a browser reads it. Pure.

- Only the first STS header field of a response counts (8.1).
- `directive *( ";" [ directive ] )`, `directive = name [ "=" value ]`, value a token or a quoted-string; names
  in any case; unknown directives are ignored; empty directives (`;;`) are allowed.
- A header that does not follow the grammar, repeats a directive or has no valid `max-age` is ignored by
  browsers: it is reported with `max_age=None`.
- `max-age` is delta-seconds (digits only, quoted or not); a number too large to hold is taken as 2^31, as
  HTTP caching says of delta-seconds (RFC 9111 1.2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from probe.models import HstsHeader

__all__ = ["MAX_DELTA_SECONDS", "RAW_LIMIT", "ParsedHsts", "first_hsts", "parse_hsts"]

MAX_DELTA_SECONDS = 2**31
RAW_LIMIT = 1000  # characters of the header kept in reports
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_WHITESPACE = " \t"


@dataclass(frozen=True)
class ParsedHsts:
    """The header as reported, and why browsers ignore it (None when they do not)."""

    header: HstsHeader
    problem: str | None


class _Invalid(ValueError):
    pass


def _token(text: str, at: int) -> tuple[str, int]:
    end = at
    while end < len(text) and text[end] not in _SEPARATORS and 32 < ord(text[end]) < 127:
        end += 1
    if end == at:
        shown = repr(text[at]) if at < len(text) else "end of header"
        raise _Invalid(f"expected a token at {shown}")
    return text[at:end], end


def _quoted(text: str, at: int) -> tuple[str, int]:
    """A quoted-string starting at `text[at] == '"'`: its content (quoted-pairs unescaped) and the index after it."""
    out: list[str] = []
    index = at + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(out), index + 1
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if (ord(char) < 32 and char != "\t") or ord(char) == 127:
            raise _Invalid("control character in a quoted value")
        out.append(char)
        index += 1
    raise _Invalid("unterminated quoted value")


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def _directives(text: str) -> dict[str, str | None]:
    """Directive name (lower case) -> value (None: valueless); _Invalid when the grammar or uniqueness breaks."""
    found: dict[str, str | None] = {}
    index = _skip_space(text, 0)
    while index < len(text):
        if text[index] == ";":  # an empty directive
            index = _skip_space(text, index + 1)
            continue
        name, index = _token(text, index)
        index = _skip_space(text, index)
        value: str | None = None
        if index < len(text) and text[index] == "=":
            index = _skip_space(text, index + 1)
            if index < len(text) and text[index] == '"':
                value, index = _quoted(text, index)
            else:
                value, index = _token(text, index)
            index = _skip_space(text, index)
        key = name.lower()
        if key in found:
            raise _Invalid(f"directive {name!r} appears more than once")
        found[key] = value
        if index < len(text):
            if text[index] != ";":
                raise _Invalid(f"expected ';' at {text[index]!r}")
            index = _skip_space(text, index + 1)
    return found


def _max_age(value: str | None) -> int:
    if value is None:
        raise _Invalid("max-age has no value")
    if not value or not value.isascii() or not value.isdigit():
        raise _Invalid(f"max-age {value[:40]!r} is not a number of seconds")
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(MAX_DELTA_SECONDS)):
        return MAX_DELTA_SECONDS  # (also spares int() a string of thousands of digits)
    return min(int(digits), MAX_DELTA_SECONDS)


def parse_hsts(value: str) -> ParsedHsts:
    """One Strict-Transport-Security header value, as browsers read it."""
    raw = value[:RAW_LIMIT]
    try:
        directives = _directives(value)
    except _Invalid as exc:
        # not the grammar: browsers ignore the whole header; still say which directives it names
        names = {part.split("=", 1)[0].strip().lower() for part in value.split(";")}
        header = HstsHeader(raw=raw, max_age=None, include_subdomains="includesubdomains" in names,
                            preload="preload" in names)
        return ParsedHsts(header, str(exc))
    include_subdomains = "includesubdomains" in directives
    preload = "preload" in directives
    if "max-age" not in directives:
        return ParsedHsts(HstsHeader(raw=raw, include_subdomains=include_subdomains, preload=preload),
                          "no max-age directive")
    try:
        max_age = _max_age(directives["max-age"])
    except _Invalid as exc:
        return ParsedHsts(HstsHeader(raw=raw, include_subdomains=include_subdomains, preload=preload), str(exc))
    return ParsedHsts(HstsHeader(raw=raw, max_age=max_age, include_subdomains=include_subdomains, preload=preload),
                      None)


def first_hsts(values: Sequence[str]) -> ParsedHsts | None:
    """The Strict-Transport-Security header fields of one response, in order: the first counts (RFC 6797 8.1)."""
    return parse_hsts(values[0]) if values else None
