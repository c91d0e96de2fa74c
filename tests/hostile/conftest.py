"""The hostile lab, started once for the hostile tests (and always stopped)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from probe.lab.hostile import HostileLab, running_hostile_lab

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileLab]:
    with running_hostile_lab(tmp_path_factory.mktemp("hostile-lab")) as lab:
        yield lab


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    elapsed: float


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None) -> Run:
    """`python -m probe ARGS` as a user runs it; never hangs the test run (killed at `timeout`)."""
    import time

    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=cwd or REPO_ROOT, check=False)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text[-2000:]
