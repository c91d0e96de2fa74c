"""A sweep killed part-way keeps what it finished; --resume scans only what is missing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe.lab.manager import LabState, running_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    with running_lab(tmp_path_factory.mktemp("lab")) as state:
        yield state


def scan_command(lab: LabState, db: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "probe", "scan", "--targets", str(lab.targets_csv), "--ca-file", str(lab.ca_file),
        "--db", str(db), "--concurrency", "1", "--deadline", "15", "--timeout", "2", "--format", "json", *extra,
    ]  # fmt: skip


def stored(db: Path) -> dict[str, str]:
    """Endpoint key -> stored observation JSON (read while the writer runs: WAL readers do not block)."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return dict(conn.execute("SELECT e.key, o.observation_json FROM endpoints e JOIN observations o"
                                     " ON o.endpoint_id = e.id"))  # fmt: skip
    except sqlite3.Error:
        return {}


def run_until(lab: LabState, db: Path, at_least: int, sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(scan_command(lab, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(stored(db)) < at_least and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is None, "the sweep finished before it could be interrupted"
    os.kill(process.pid, sig)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_sigkill_then_resume_scans_only_what_is_missing(lab: LabState, tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    killed = run_until(lab, db, 3, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    before = stored(db)
    assert len(before) >= 3
    with sqlite3.connect(db) as conn:
        [(sweep_id, state)] = conn.execute("SELECT id, state FROM sweeps").fetchall()
    assert state == "running"  # killed without a chance to say so; resume takes it from here

    resumed = subprocess.run(scan_command(lab, db, "--resume", str(sweep_id)), capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming sweep {sweep_id}: {len(before)} endpoints already done" in resumed.stderr
    after = stored(db)
    hosts = [key.split(":")[0] for key in after]
    assert sorted(hosts) == sorted(e.host for e in lab.endpoints), "every target exactly once"
    for key, observation in before.items():
        assert after[key] == observation, f"{key} was scanned again"
    report = json.loads(resumed.stdout)
    assert report["summary"]["endpoints"] == len(lab.endpoints)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state FROM sweeps").fetchall() == [("done",)]


def test_sigterm_marks_the_sweep_interrupted_and_says_how_to_resume(lab: LabState, tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    stopped = run_until(lab, db, 2, signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stopped.stderr
    assert "interrupted" in stopped.stderr and "--resume" in stopped.stderr
    with sqlite3.connect(db) as conn:
        [(sweep_id, state)] = conn.execute("SELECT id, state FROM sweeps").fetchall()
    assert state == "interrupted"
    assert f"--resume {sweep_id}" in stopped.stderr
