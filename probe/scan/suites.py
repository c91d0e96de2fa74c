"""sslyze's cipher suite catalogue, stored: the suites its per-suite test covers and its OpenSSL-to-IANA names.

The fast engine enumerates from this table, so it starts before sslyze is imported (about a third of a
second). `tests/scan/test_suites.py` checks the table against the installed sslyze;
`python -m probe.scan.suites` rewrites it after an upgrade. sslyze picks one of two OpenSSL names for
TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA at random per process; the table keeps EDH-DSS-DES-CBC3-SHA, which nassl's
legacy client can offer (the modern one has no 3DES), so put it back if a rewrite flips it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("suites.json")


@dataclass(frozen=True)
class CatalogueSuite:
    """A cipher suite sslyze tests for one version: its IANA name, OpenSSL name and the nassl client it needs."""

    iana: str
    openssl: str
    legacy: bool  # True: nassl's legacy OpenSSL client (as sslyze's per-suite test); False: the modern one


@cache
def _table() -> dict[str, Any]:
    """{"suites": {version: [[iana, openssl, legacy], ...]}, "names": {version: {openssl: iana}}}"""
    table: dict[str, Any] = json.loads(TABLE.read_text())
    return table


@cache
def catalogue() -> dict[str, tuple[CatalogueSuite, ...]]:
    """Every suite sslyze's per-suite test covers, per version, with the client sslyze uses for it."""
    result: dict[str, tuple[CatalogueSuite, ...]] = {}
    for version, entries in _table()["suites"].items():
        result[version] = tuple(CatalogueSuite(iana, openssl, legacy) for iana, openssl, legacy in entries)
    return result


def iana_suite_name(version: str, openssl_name: str) -> str | None:
    """The IANA name sslyze reports for an OpenSSL suite name negotiated at `version` (None when unknown)."""
    if openssl_name.startswith("TLS_"):
        return openssl_name
    name: str | None = _table()["names"].get(version, {}).get(openssl_name)
    return name


def _block(items: list[Any] | dict[str, str]) -> str:
    """One suite or name per line, so that diffs of the table stay readable."""
    if isinstance(items, dict):
        return "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items.items()) + "\n}"
    return "[\n" + ",\n".join(json.dumps(row) for row in items) + "\n]"


def main() -> None:
    """Rewrite the table from the installed sslyze."""
    from probe.scan.sslyze_adapter import openssl_to_iana_names, suite_catalogue

    suites = {v: [[s.iana, s.openssl, s.legacy] for s in entries] for v, entries in suite_catalogue().items()}
    table: dict[str, dict[str, Any]] = {"suites": suites, "names": openssl_to_iana_names()}
    parts = []
    for part, versions in table.items():
        inner = ",\n".join(f"{json.dumps(version)}: {_block(items)}" for version, items in versions.items())
        parts.append(f"{json.dumps(part)}: {{\n{inner}\n}}")
    TABLE.write_text("{\n" + ",\n".join(parts) + "\n}\n")


if __name__ == "__main__":
    main()
