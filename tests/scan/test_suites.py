"""The stored suite table is sslyze's catalogue: the fast engine enumerates what sslyze's per-suite test covers."""

from __future__ import annotations

import subprocess
import sys

from probe.scan import suites
from probe.scan.sslyze_adapter import openssl_to_iana_names, suite_catalogue, uses_legacy_client

REWRITE = "stale table: run `python -m probe.scan.suites` after upgrading sslyze"


def test_catalogue_matches_installed_sslyze() -> None:
    """Same suites per version; each under sslyze's OpenSSL name, or an alias of it (sslyze picks one of two
    names for TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA at random per process), with the client sslyze uses for it."""
    live, stored, names = suite_catalogue(), suites.catalogue(), openssl_to_iana_names()
    assert {v: [s.iana for s in e] for v, e in stored.items()} == {v: [s.iana for s in e] for v, e in live.items()}, (
        REWRITE
    )
    aliases = 0
    for version, entries in stored.items():
        for mine, theirs in zip(entries, live[version], strict=True):
            if mine != theirs:
                aliases += 1
                assert names[version][mine.openssl] == names[version][theirs.openssl] == mine.iana, REWRITE
                assert mine.legacy == uses_legacy_client(version, mine.openssl), REWRITE
    assert aliases <= 1


def test_names_match_installed_sslyze() -> None:
    live = openssl_to_iana_names()
    assert set(live) == {"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2"}
    for version, names in live.items():
        for openssl, iana in names.items():
            assert suites.iana_suite_name(version, openssl) == iana, REWRITE
    assert suites.iana_suite_name("TLSv1.2", "NO-SUCH-SUITE") is None
    assert suites.iana_suite_name("TLSv1.3", "TLS_AES_128_GCM_SHA256") == "TLS_AES_128_GCM_SHA256"


def test_fast_engine_starts_without_sslyze() -> None:
    """The CLI and the elimination read the stored table; sslyze is loaded beside them, not before them."""
    code = (
        "import sys, probe.cli.main, probe.scan.fast; from probe.scan.fast import enumerate as e; "
        "e.initial_chains('TLSv1.2'); print('sslyze' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
