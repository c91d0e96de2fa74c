"""Scope safety: CIDR ranges only with --allow-cidr and within --max-targets, expanded streaming."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from probe.cli.main import app
from probe.errors import InputErrors
from probe.targets import TargetSpec


def test_cidr_in_a_file_is_refused_without_allow_cidr(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("127.0.50.0/30:8443\n", encoding="utf-8")
    with pytest.raises(InputErrors, match="--allow-cidr"):
        TargetSpec(files=(path,)).validate()
    result = CliRunner().invoke(app, ["scan", "-t", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "--allow-cidr" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".yaml"])
def test_allowed_cidr_expands_to_its_hosts(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    body = {".txt": "127.0.50.0/29:8443\n", ".csv": "host,port\n127.0.50.0/29,8443\n",
            ".yaml": "- 127.0.50.0/29:8443\n"}[suffix]
    path.write_text(body, encoding="utf-8")
    spec = TargetSpec(files=(path,), allow_cidr=True, max_targets=8)
    assert spec.validate() == 6
    hosts = [(t.host, t.port) for t in spec.targets()]
    assert hosts == [(f"127.0.50.{i}", 8443) for i in range(1, 7)]


def test_cidr_larger_than_max_targets_is_refused_before_expansion(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("10.0.0.0/8\n", encoding="utf-8")  # 16 M addresses: refused by size, never enumerated
    with pytest.raises(InputErrors, match="more than --max-targets 1000"):
        TargetSpec(files=(path,), allow_cidr=True, max_targets=1000).validate()
    result = CliRunner().invoke(app, ["scan", "-t", str(path), "--allow-cidr", "--max-targets", "1000",
                                      "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "max-targets" in result.output


def test_max_targets_caps_the_whole_run(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("".join(f"127.0.51.{i}:443\n" for i in range(1, 21)), encoding="utf-8")
    with pytest.raises(InputErrors, match="more than --max-targets 10"):
        TargetSpec(files=(path,), max_targets=10).validate()
    assert TargetSpec(files=(path,), max_targets=20).validate() == 20


def test_cidr_expansion_is_streaming() -> None:
    spec = TargetSpec(args=("10.0.0.0/12:443",), allow_cidr=True, max_targets=1 << 20)
    first = list(itertools.islice(spec.targets(), 3))  # a million addresses: the first come at once
    assert [t.host for t in first] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_cidr_argument_on_the_command_line_needs_allow_cidr(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "127.0.50.0/30", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "--allow-cidr" in result.output
