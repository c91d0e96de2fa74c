"""`tlsprobe lab up | status | down` through typer's runner, on real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from probe.cli.lab import app
from probe.lab.manager import _alive, lab_status, load_state, stop_lab
from probe.lab.paths import DEFAULT_DEFINITION

runner = CliRunner()


def test_up_status_down(tmp_path: Path) -> None:
    state_dir = tmp_path / "lab"
    try:
        result = runner.invoke(app, ["up", "--state-dir", str(state_dir), "--only", "compliant,tarpit"])
        assert result.exit_code == 0, result.output
        state = load_state(state_dir)
        assert [e.name for e in state.endpoints] == ["compliant", "tarpit"]
        for endpoint in state.endpoints:
            assert f"{endpoint.address}:{endpoint.port}" in result.output

        again = runner.invoke(app, ["up", "--state-dir", str(state_dir)])
        assert again.exit_code == 2 and "already running" in again.output

        status = runner.invoke(app, ["status", "--state-dir", str(state_dir)])
        assert status.exit_code == 0 and status.output.count("up") >= 2

        down = runner.invoke(app, ["down", "--state-dir", str(state_dir)])
        assert down.exit_code == 0 and "stopped 2" in down.output
        assert all(not _alive(e.pid) for e in state.endpoints)
        assert {s.status for s in lab_status(state_dir)} == {"down"}
        assert "down" in runner.invoke(app, ["status", "--state-dir", str(state_dir)]).output
    finally:
        if (state_dir / "state.json").exists():
            stop_lab(state_dir)


def test_bad_input_exits_2(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["up", "--state-dir", str(tmp_path), "--only", "nope"])
    assert unknown.exit_code == 2 and "unknown lab endpoint" in unknown.output
    nothing = runner.invoke(app, ["status", "--state-dir", str(tmp_path / "none")])
    assert nothing.exit_code == 2 and "no lab state" in nothing.output


@pytest.mark.live
def test_up_status_down_from_another_directory(tmp_path: Path) -> None:
    """As a user of an installed tlsprobe runs it: the shipped definition, the state under ./reports/lab."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "probe", "lab", *args], capture_output=True, text=True,
                              cwd=elsewhere, timeout=120, check=False)

    state_dir = elsewhere / "reports" / "lab"
    try:
        up = cli("up", "--only", "compliant")
        assert up.returncode == 0, up.stderr
        state = load_state(state_dir)
        assert state.definition == str(DEFAULT_DEFINITION) and [e.name for e in state.endpoints] == ["compliant"]
        status = cli("status")
        assert status.returncode == 0 and "up" in status.stdout, status.stderr
        down = cli("down")
        assert down.returncode == 0 and "stopped 1" in down.stdout, down.stderr
    finally:
        if (state_dir / "state.json").exists():
            stop_lab(state_dir)
