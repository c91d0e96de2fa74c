"""Nothing lost: SIGTERM mid-sweep, a full disk during a write and a corrupt database each end in a clear message
and a recoverable state: resume finishes, every target once, finished endpoints not rescanned, history intact.
(The basic SIGKILL/resume case lives in tests/store_e2e.)"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from probe.lab.hostile import HostileLab
from tests.hostile.conftest import REPO_ROOT, no_traceback, run_cli

QUICK = ("accept-close", "ssh-banner", "garbage", "fatal-alert", "reset-after-hello")


def targets_file(lab: HostileLab, path: Path, names: tuple[str, ...]) -> list[str]:
    specs = [f"{lab.endpoint(n).address}:{lab.endpoint(n).port}" for n in names]
    path.write_text("\n".join(specs) + "\n", encoding="utf-8")
    return specs


def stored(db: Path, sweep: int | None = None) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        sql = "SELECT id, key, recorded_at FROM endpoints" + (" WHERE sweep_id = ?" if sweep else "") + " ORDER BY id"
        return list(conn.execute(sql, (sweep,) if sweep else ()))


def stored_so_far(db: Path) -> int:
    """Endpoints stored yet by a run in progress (0 while the file or its tables are still being created)."""
    try:
        return len(stored(db)) if db.exists() else 0
    except sqlite3.OperationalError:
        return 0


def sweeps(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT id, state FROM sweeps ORDER BY id"))


def cli(*args: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
    def cap() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "probe", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO_ROOT, preexec_fn=cap)


@pytest.mark.timeout(120)
def test_sigterm_mid_sweep_says_how_to_resume_and_resume_finishes(hostile_lab: HostileLab, tmp_path: Path) -> None:
    db, listing = tmp_path / "h.db", tmp_path / "t.txt"
    specs = targets_file(hostile_lab, listing, (*QUICK, "tarpit", "slow-drip"))
    proc = cli("scan", "-t", str(listing), "--db", str(db), "--concurrency", "1", "--deadline", "60",
               "--timeout", "30", "--format", "json")
    until = time.monotonic() + 60
    while time.monotonic() < until and stored_so_far(db) < len(QUICK):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    no_traceback(out, err)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM" in err and "interrupted" in err and "--resume 1" in err, err
    assert sweeps(db) == [(1, "interrupted")]
    before = stored(db)
    assert len(before) == len(QUICK)

    run = run_cli("scan", "-t", str(listing), "--db", str(db), "--concurrency", "2", "--deadline", "2",
                  "--timeout", "1", "--resume", "1", "--format", "json")
    no_traceback(run.stdout, run.stderr)
    assert run.code == 0, run.stderr
    after = stored(db)
    assert sweeps(db) == [(1, "done")]
    assert after[: len(before)] == before, "finished endpoints were not rescanned (same rows, same times)"
    keys = [key for _, key, _ in after]
    assert sorted(keys) == sorted(specs) and len(set(keys)) == len(specs), "every target exactly once"


@pytest.mark.timeout(120)
def test_full_disk_during_a_write_is_a_clear_error_and_resumable(hostile_lab: HostileLab, tmp_path: Path) -> None:
    db, listing = tmp_path / "h.db", tmp_path / "t.txt"
    specs = targets_file(hostile_lab, listing, QUICK)
    first = run_cli("scan", "-t", str(listing), "--db", str(db), "--format", "json", "--deadline", "5")
    assert first.code == 0, first.stderr
    history = stored(db)
    # RLIMIT_FSIZE caps every file the run writes. Writes go to the write-ahead log first, which starts empty
    # and takes a whole page (4 KiB) per changed page per commit: 12 pages are room for the sweep row and an
    # endpoint or two, not for all of them (the store's own size, with its shared-memory file, was too much).
    proc = cli("scan", "-t", str(listing), "--db", str(db), "--concurrency", "1", "--deadline", "5",
               "--format", "json", limit_bytes=12 * 4096)
    out, err = proc.communicate(timeout=60)
    no_traceback(out, err)
    assert proc.returncode == 2, (proc.returncode, err)
    assert "tlsprobe: error:" in err and ("full" in err or "large" in err or "disk" in err), err
    assert len(err.strip().splitlines()) == 1, err
    assert stored(db, 1) == history, "the earlier sweep is intact"
    [(second, state)] = [s for s in sweeps(db) if s[0] != 1]
    assert state in ("running", "interrupted")
    partial = stored(db, second)
    assert len(partial) < len(specs)

    run = run_cli("scan", "-t", str(listing), "--db", str(db), "--resume", str(second), "--format", "json",
                  "--deadline", "5")
    no_traceback(run.stdout, run.stderr)
    assert run.code == 0, run.stderr
    done = stored(db, second)
    assert done[: len(partial)] == partial
    assert sorted(k for _, k, _ in done) == sorted(specs), "every target exactly once after resume"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed-pages"])
@pytest.mark.timeout(120)
def test_corrupt_database_is_a_clear_error_and_left_untouched(
    hostile_lab: HostileLab, tmp_path: Path, damage: str
) -> None:
    db, listing = tmp_path / "h.db", tmp_path / "t.txt"
    targets_file(hostile_lab, listing, QUICK[:2])
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        first = run_cli("scan", "-t", str(listing), "--db", str(db), "--format", "json", "--deadline", "5")
        assert first.code == 0, first.stderr
        raw = bytearray(db.read_bytes())
        assert len(raw) > 8192
        if damage == "truncated":
            raw = raw[: len(raw) // 2 + 100]
        else:
            raw[4096:] = b"\x00" * (len(raw) - 4096)
        db.write_bytes(bytes(raw))
        for side in tmp_path.glob("h.db-*"):
            side.unlink()
    damaged = db.read_bytes()
    for args in (["scan", "-t", str(listing), "--deadline", "5", "--format", "json"], ["report", "--format", "json"]):
        run = run_cli(*args, "--db", str(db))
        no_traceback(run.stdout, run.stderr)
        assert run.code == 2, (args[0], run.code, run.stderr)
        assert "tlsprobe: error:" in run.stderr and str(db) in run.stderr, run.stderr
        assert db.read_bytes() == damaged, "the damaged history is kept as it was for recovery"
