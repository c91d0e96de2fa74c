"""The SQLite store against real database files."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from probe.errors import StoreError
from probe.models import DiscoveryError, Severity, Waiver
from probe.store import MIGRATIONS, SCHEMA_VERSION, Store
from tests.store.factory import errored, finding, ok


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "history.db"
    waiver = Waiver(rule="cert.key.weak", endpoint="api.*", reason="legacy HSM", expires=date(2030, 1, 1))
    weak = finding("cert.key.weak", Severity.MEDIUM, "2048-bit RSA", waived=True, certificate=0, key_bits=2048)
    weak = weak.model_copy(update={"waiver": waiver})
    first = ok("api.example.test", findings=(finding("tls.protocol.deprecated", version="TLSv1.0"), weak))
    second = errored("down.example.test")
    with Store.open(db, lock_timeout=1) as store:
        sweep = store.begin_sweep("nightly", "op-pol-001", targets_total=2)
        store.record(sweep, first)
        store.record(sweep, second)
        store.record_discovery_errors(sweep, [DiscoveryError(provider="aws", service="elbv2", error="AccessDenied")])
        store.finish_sweep(sweep, "done", summary={"endpoints": 2})
    assert db.exists()
    with Store.open(db, lock_timeout=1) as store:
        assert list(store.results(sweep)) == [first, second]
        assert store.done_keys(sweep) == {first.observation.target.key, second.observation.target.key}
        record = store.sweep(sweep)
        assert (record.state, record.label, record.profile, record.endpoints, record.errors) == (
            "done", "nightly", "op-pol-001", 2, 1)
        assert record.finished_at is not None and record.summary == {"endpoints": 2}
        assert store.discovery_errors(sweep)[0].error == "AccessDenied"
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_record_is_committed_at_once(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    writer = Store.open(db, lock_timeout=1)
    sweep = writer.begin_sweep("l", "op-pol-001")
    writer.record(sweep, ok("a.test"))
    # Another connection (as after a crash) sees the endpoint although the sweep never finished.
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT key, status FROM endpoints").fetchall() == [("a.test:443", "ok")]
    assert conn.execute("SELECT state FROM sweeps").fetchall() == [("running",)]
    conn.close()
    writer.close()


def test_recording_an_endpoint_again_replaces_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db", lock_timeout=1) as store:
        sweep = store.begin_sweep("l", "p")
        store.record(sweep, errored("a.test"))
        store.record(sweep, ok("a.test", findings=(finding("cert.expired"),)))
        results = list(store.results(sweep))
        assert len(results) == 1 and results[0].observation.status == "ok"
        assert store._conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 1


def test_previous_done_and_resume(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db", lock_timeout=1) as store:
        a = store.begin_sweep("nightly", "p")
        store.finish_sweep(a, "done")
        other = store.begin_sweep("weekly", "p")
        store.finish_sweep(other, "done")
        b = store.begin_sweep("nightly", "p")
        store.finish_sweep(b, "interrupted")
        c = store.begin_sweep("nightly", "p")
        assert store.previous_done("nightly", c) == a
        assert store.previous_done("nightly", a) is None
        assert [s.id for s in store.sweeps("nightly")] == [a, b, c]
        assert store.resume_sweep(b).state == "running"
        assert store.sweep(b).state == "running"
        with pytest.raises(StoreError, match="no sweep 999"):
            store.sweep(999)


def test_error_streaks_count_consecutive_errored_sweeps(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db", lock_timeout=1) as store:
        ids = []
        for down in ([], ["x.test"], ["x.test", "y.test"], ["x.test", "y.test"]):
            sweep = store.begin_sweep("n", "p")
            for host in ("x.test", "y.test"):
                store.record(sweep, errored(host) if host in down else ok(host))
            store.finish_sweep(sweep, "done")
            ids.append(sweep)
        assert store.error_streaks("n", ids[-1] + 1, depth=5) == {"x.test:443": 3, "y.test:443": 2}
        assert store.error_streaks("n", ids[-1] + 1, depth=1) == {"x.test:443": 1, "y.test:443": 1}
        assert store.error_streaks("n", ids[1], depth=5) == {}


def test_prune_keep_and_older_than(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db", lock_timeout=1) as store:
        ids = [store.begin_sweep("n", "p") for _ in range(5)]
        for sweep in ids:
            store.record(sweep, ok("a.test", findings=(finding("cert.expired"),)))
        store._conn.execute("UPDATE sweeps SET started_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (ids[0],))
        assert store.prune(keep=None, older_than=date.today() - timedelta(days=1)) == 1
        assert store.prune(keep=2, older_than=None) == 2
        assert [s.id for s in store.sweeps()] == ids[3:]
        # Cascades: nothing of the pruned sweeps is left.
        assert store._conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 2
        assert store._conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 2
        with pytest.raises(StoreError):
            store.prune(keep=None, older_than=None)


def test_corrupt_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not sqlite at all" * 200)
    with pytest.raises(StoreError) as caught:
        Store.open(db, lock_timeout=1)
    assert "not a usable tlsprobe database" in str(caught.value) and "\n" not in str(caught.value)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    Store.open(db, lock_timeout=1).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer tlsprobe"):
        Store.open(db, lock_timeout=1)


def test_migrations_are_recorded(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db", lock_timeout=1) as store:
        assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)


def test_second_writer_waits_then_fails(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    first = Store.open(db, lock_timeout=1)
    first.begin_sweep("n", "p")
    second = Store.open(db, lock_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        second.begin_sweep("n", "p")
    assert time.monotonic() - started >= 0.25
    assert str(caught.value).startswith("database is busy: another tlsprobe run holds")
    assert "waited 0.3 s" in str(caught.value)
    # Readers are never blocked by the writer.
    assert len(second.sweeps()) == 1
    first.close()
    # Once the first run is done, the second can write.
    assert second.begin_sweep("n", "p") == 2
    second.close()


def test_second_writer_proceeds_when_the_first_finishes_in_time(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    first = Store.open(db, lock_timeout=1)
    first.begin_sweep("n", "p")
    timer = threading.Timer(0.3, first.close)
    timer.start()
    try:
        with Store.open(db, lock_timeout=10) as second:
            assert second.begin_sweep("n", "p") == 2
    finally:
        timer.join()


def test_full_disk_is_a_store_error_and_the_database_stays_readable(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = Store.open(db, lock_timeout=1)
    sweep = store.begin_sweep("n", "p")
    store.record(sweep, ok("kept.test"))
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    big = ok("big.test", findings=tuple(finding("cert.expired", message="x" * 5000 + str(i)) for i in range(20)))
    with pytest.raises(StoreError) as caught:
        store.record(sweep, big)
    assert "database or disk is full" in str(caught.value)
    store.close()
    with Store.open(db, lock_timeout=1) as reader:
        assert [r.observation.target.host for r in reader.results(sweep)] == ["kept.test"]


def test_the_default_history_lives_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from probe.store import default_db

    monkeypatch.delenv("TLSPROBE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.platform", "linux")
    assert default_db() == tmp_path / "xdg" / "tlsprobe" / "history.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db() == tmp_path / "home" / ".local" / "share" / "tlsprobe" / "history.db"
    monkeypatch.setenv("TLSPROBE_DB", str(tmp_path / "job.db"))  # scheduled jobs without a home
    assert default_db() == tmp_path / "job.db"
