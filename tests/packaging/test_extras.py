"""A command whose pip extra is missing exits 2 with one line naming what to install.

The subprocess tests run `python -m probe ...` with a finder at the front of `sys.meta_path` that refuses
the extra's modules, as an install without the extra would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from probe.errors import InputError
from probe.extras import EXTRAS, MissingExtra, missing, require
from probe.report.outputs import OutputFormat, check_available
from probe.report.tabular import render_csv, render_parquet
from tests.report.factories import mixed_results

_WITHOUT = """
import runpy, sys

class _Without:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Without())
sys.argv = ["tlsprobe", *ARGS]
runpy.run_module("probe", run_name="__main__", alter_sys=True)
"""


def run_without(blocked: tuple[str, ...], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = f"BLOCKED = {blocked!r}\nARGS = {list(args)!r}\n{_WITHOUT}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          cwd=cwd)


def test_require_names_the_extra_and_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    require("lab")  # the dev environment has every extra
    monkeypatch.setitem(sys.modules, "trustme", None)  # import trustme now fails
    assert missing("lab") == ("trustme",)
    with pytest.raises(MissingExtra) as caught:
        require("lab")
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2
    assert str(caught.value) == (
        "'tlsprobe lab' needs the lab extra (trustme not installed): pip install 'tlsprobe[lab]'"
    )
    assert {"lab", "bench", "parquet", "azure", "gcp", "dask"} <= set(EXTRAS)


def test_lab_up_without_the_lab_extra_exits_2_with_the_pip_line(tmp_path: Path) -> None:
    done = run_without(("moto", "trustme"), "lab", "up", "--state-dir", str(tmp_path / "lab"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "tlsprobe: error: 'tlsprobe lab' needs the lab extra (moto, trustme not installed): "
        "pip install 'tlsprobe[lab]'"
    )
    assert not (tmp_path / "lab").exists()  # refused before starting anything


def test_bench_without_the_bench_extra_exits_2_but_its_help_works(tmp_path: Path) -> None:
    done = run_without(("matplotlib", "scipy"), "bench", "tls", "--output-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "tlsprobe: error: 'tlsprobe bench' needs the bench extra (matplotlib, scipy not installed): "
        "pip install 'tlsprobe[bench]'"
    )
    assert not list(tmp_path.iterdir())
    helped = run_without(("matplotlib", "scipy"), "bench", "tls", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--rtt" in helped.stdout


def test_lab_status_and_down_need_no_extra(tmp_path: Path) -> None:
    done = run_without(("moto", "trustme"), "lab", "status", "--state-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert done.returncode == 2 and "no lab state" in done.stderr and "extra" not in done.stderr


def test_parquet_without_the_parquet_extra_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    results = mixed_results()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtra, match=r"^Parquet output needs the parquet extra \(pyarrow not installed\): "
                                           r"pip install 'tlsprobe\[parquet\]'$"):
        render_parquet(results)
    with pytest.raises(MissingExtra):
        check_available(OutputFormat.PARQUET)
    check_available(OutputFormat.CSV)
    assert render_csv(results).startswith("endpoint,host,port,")  # CSV needs no extra


def test_csv_output_needs_no_pandas(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['pandas'] = None\n"
        "from datetime import UTC, datetime\n"
        "from probe.report.outputs import OutputFormat, ReportContext, render_output\n"
        "from tests.report.factories import POLICY, mixed_results\n"
        "now = datetime.now(UTC)\n"
        "text = render_output(OutputFormat.CSV, mixed_results(), ReportContext(POLICY, now, now))\n"
        "print(text.splitlines()[0])\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("endpoint,host,port,ip,status,")
