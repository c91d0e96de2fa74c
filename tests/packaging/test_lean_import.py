"""`import probe` and `tlsprobe --help` load none of the optional extras' modules (the core install has
none of them, and loading them would cost every scan their import time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What the lab, bench and parquet extras bring; none may be imported by `import probe` or by a --help.
EXTRA_MODULES = ("moto", "matplotlib", "scipy", "pandas", "pyarrow", "aws_encryption_sdk", "trustme", "numpy", "flask",
                 "azure", "google",
                 "dask", "distributed")

_REPORT = (
    "\nimport json, sys\n"
    f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({EXTRA_MODULES!r}))\n"
    'print("LOADED=" + json.dumps(loaded), file=sys.stderr)\n'
)


def _loaded(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code + _REPORT], capture_output=True, text=True, timeout=120,
                          check=False)
    lines = [line for line in done.stderr.splitlines() if line.startswith("LOADED=")]
    assert lines, done.stderr[-3000:]
    loaded: list[str] = json.loads(lines[-1].removeprefix("LOADED="))
    return loaded


def test_import_probe_loads_no_extra() -> None:
    assert _loaded("import probe\nassert probe.__all__") == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["scan", "--help"], ["report", "--help"], ["lab", "--help"], ["lab", "up", "--help"],
     ["bench", "--help"], ["bench", "tls", "--help"], ["bench", "kms", "--help"]],
    ids=" ".join,
)
def test_help_loads_no_extra(argv: list[str]) -> None:
    code = f"""
import runpy, sys
sys.argv = ["tlsprobe", *{argv!r}]
try:
    runpy.run_module("probe", run_name="__main__", alter_sys=True)  # python -m probe ARGV
except SystemExit as stop:
    assert stop.code in (0, None), stop.code
"""
    assert _loaded(code) == []
